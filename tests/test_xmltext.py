"""Text for XML documents (DOCX, XLSX): what becomes of the characters they cannot hold."""
from gis_screening.xmltext import xml_text


def test_characters_xml_cannot_hold_are_shown_and_line_breaks_kept():
    assert xml_text("青山\x01石料\x1f厂") == "青山\ufffd石料\ufffd厂"          # stray control bytes: visibly replaced
    assert xml_text("第一行\x0b第二行\x0c第三行") == "第一行\n第二行\n第三行"    # Word's manual line and page breaks
    assert xml_text("制表\t换行\n回车\r") == "制表\t换行\n回车\r"               # what XML holds stays as it is
    assert xml_text("孤\ud800立\ufffe\uffff") == "孤\ufffd立\ufffd\ufffd"
    assert xml_text("普通文字 ABC") == "普通文字 ABC" and xml_text(12.5) == 12.5 and xml_text(None) is None


def test_a_workbook_cell_holds_at_most_what_excel_opens():
    from gis_screening.xmltext import XLSX_CELL_MAX, xlsx_cell
    assert xlsx_cell("名" * XLSX_CELL_MAX) == "名" * XLSX_CELL_MAX                    # up to the limit: as it is
    cut = xlsx_cell("名" * (XLSX_CELL_MAX + 1))
    assert len(cut) == XLSX_CELL_MAX and cut.endswith("名…")                          # beyond: cut, and says so
    assert xlsx_cell("a\x01b") == "a\ufffdb" and xlsx_cell(3) == 3



def test_text_a_workbook_writer_would_take_for_a_formula():
    from gis_screening.xmltext import formula_like
    assert formula_like("=二期工程") and formula_like('=HYPERLINK("http://x","点")')
    assert not formula_like("二期=三期") and not formula_like(" =1") and not formula_like(3) and not formula_like(None)
