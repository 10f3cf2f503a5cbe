"""Scorers: each turns a sample's artifacts into part of its record, without Docker."""
