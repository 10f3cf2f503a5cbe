"""Crucible: an evaluation and benchmarking harness for coding-agent prompts."""

__version__ = "0.1.0"
