"""Whole-image tone: the faded levels, cast and lost saturation a print's restorer left.

A restorer sees one tile (in training, one 128 px crop) at a time, so it cannot tell whether
a photo was squeezed into lifted blacks and dulled whites, or was simply low in contrast:
that is a question about the whole photo. :class:`ToneNet` looks at a thumbnail of the
restored print and predicts seven numbers; :func:`apply_tone` turns them into one global
colour transform, applied at full resolution:

1. per channel, the measured levels ``[lo, hi]`` (the 0.5 % and 99.5 % quantiles of the
   thumbnail) go to ``[lo (1 - z_lo), hi + z_hi (1 - hi)]``: ``z = 0`` leaves a channel
   alone, ``z = 1`` is a full auto-levels stretch, anything between a partial one (a
   negative ``z`` lowers contrast);
2. the saturation about the luma is scaled by ``1 + z_sat`` (0 at ``z_sat = -1``: gray).

The parametrisation is anchored on the measured levels so that "leave it", "stretch it fully"
and everything between are equally easy to learn, and a photo that already spans the range
is nearly left alone whatever ``z`` is. The last layer starts at zero, so an
untrained net is the identity. Both steps are per-pixel affine maps of the colour, so a
monochrome print (colour a function of brightness) stays monochrome.

Example:
    >>> net = ToneNet(width=8)
    >>> image = torch.rand(1, 3, 40, 56)
    >>> torch.allclose(apply_tone(image.clone(), net.predict(image)), image)
    True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from daguerre.nn.blocks import ConvAct

__all__ = [
    "PARAMS", "ToneNet", "ToneParams", "apply_tone", "measured_levels", "tone_thumbnail", "toned",
]  # fmt: skip

PARAMS = 7  # z_lo (3), z_hi (3), z_sat
THUMB = 64  # side of the square thumbnail the net sees
LEVEL_QUANTILES = (0.005, 0.995)
_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
_LUMA = (0.299, 0.587, 0.114)  # Rec. 601
_MIN_RANGE = 0.02  # a channel's measured range is at least this (flat images)


def tone_thumbnail(image: torch.Tensor, size: int = THUMB) -> torch.Tensor:
    """Antialiased ``size`` x ``size`` thumbnail (aspect not kept) of ``(B,3,H,W)`` [0,1].

    Large images are first box-averaged by an integer factor, so the cost is one pass over
    the pixels and no full-size temporary is made.

    Returns:
        ``(B,3,size,size)`` float32 in [0, 1].
    """
    batched = image.float()
    factor = min(batched.shape[-2:]) // (4 * size)
    if factor >= 2:
        batched = F.avg_pool2d(batched, factor, ceil_mode=True)
    return F.interpolate(batched, size=(size, size), mode="bilinear", antialias=True)


def measured_levels(thumbs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel 0.5 % and 99.5 % quantiles of ``(B,3,S,S)`` thumbnails: two ``(B,3)``."""
    q = torch.quantile(thumbs.flatten(2), torch.tensor(LEVEL_QUANTILES), dim=-1)
    return q[0], q[1]


class ToneParams:
    """The predicted transform of a batch: ``z`` ``(B,7)`` and the measured levels ``(B,3)``."""

    def __init__(self, z: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> None:
        self.z, self.lo, self.hi = z, lo, hi

    def affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel gain and offset of step 1, each ``(B,3)``: ``out = gain * x + offset``."""
        new_lo = self.lo * (1.0 - self.z[:, 0:3])
        new_hi = self.hi + self.z[:, 3:6] * (1.0 - self.hi)
        gain = (new_hi - new_lo) / (self.hi - self.lo).clamp_min(_MIN_RANGE)
        return gain, new_lo - gain * self.lo

    def saturation(self) -> torch.Tensor:
        """Saturation factor of step 2, ``(B,)``."""
        return 1.0 + self.z[:, 6]

    def to(self, device: torch.device | str) -> ToneParams:
        """The same transform with its tensors on ``device``."""
        return ToneParams(self.z.to(device), self.lo.to(device), self.hi.to(device))


class ToneNet(nn.Module):
    """``(B,3,THUMB,THUMB)`` thumbnails in [0,1] -> ``(B,7)`` tone parameters (see module).

    Four stride-2 stages (conv, conv) pooled by mean and max, with per-channel thumbnail
    quantiles, feed a two-layer head whose last layer starts at zero.

    Args:
        width: channels of the first stage (then 2x, 4x, 4x).
    """

    def __init__(self, *, width: int = 24) -> None:
        super().__init__()
        chans = [3, width, 2 * width, 4 * width, 4 * width]
        stages: list[nn.Module] = []
        for c_in, c_out in zip(chans, chans[1:], strict=False):
            stages += [ConvAct(c_in, c_out, stride=2), ConvAct(c_out, c_out)]
        self.features = nn.Sequential(*stages)
        stats = 3 * len(_QUANTILES)
        self.head = nn.Sequential(
            nn.Linear(2 * chans[-1] + stats, 128), nn.LeakyReLU(0.2), nn.Linear(128, PARAMS)
        )
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, thumbs: torch.Tensor) -> torch.Tensor:
        """Tone parameters ``z`` ``(B,7)`` of ``(B,3,S,S)`` thumbnails in [0, 1]."""
        feats = self.features(thumbs * 2.0 - 1.0)
        pooled = torch.cat([feats.mean((-2, -1)), feats.amax((-2, -1))], dim=1)
        q = torch.quantile(thumbs.flatten(2), torch.tensor(_QUANTILES), dim=-1)
        stats = q.permute(1, 2, 0).flatten(1) * 2.0 - 1.0
        return self.head(torch.cat([pooled, stats], dim=1))

    @torch.no_grad()
    def predict(self, image: torch.Tensor) -> ToneParams:
        """The tone transform of ``(B,3,H,W)`` float32 [0,1] photos (any size, any device).

        The net runs on its own device (the CPU for shipped models) on a thumbnail, without
        gradients (training calls the net itself).
        """
        device = next(self.parameters()).device
        thumbs = tone_thumbnail(image).to(device)
        with torch.autocast(device.type, enabled=False):
            return ToneParams(self(thumbs), *measured_levels(thumbs))


def _tone_rows(
    block: torch.Tensor, gain: torch.Tensor, offset: torch.Tensor, sat: torch.Tensor
) -> torch.Tensor:
    """Levels, then saturation, on ``(B,3,h,W)`` rows; gain/offset ``(B,3)``, sat ``(B,)``."""
    levelled = block * gain[:, :, None, None] + offset[:, :, None, None]
    luma = torch.einsum("c,bchw->bhw", torch.tensor(_LUMA, dtype=block.dtype), levelled)[:, None]
    return luma + sat[:, None, None, None] * (levelled - luma)


def apply_tone(
    image: torch.Tensor, params: ToneParams, *, clamp: bool = True, chunk_pixels: int = 1 << 20
) -> torch.Tensor:
    """Apply the tone transform to ``(B,3,H,W)`` float32 in place, chunk by chunk of rows.

    Args:
        image: the photos, modified in place (memory stays that of the image).
        params: from :meth:`ToneNet.predict` for this batch.
        clamp: clamp the result to [0, 1] (training losses take it unclamped).
        chunk_pixels: about how many pixels are transformed at once.

    Returns:
        ``image`` (the same tensor).
    """
    gain, offset = (t.to(image) for t in params.affine())
    sat = params.saturation().to(image)
    h, w = image.shape[-2:]
    step = max(1, chunk_pixels // max(w, 1))
    for top in range(0, h, step):
        block = image[:, :, top : top + step]
        toned = _tone_rows(block, gain, offset, sat)
        block.copy_(toned.clamp_(0.0, 1.0) if clamp else toned)
    return image


def toned(image: torch.Tensor, params: ToneParams) -> torch.Tensor:
    """Out-of-place, unclamped :func:`apply_tone` for training losses (keeps the graph)."""
    gain, offset = params.affine()
    return _tone_rows(image, gain, offset, params.saturation())
