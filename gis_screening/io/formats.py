"""The file formats the readers take, by suffix (no reader imported: a warm screening needs none)."""
from __future__ import annotations

VECTOR_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".kml", ".kmz", ".fgb", ".parquet",
                   ".geoparquet", ".gdb", ".tab", ".mif"}
#: sources that hold several layers, one of which is read: it must be named when there are several
MULTI_LAYER_SUFFIXES = {".gpkg", ".gdb"}
#: sources whose layer may be named (a KML's folders are all read unless one is named)
LAYERED_SUFFIXES = MULTI_LAYER_SUFFIXES | {".kml"}

TEXT_SUFFIXES = {".txt"}
#: tables of points (coordinate lists) read as footprints
POINT_TABLE_SUFFIXES = {".csv", ".xlsx", ".xls"}
CAD_SUFFIXES = {".dxf"}
#: archives holding any of the others (:func:`~.vector.zip_choice` picks the file)
ARCHIVE_SUFFIXES = {".zip"}
SUPPORTED_SUFFIXES = VECTOR_SUFFIXES | TEXT_SUFFIXES | POINT_TABLE_SUFFIXES | CAD_SUFFIXES | ARCHIVE_SUFFIXES
#: formats users are sent that no open reader here reads: what to do instead
UNREADABLE = {".dwg": "AutoCAD DWG has no open reader: save the drawing as DXF (CAD: 另存为 → AutoCAD DXF) and give "
                      "that file",
              ".mdb": "an ESRI Personal Geodatabase (Access .mdb) cannot be read here: export it to a File "
                      "Geodatabase, GeoPackage or shapefile (ArcGIS, or ogr2ogr on Windows)",
              ".et": "a WPS spreadsheet (.et) is not read: open it in WPS and save it as .xlsx",
              ".pdf": "a PDF map holds no coordinates to read: ask for the drawing (DXF), the 勘测定界 TXT or the "
                      "coordinate table it was made from"}
