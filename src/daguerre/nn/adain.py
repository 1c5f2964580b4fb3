"""Arbitrary style transfer with adaptive instance normalisation on MobileNetV2 features.

AdaIN (Huang & Belongie 2017, https://arxiv.org/abs/1703.06868) re-normalises content
features to a style image's channel means and standard deviations; a trained decoder turns
the result back into an image, so any painting works without retraining. The original is
tied to VGG19 (not available offline); ours encodes with the ImageNet MobileNetV2 trunk.

Multi-level AdaIN: MobileNetV2's deep features are narrow (96 channels at stage 13, stride 16)
and a decoder from them alone is blurry, so the decoder also takes skip features from
shallower stages (stage 3: 24 channels at 1/4, stage 6: 32 channels at 1/8). Every level is
re-normalised to the style's statistics of that same stage, so no raw content statistics leak
through the skips (the idea of multi-level feature transforms, Li et al. 2017,
https://arxiv.org/abs/1705.08086).

Tiling: AdaIN is an instance normalisation, so computing statistics per tile would give every
tile a different transform. :meth:`AdaINNet.transfer` therefore takes *precomputed*
statistics (of the whole content image and of the style image); with them fixed, the network
is a fixed per-pixel function of its receptive field and tiles blend without seams.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from daguerre.nn.blocks import ConvAct, ResBlock, conv
from daguerre.nn.mobilenet import STAGE_CHANNELS, STAGE_STRIDES, MobileNetV2Features

Stats = tuple[torch.Tensor, torch.Tensor]
"""Per-channel ``(mean, std)``, each ``(B,C,1,1)`` (or ``(1,C,1,1)`` to broadcast)."""

EPS = 1e-5


def channel_stats(feat: torch.Tensor, eps: float = EPS) -> Stats:
    """Spatial mean and standard deviation per channel: ``(B,C,H,W)`` -> two ``(B,C,1,1)``.

    Example:
        >>> mean, std = channel_stats(torch.arange(4.0).view(1, 1, 2, 2))
        >>> float(mean), round(float(std), 4)
        (1.5, 1.118)
    """
    mean = feat.mean(dim=(2, 3), keepdim=True)
    var = feat.var(dim=(2, 3), keepdim=True, unbiased=False)
    return mean, (var + eps).sqrt()


def adain_with_stats(feat: torch.Tensor, content: Stats, style: Stats) -> torch.Tensor:
    """``(feat - mean_c) / std_c * std_s + mean_s`` with given statistics; shape of ``feat``."""
    scale = style[1] / content[1]
    return feat * scale + (style[0] - content[0] * scale)


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """AdaIN: ``content`` ``(B,C,H,W)`` with the channel mean/std of ``style`` ``(B|1,C,h,w)``.

    Example:
        >>> out = adain(torch.randn(2, 4, 8, 8), torch.randn(1, 4, 5, 5) * 3 + 1)
        >>> out.shape
        torch.Size([2, 4, 8, 8])
    """
    return adain_with_stats(content, channel_stats(content, eps), channel_stats(style, eps))


def _up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class AdaINDecoder(nn.Module):
    """Decoder from AdaIN'd MobileNetV2 features at ``stages`` back to a [0,1] RGB image.

    Input: one feature map per stage, shallow to deep, ``(B, STAGE_CHANNELS[s], ~H/stride_s,
    ~W/stride_s)``. Resize-convolutions (no checkerboard), no normalisation layers.

    Args:
        stages: MobileNetV2 stage indices, increasing; the last is the deepest.
        base_channels: width at full resolution; doubles per halving up to ``max_channels``.
        max_channels: channel cap.
        blocks: residual blocks on the deepest features.

    Example:
        >>> dec = AdaINDecoder(stages=(3, 6), base_channels=4)
        >>> dec([torch.rand(1, 24, 8, 8), torch.rand(1, 32, 4, 4)], (32, 32)).shape
        torch.Size([1, 3, 32, 32])
    """

    def __init__(
        self,
        *,
        stages: Sequence[int] = (3, 6, 13),
        base_channels: int = 16,
        max_channels: int = 128,
        blocks: int = 1,
    ) -> None:
        super().__init__()
        self.stages = tuple(stages)
        strides = [STAGE_STRIDES[s] for s in self.stages]
        if list(strides) != sorted(strides) or list(self.stages) != sorted(set(self.stages)):
            raise ValueError(f"stages must be increasing, got {self.stages}")

        def width(stride: int) -> int:
            return min(base_channels * stride, max_channels)

        deep = self.stages[-1]
        self.entry = ConvAct(STAGE_CHANNELS[deep], width(strides[-1]))
        self.blocks = nn.Sequential(*(ResBlock(width(strides[-1])) for _ in range(blocks)))
        # one merge per skip stage, from the deepest skip to the shallowest
        self.merges = nn.ModuleList(
            ConvAct(width(strides[i + 1]) + STAGE_CHANNELS[self.stages[i]], width(strides[i]))
            for i in reversed(range(len(self.stages) - 1))
        )
        # then halve the stride down to 1: stride_0 -> ... -> 1
        levels = []
        stride = strides[0]
        while stride > 1:
            levels.append(ConvAct(width(stride), width(stride // 2)))
            stride //= 2
        self.refine = nn.ModuleList(levels)
        self.head = nn.Sequential(ConvAct(width(1), width(1)), conv(width(1), 3))

    def forward(self, feats: Sequence[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        """Features (shallow to deep) and the output size ``(H, W)`` -> ``(B,3,H,W)``, [0,1]."""
        h = self.blocks(self.entry(feats[-1]))
        for merge, skip in zip(self.merges, reversed(feats[:-1]), strict=True):
            h = merge(torch.cat([_up(h, (skip.shape[-2], skip.shape[-1])), skip], dim=1))
        for index, level in enumerate(self.refine):
            last = index == len(self.refine) - 1
            target = size if last else (h.shape[-2] * 2, h.shape[-1] * 2)
            h = _up(level(h), target)  # resize-conv: conv at low resolution, then resize
        if not self.refine:
            h = _up(h, size)
        out = self.head(h) * 0.5 + 0.5
        return out if self.training else out.clamp(0.0, 1.0)


class AdaINNet(nn.Module):
    """MobileNetV2 encoder (up to the deepest stage) + multi-level AdaIN + trained decoder.

    The encoder is ImageNet MobileNetV2's trunk, truncated after ``stages[-1]``; its
    BatchNorms always stay in eval mode. Its weights live in this module's state dict, so a
    saved model needs no backbone file; the trainer loads them with :meth:`load_encoder` and
    freezes them (``requires_grad_(False)``).

    Args:
        stages: encoder stages fed to the decoder (and re-normalised); increasing.
        base_channels: decoder width at full resolution.
        max_channels: decoder channel cap.
        blocks: decoder residual blocks on the deepest features.

    Example:
        >>> net = AdaINNet(stages=(3, 6), base_channels=4).eval()
        >>> content, style = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 40, 40)
        >>> net(content, style, alpha=0.5).shape, net.pad_multiple
        (torch.Size([1, 3, 32, 48]), 8)
    """

    def __init__(
        self,
        *,
        stages: Sequence[int] = (3, 6, 13),
        base_channels: int = 16,
        max_channels: int = 128,
        blocks: int = 1,
    ) -> None:
        super().__init__()
        self.stages = tuple(stages)
        self.encoder = MobileNetV2Features(frozen=True)
        trunk = self.encoder.features[: self.stages[-1] + 1]
        assert isinstance(trunk, nn.Sequential)
        self.encoder.features = trunk
        self.encoder.eval()  # a new module starts in training mode; frozen keeps it in eval
        self.decoder = AdaINDecoder(
            stages=self.stages,
            base_channels=base_channels,
            max_channels=max_channels,
            blocks=blocks,
        )
        self.pad_multiple = STAGE_STRIDES[self.stages[-1]]

    def load_encoder(self, backbone: MobileNetV2Features) -> None:
        """Copy the (ImageNet) weights of a full MobileNetV2 trunk into the encoder."""
        state = backbone.features[: self.stages[-1] + 1].state_dict()
        self.encoder.features.load_state_dict(state, strict=True)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``(B,3,H,W)`` [0,1] -> encoder features at ``stages``, shallow to deep."""
        return list(self.encoder(x, layers=self.stages).values())

    def stats(self, x: torch.Tensor) -> list[Stats]:
        """Per-stage channel statistics of a whole image ``(B,3,H,W)``."""
        return [channel_stats(f) for f in self.encode(x)]

    def transfer(
        self,
        x: torch.Tensor,
        content: Sequence[Stats],
        style: Sequence[Stats],
        *,
        alpha: float = 1.0,
    ) -> torch.Tensor:
        """Stylize ``x`` (a whole image or a tile) with fixed statistics -> ``(B,3,H,W)``.

        Args:
            x: ``(B,3,H,W)`` float in [0,1].
            content: per-stage statistics of the whole content image (not of the tile).
            style: per-stage statistics of the style image.
            alpha: 0 keeps the content features (reconstruction), 1 is full AdaIN.
        """
        feats = []
        for feat, c_stats, s_stats in zip(self.encode(x), content, style, strict=True):
            target = adain_with_stats(feat, c_stats, s_stats)
            feats.append(feat + alpha * (target - feat) if alpha != 1.0 else target)
        return self.decoder(feats, (x.shape[-2], x.shape[-1]))

    def forward(
        self, content: torch.Tensor, style: torch.Tensor | None = None, *, alpha: float = 1.0
    ) -> torch.Tensor:
        """Whole-image AdaIN: ``(B,3,H,W)`` [0,1] content (+ style, default content) -> image."""
        feats = self.encode(content)
        style_stats = self.stats(style) if style is not None else [channel_stats(f) for f in feats]
        out = []
        for feat, s_stats in zip(feats, style_stats, strict=True):
            target = adain_with_stats(feat, channel_stats(feat), s_stats)
            out.append(feat + alpha * (target - feat) if alpha != 1.0 else target)
        return self.decoder(out, (content.shape[-2], content.shape[-1]))
