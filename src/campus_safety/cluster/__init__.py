"""Running as a cluster (issue #22): which process runs each periodic job (PostgreSQL
advisory-lock leadership and a ledger of claimed periods, ``leadership.py``), and which
processes are alive with which roles (Redis, ``members.py``). A mechanism: Django only."""
