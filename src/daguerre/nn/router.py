"""What kind of damaged photo is this: an old print, or a digital photo with digital damage?

The restorer ships two experts (U-Nets of one family): one trained on old prints (faded,
toned, yellowed, grainy, scratched) and one on digital damage (BOPBTL's blur / noise /
down-up / JPEG and Real-ESRGAN's chain on photos whose tone is intact). One small network
trained on both must hedge: it cannot tell from a tile whether a photo's low contrast is
fading to undo or the scene itself. :class:`RouterNet` tells them apart once per photo from a
thumbnail and a few statistics at a canonical scale (:func:`router_inputs`), so the pipeline can
pick the expert.

Example:
    >>> net = RouterNet(width=8)
    >>> thumbs, stats = router_inputs(torch.rand(2, 3, 100, 140))
    >>> net(thumbs, stats).shape
    torch.Size([2])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from daguerre.nn.blocks import ConvAct
from daguerre.nn.grade import thumbnail

__all__ = ["CANONICAL_SIDE", "ROUTER_STATS", "ROUTER_THUMB", "RouterNet", "router_inputs"]

ROUTER_THUMB = 64  # thumbnail side the net sees
CANONICAL_SIDE = 512  # statistics are measured with the long side brought to (at most) this
_QUANTILES = (0.01, 0.1, 0.5, 0.9, 0.99)
ROUTER_STATS = 3 * (2 + len(_QUANTILES)) + 6  # per channel: mean, std, quantiles; detail (x2)


def _canonical(image: torch.Tensor) -> torch.Tensor:
    """``(B,3,h,w)`` with the long side at most :data:`CANONICAL_SIDE` (area downscale).

    Noise and sharpness are per pixel, so they are measured at one scale whatever the scan's
    resolution; integer box-averaging first keeps a huge scan to one pass over its pixels.
    """
    x = image.float()
    h, w = x.shape[-2:]
    factor = max(h, w) // (2 * CANONICAL_SIDE)
    if factor >= 2:
        x = F.avg_pool2d(x, factor, ceil_mode=True)
    h, w = x.shape[-2:]
    if max(h, w) > CANONICAL_SIDE:
        scale = CANONICAL_SIDE / max(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        x = F.interpolate(x, size=size, mode="area")
    return x


def _detail(x: torch.Tensor) -> torch.Tensor:
    """Per channel ``log`` mean absolute 3x3 and 5x5 high-pass (noise, grain, sharpness)."""
    parts = []
    for k in (3, 5):
        pad = k // 2
        blurred = F.avg_pool2d(F.pad(x, (pad,) * 4, mode="replicate"), k, stride=1)
        parts.append(torch.log(1e-4 + (x - blurred).abs().mean((-2, -1))))
    return torch.cat(parts, dim=1)


@torch.no_grad()
def router_inputs(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The network's inputs for ``(3,H,W)`` or ``(B,3,H,W)`` float [0,1] photos, any size.

    Returns:
        ``(B,3,64,64)`` float32 thumbnails in [0, 1] (aspect not kept) and ``(B, ROUTER_STATS)``
        float32 statistics: per channel mean, std and the 1/10/50/90/99 % quantiles of the
        thumbnail, and the log mean absolute 3x3 and 5x5 high-pass at the canonical scale.
    """
    batched = image if image.ndim == 4 else image[None]
    small = _canonical(batched)
    thumbs = thumbnail(small, ROUTER_THUMB).clamp(0.0, 1.0)
    flat = thumbs.flatten(2)
    quantiles = torch.quantile(flat, torch.tensor(_QUANTILES), dim=-1)
    stats = torch.cat([flat.mean(-1), flat.std(-1), *quantiles.unbind(0), _detail(small)], 1)
    return thumbs, stats


class RouterNet(nn.Module):
    """Thumbnail ``(B,3,64,64)`` + statistics ``(B,ROUTER_STATS)`` -> ``(B,)`` logit of "print".

    A strided CNN (4 stride-2 convs, global average) plus the statistics feed a two-layer
    head. Positive logits: an old print (restore with the print expert); negative: a digital
    photo with digital damage (or none).

    Args:
        width: channels of the first conv (then 2x, 4x, 4x).
    """

    def __init__(self, *, width: int = 16) -> None:
        super().__init__()
        chans = [3, width, 2 * width, 4 * width, 4 * width]
        self.features = nn.Sequential(
            *(ConvAct(chans[i], chans[i + 1], stride=2) for i in range(4))
        )
        self.head = nn.Sequential(
            nn.Linear(chans[-1] + ROUTER_STATS, 2 * width),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(2 * width, 1),
        )

    def forward(self, thumbs: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
        """``(B,)`` logits; see the class docstring."""
        feats = self.features(thumbs * 2.0 - 1.0).mean((-2, -1))
        return self.head(torch.cat([feats, stats.to(feats.dtype)], dim=1))[:, 0]
