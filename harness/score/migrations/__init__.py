"""Migration reversibility: catalog snapshots, their differences, and the stairway's score."""
