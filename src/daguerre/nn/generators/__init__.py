"""Generator networks."""
