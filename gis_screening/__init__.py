"""gis-screening: 三线一单 and carbon-peaking screening of proposed projects.

The engine (everything here except :mod:`gis_screening.app`) never imports Qt.
"""
__version__ = "0.1.0"
