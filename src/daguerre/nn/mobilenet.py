"""MobileNetV2 feature extractor whose weights load from torchvision's ImageNet checkpoint.

Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018,
https://arxiv.org/abs/1801.04381. The module tree mirrors torchvision's ``mobilenet_v2()``
``features`` sequence exactly (same submodule names and order), so the parameters and
buffers of ``mobilenet_v2-b0353104.pth`` load with ``strict=True`` once ``classifier.*`` is
dropped. Only the convolutional trunk is built: the ImageNet classifier is not part of it.

Stage indices of ``features`` and their output stride (input 224 px -> output size):

=====  ========  ======  ======
index  channels  stride  224 px
=====  ========  ======  ======
0      32        2       112
1      16        2       112
2-3    24        4       56
4-6    32        8       28
7-10   64        16      14
11-13  96        16      14
14-16  160       32      7
17     320       32      7
18     1280      32      7
=====  ========  ======  ======
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

# ImageNet statistics the checkpoint was trained with (torchvision IMAGENET1K_V1).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# (expand ratio t, output channels c, repeats n, first stride s), from Table 2 of the paper.
_INVERTED_RESIDUAL_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

STAGE_CHANNELS: tuple[int, ...] = (
    32,
    16,
    24,
    24,
    32,
    32,
    32,
    64,
    64,
    64,
    64,
    96,
    96,
    96,
    160,
    160,
    160,
    320,
    1280,
)
"""Output channels of ``features[i]`` for ``i`` in 0..18."""

STAGE_STRIDES: tuple[int, ...] = (
    2,
    2,
    4,
    4,
    8,
    8,
    8,
    16,
    16,
    16,
    16,
    16,
    16,
    16,
    32,
    32,
    32,
    32,
    32,
)
"""Output stride (input size / feature size) of ``features[i]`` for ``i`` in 0..18."""

DEFAULT_LAYERS: tuple[int, ...] = (1, 3, 6, 13, 18)
"""One stage per resolution: 1/2, 1/4, 1/8, 1/16 and 1/32 of the input."""

LAST_STAGE = 18


# ---------------------------------------------------------------- building blocks


class ConvBNReLU6(nn.Sequential):
    """Conv2d (no bias) -> BatchNorm2d -> ReLU6; children named 0, 1, 2 as in torchvision.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel size; padding keeps the size at stride 1.
        stride: convolution stride.
        groups: convolution groups (``groups == in_channels`` makes it depthwise).
    """

    def __init__(
        self,
        *,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
    ) -> None:
        padding = (kernel_size - 1) // 2
        super().__init__(
            nn.Conv2d(
                in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False
            ),
            nn.BatchNorm2d(out_channels),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise 3x3 -> linear project (1x1), with a skip when shapes match.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the depthwise convolution (1 or 2).
        expand_ratio: hidden width as a multiple of ``in_channels``; 1 skips the expansion.
    """

    def __init__(
        self, *, in_channels: int, out_channels: int, stride: int, expand_ratio: int
    ) -> None:
        super().__init__()
        assert stride in (1, 2), "MobileNetV2 blocks use stride 1 or 2"
        hidden = in_channels * expand_ratio
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(in_channels=in_channels, out_channels=hidden, kernel_size=1))
        layers += [
            ConvBNReLU6(in_channels=hidden, out_channels=hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, 1, 0, bias=False),  # linear bottleneck: no ReLU
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """(B,C_in,H,W) -> (B,C_out,H/s,W/s)."""
        out = self.conv(x)
        return x + out if self.use_res_connect else out


def _build_features() -> nn.Sequential:
    """The 19-stage ``features`` trunk of MobileNetV2 (width multiplier 1.0)."""
    stages: list[nn.Module] = [ConvBNReLU6(in_channels=3, out_channels=32, stride=2)]
    in_channels = 32
    for expand_ratio, out_channels, repeats, first_stride in _INVERTED_RESIDUAL_SETTING:
        for index in range(repeats):
            stages.append(
                InvertedResidual(
                    in_channels=in_channels,
                    out_channels=out_channels,
                    stride=first_stride if index == 0 else 1,
                    expand_ratio=expand_ratio,
                )
            )
            in_channels = out_channels
    stages.append(ConvBNReLU6(in_channels=in_channels, out_channels=1280, kernel_size=1))
    return nn.Sequential(*stages)


# ---------------------------------------------------------------- the network


class MobileNetV2Features(nn.Module):
    """MobileNetV2 trunk returning intermediate feature maps, for losses and metrics.

    Input is an RGB image in [0, 1]; ImageNet normalisation happens inside, using
    non-persistent buffers (they are not in ``state_dict()``, so the torchvision keys match).

    Args:
        frozen: if True, ``train()`` is a no-op and the module stays in eval mode, so
            BatchNorm statistics never change when a parent module is switched to training.

    Example:
        >>> net = MobileNetV2Features().eval()
        >>> feats = net(torch.rand(1, 3, 64, 64), layers=(3, 18))
        >>> [tuple(f.shape) for f in feats.values()]
        [(1, 24, 16, 16), (1, 1280, 2, 2)]
    """

    def __init__(self, *, frozen: bool = False) -> None:
        super().__init__()
        self.frozen = frozen
        self.features = _build_features()
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)
        self.mean: Tensor
        self.std: Tensor

    def train(self, mode: bool = True) -> MobileNetV2Features:
        """Set training mode, except when ``frozen`` (then always eval)."""
        return super().train(False if self.frozen else mode)

    def forward(self, x: Tensor, layers: Sequence[int] = DEFAULT_LAYERS) -> dict[int, Tensor]:
        """Run the trunk up to the deepest requested stage.

        Args:
            x: (B,3,H,W) float RGB in [0, 1].
            layers: indices into ``features`` (0..18) whose outputs to return.

        Returns:
            Dict from stage index to its output (B, STAGE_CHANNELS[i], ~H/s, ~W/s), in
            increasing index order.

        Raises:
            ValueError: if ``x`` is not (B,3,H,W) or a layer index is out of range.
        """
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected a (B,3,H,W) image, got shape {tuple(x.shape)}")
        wanted = sorted(set(layers))
        if not wanted or wanted[0] < 0 or wanted[-1] > LAST_STAGE:
            raise ValueError(f"layers must be non-empty indices in 0..{LAST_STAGE}, got {layers}")
        h = (x - self.mean) / self.std
        out: dict[int, Tensor] = {}
        for index in range(wanted[-1] + 1):
            h = self.features[index](h)
            if index in wanted:
                out[index] = h
        return out

    def pooled(self, x: Tensor) -> Tensor:
        """Global average of the last stage: (B,3,H,W) [0,1] -> (B,1280)."""
        return self.forward(x, layers=(LAST_STAGE,))[LAST_STAGE].mean(dim=(2, 3))
