"""Visitors, vehicles and student pick-up at the gate; the police watch-list (issue #17)."""
