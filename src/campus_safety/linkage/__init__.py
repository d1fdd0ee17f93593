"""Campus police rooms, discipline education, emergency plans and drills, notices (issue #20)."""
