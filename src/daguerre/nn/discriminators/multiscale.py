"""Multi-scale discriminator (pix2pixHD, https://arxiv.org/abs/1711.11585).

``num_scales`` PatchGANs see the image at full, 1/2, 1/4... resolution, so the coarse ones judge
global consistency (colour casts, large structures) and the fine one judges texture.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from daguerre.nn.discriminators.patchgan import PatchDiscriminator


class MultiScaleDiscriminator(nn.Module):
    """``(B,C,H,W)`` -> one list of feature maps per scale (see :class:`PatchDiscriminator`).

    Example:
        >>> d = MultiScaleDiscriminator(in_channels=6, base_channels=8, layers=2, num_scales=2)
        >>> len(d(torch.rand(1, 6, 64, 64)))
        2
    """

    def __init__(
        self,
        *,
        in_channels: int = 6,
        base_channels: int = 32,
        layers: int = 3,
        num_scales: int = 2,
        spectral: bool = True,
    ) -> None:
        super().__init__()
        self.scales = nn.ModuleList(
            PatchDiscriminator(
                in_channels=in_channels,
                base_channels=base_channels,
                layers=layers,
                spectral=spectral,
            )
            for _ in range(num_scales)
        )

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """Run each scale on a progressively average-pooled copy of ``x``."""
        outs = []
        for i, disc in enumerate(self.scales):
            if i > 0:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outs.append(disc(x))
        return outs
