"""Tree ensembles to PFA (being written)."""

from typing import Dict

from .builder import Exporter

EXPORTERS: Dict[type, Exporter] = {}
