"""One sample through the stages: the engine it runs on, generation, the app image, the eval pod,
evaluation and triage, and the grid cell that strings them together."""
