"""Security: static lint (semgrep with Crucible's own rules, bandit, ruff's S rules) and dynamic probes,
normalised to one CWE-keyed schema."""
