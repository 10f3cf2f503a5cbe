"""`python -m harness` is `crucible`."""

from harness.cli import main

main()
