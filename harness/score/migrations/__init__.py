"""Migration reversibility: the drivers of Alembic and Django, the stairway and the backfill round trip,
catalog snapshots and their differences, and the PostgreSQL client that reads them from the tester."""
