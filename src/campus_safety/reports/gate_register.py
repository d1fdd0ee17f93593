"""The gate's register as evidence of closed management (封闭化管理, 4×100%).

A school keeps a gate register when the gate app recorded visitors, vehicles or
pick-ups there in the period (campus_safety.gate.registers, which the daily inspection
asks too); ``targets`` asks each registered source.
"""

from campus_safety.gate.registers import schools_with_entries

__all__ = ["schools_with_entries"]
