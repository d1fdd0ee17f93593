"""Campus Safety Linkage Platform (校园安全联动平台)."""

__version__ = "0.1.0"
