"""Space-time scan statistics: pure functions of arrays, no Django (see engine.py)."""
