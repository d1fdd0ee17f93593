"""School-related incidents, leads, early warning, groups, special operations (issue #18)."""
