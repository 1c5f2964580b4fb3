"""Widen a trained ``ScratchUNet`` without changing what it computes (Net2WiderNet).

Every level of the wider U-Net keeps the old channels and adds copies of randomly chosen old
ones; the weights that read a copied channel are divided by its number of copies, so the wider
network computes the same logits (LeakyReLU acts per channel, and the skip concatenations are
remapped half by half). Optional noise on the copies' incoming weights breaks the symmetry so
training can pull them apart (Chen, Goodfellow and Shlens 2016, "Net2Net",
https://arxiv.org/abs/1511.05641, section 2.1).

Example:
    >>> from daguerre.nn.scratch_unet import ScratchUNet
    >>> small = ScratchUNet(base_channels=4, depth=2, max_channels=16).eval()
    >>> big = ScratchUNet(base_channels=6, depth=2, max_channels=16).eval()
    >>> state = widen_scratch_state(small.state_dict(), [4, 8, 16], [6, 12, 16],
    ...                             torch.Generator().manual_seed(0))
    >>> _ = big.load_state_dict(state)
    >>> x = torch.rand(1, 3, 16, 16)
    >>> bool(torch.allclose(big(x), small(x), atol=1e-5))
    True
"""

from __future__ import annotations

import torch

__all__ = ["channel_map", "scratch_level_widths", "widen_scratch_state"]


def scratch_level_widths(kwargs: dict[str, int]) -> list[int]:
    """Channel width per level (full resolution first) of a ``ScratchUNet(**kwargs)``.

    Example:
        >>> scratch_level_widths({"base_channels": 12, "depth": 3, "max_channels": 32})
        [12, 24, 32, 32]
    """
    base, depth = kwargs.get("base_channels", 8), kwargs.get("depth", 4)
    cap = kwargs.get("max_channels", 128)
    return [min(base * 2**i, cap) for i in range(depth + 1)]


def channel_map(old: int, new: int, gen: torch.Generator) -> torch.Tensor:
    """``(new,)`` int64: the old channel each new channel copies; the first ``old`` are themselves.

    Raises:
        ValueError: ``new < old`` (this widens; it never prunes).
    """
    if new < old:
        raise ValueError(f"cannot widen {old} channels to {new}")
    return torch.cat([torch.arange(old), torch.randint(0, old, (new - old,), generator=gen)])


class _Widener:
    """Remaps one state dict level by level; see :func:`widen_scratch_state`."""

    def __init__(
        self,
        state: dict[str, torch.Tensor],
        old: list[int],
        new: list[int],
        noise: float,
        gen: torch.Generator,
    ) -> None:
        self.state, self.old, self.noise, self.gen = state, old, noise, gen
        self.maps = [channel_map(o, n, gen) for o, n in zip(old, new, strict=True)]
        self.counts = [torch.bincount(m, minlength=o) for m, o in zip(self.maps, old, strict=True)]
        self.out: dict[str, torch.Tensor] = {}

    def _inputs(self, level: int, cat: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Old input index and divisor per new input channel (``cat``: [up(h), skip])."""
        index, counts = self.maps[level], self.counts[level][self.maps[level]]
        if cat:
            index = torch.cat([index, index + self.old[level]])
            counts = torch.cat([counts, counts])
        return index, counts

    def conv(
        self, name: str, out_level: int | None, in_level: int | None, cat: bool = False
    ) -> None:
        """Widen conv ``name``'s outputs to ``out_level``'s map and inputs to ``in_level``'s."""
        weight, bias = self.state[f"{name}.weight"].float(), self.state.get(f"{name}.bias")
        if out_level is not None:
            weight = weight[self.maps[out_level]]
            bias = None if bias is None else bias.float()[self.maps[out_level]]
        if in_level is not None:
            index, counts = self._inputs(in_level, cat)
            weight = weight[:, index] / counts.view(1, -1, 1, 1).to(weight.dtype)
        if out_level is not None and self.noise > 0:
            copies = (torch.arange(weight.shape[0]) >= self.old[out_level]).view(-1, 1, 1, 1)
            jitter = torch.randn(weight.shape, generator=self.gen) * weight.std() * self.noise
            weight = weight + jitter * copies
        self.out[f"{name}.weight"] = weight.contiguous()
        if bias is not None:
            self.out[f"{name}.bias"] = bias.float().contiguous()


def widen_scratch_state(
    state: dict[str, torch.Tensor],
    old: list[int],
    new: list[int],
    gen: torch.Generator,
    *,
    noise: float = 0.0,
) -> dict[str, torch.Tensor]:
    """The state dict of a wider ``ScratchUNet`` that computes what ``state``'s network does.

    Args:
        state: a ``ScratchUNet`` state dict (any float dtype).
        old: its level widths (:func:`scratch_level_widths`).
        new: the wider network's level widths; same depth, each at least the old width.
        gen: picks which channels are copied (and draws the noise).
        noise: std of the noise added to copied channels' incoming weights, relative to each
            layer's weight std (0 keeps the function exact up to float rounding).

    Returns:
        float32 tensors keyed like ``ScratchUNet`` with widths ``new``.

    Raises:
        ValueError: depths differ, a level would shrink, or ``state`` has unknown layers.
    """
    if len(old) != len(new):
        raise ValueError(f"depth differs: {len(old) - 1} vs {len(new) - 1} levels")
    w = _Widener(state, old, new, noise, gen)
    depth = len(old) - 1
    w.conv("stem.0.conv", 0, None)
    w.conv("stem.1.conv", 0, 0)
    for i in range(depth):
        w.conv(f"down.{i}.conv", i + 1, i)
    blocks = sum(1 for name in state if name.startswith("bottleneck.") and "conv1.weight" in name)
    for k in range(blocks):
        w.conv(f"bottleneck.{k}.conv1", depth, depth)
        w.conv(f"bottleneck.{k}.conv2", depth, depth)
    for k, level in enumerate(reversed(range(depth))):
        w.conv(f"up.{k}.conv.conv", level, level + 1)
        w.conv(f"merge.{k}.conv", level, level, cat=True)
    w.conv("head", None, 0)
    unknown = sorted(set(state) - set(w.out))
    if unknown:
        raise ValueError(f"not a ScratchUNet state dict; unknown layers: {unknown[:4]}")
    return w.out
