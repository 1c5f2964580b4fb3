"""Discriminator networks."""
