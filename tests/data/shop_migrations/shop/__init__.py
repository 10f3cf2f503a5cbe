"""A small shop whose schema evolves over six revisions (a test project for the migration checks)."""
