"""User-facing tasks composed from stages: restore, stylize, age, and the classical baselines."""
