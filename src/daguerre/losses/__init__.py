"""Losses: each a plain function plus, where useful, a thin ``nn.Module`` wrapper."""
