"""Shared type aliases and protocols.

Image contract: at every public boundary an image is a float32 RGB tensor shaped
``(B, 3, H, W)`` or ``(3, H, W)`` with values in [0, 1].
"""

from __future__ import annotations

from typing import TypeAlias

import torch

Tensor: TypeAlias = torch.Tensor
