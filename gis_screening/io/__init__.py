"""Readers and writers for every format reviewers receive.  Entry point: :func:`read_layer`."""
from .pipeline import SUPPORTED_SUFFIXES, read_layer, read_raw  # noqa: F401
