"""louyu-research: the building economy (楼宇经济) of a city, from an append-only event log."""

__version__ = "0.1.0"
from .replay import open_log as open_log
