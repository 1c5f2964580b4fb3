"""Exponential moving average of a model's weights (used for the shipped generator)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps ``shadow = decay * shadow + (1 - decay) * model`` after each update.

    Example:
        >>> net = nn.Linear(2, 2); ema = EMA(net, decay=0.5)
        >>> ema.update(net); ema.shadow.training
        False
    """

    def __init__(self, model: nn.Module, *, decay: float = 0.999) -> None:
        self.decay = decay
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Blend ``model``'s parameters into the shadow; buffers are copied."""
        for s, p in zip(self.shadow.parameters(), model.parameters(), strict=True):
            s.lerp_(p.detach(), 1.0 - self.decay)
        for kept, b in zip(self.shadow.buffers(), model.buffers(), strict=True):
            kept.copy_(b)
