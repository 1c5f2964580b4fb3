"""The degradation contract: sample parameters with an explicit generator, apply deterministically.

Every operation is a small object with

* ``sample(gen, batch) -> Params``: draws per-image parameters (a frozen dataclass of ``(B,)``
  tensors) from the ``torch.Generator`` passed in. Nothing else is random.
* ``apply(img, params) -> img``: deterministic. Any noise field is drawn inside ``apply`` from a
  per-image ``seed`` held in ``params`` (on CPU, then moved), so saved params replay bit for bit.

Operations that damage the photo physically (scratches, dust, tears, stains, creases) derive
from :class:`DefectDegradation` and also return a defect mask through ``apply_masked``.

Images are float32 ``(B, 3, H, W)`` tensors in [0, 1]; masks are float32 ``(B, 1, H, W)`` in
[0, 1] (1 = damaged pixel).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Generic, TypeVar

import torch

from daguerre.types import Tensor

P = TypeVar("P")

SEED_MAX = 2**31 - 1


class Degradation(Generic[P]):
    """Base class of a degradation operation; subclasses implement ``sample`` and ``apply``."""

    name: str = "degradation"

    def sample(self, gen: torch.Generator, batch: int) -> P:
        """Draw parameters for ``batch`` images from ``gen`` (CPU generator)."""
        raise NotImplementedError

    def apply(self, img: Tensor, params: P) -> Tensor:
        """Apply with fixed ``params``: ``(B,3,H,W)`` float32 [0,1] -> same shape, in [0,1]."""
        raise NotImplementedError

    def apply_masked(self, img: Tensor, params: P) -> tuple[Tensor, Tensor | None]:
        """Return ``(image, mask)``; mask is ``None`` for ops that damage no pixels outright."""
        return self.apply(img, params), None

    def target(self, img: Tensor, params: P) -> Tensor:
        """What this op does to a clean training target, for ops with ``applies_to_target``.

        ``(B,3,H,W)`` float32 [0,1] -> same shape. Default: the same as to the input (grayscale
        makes a black-and-white target); see :func:`daguerre.degrade.chain.apply_to_target`.
        """
        return self.apply(img, params)

    def __call__(self, img: Tensor, gen: torch.Generator) -> Tensor:
        """Sample and apply in one go."""
        return self.apply(img, self.sample(gen, img.shape[0]))


class DefectDegradation(Degradation[P]):
    """A degradation that covers pixels with physical damage and reports where."""

    def apply_masked(self, img: Tensor, params: P) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        """Return ``(image, mask)``: mask is ``(B,1,H,W)`` float32 in [0,1], 1 = damaged."""
        raise NotImplementedError

    def apply(self, img: Tensor, params: P) -> Tensor:
        """Apply and drop the mask."""
        return self.apply_masked(img, params)[0]


class PerImageDefect(DefectDegradation[P]):
    """A defect op drawn one image at a time: subclasses implement :meth:`_one`."""

    def apply_masked(self, img: Tensor, params: P) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        """(B,3,H,W) float32 [0,1] -> (image clamped to [0,1], mask (B,1,H,W) in [0,1])."""
        check_image(img)
        pairs = [self._one(img[i : i + 1], params, i) for i in range(img.shape[0])]
        return torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs])

    def _one(self, img: Tensor, params: P, i: int) -> tuple[Tensor, Tensor]:
        """Image ``i`` of the batch: ``(1,3,H,W)`` -> ``(image, mask (1,1,H,W))``."""
        raise NotImplementedError


# --- sampling helpers: all draw from the generator passed in, on CPU --------------------------


def uniform(gen: torch.Generator, batch: int, low: float, high: float) -> Tensor:
    """``(B,)`` float32 uniform in [low, high)."""
    return low + (high - low) * torch.rand(batch, generator=gen)


def log_uniform(gen: torch.Generator, batch: int, low: float, high: float) -> Tensor:
    """``(B,)`` float32 log-uniform in [low, high) (both > 0)."""
    lo, hi = torch.log(torch.tensor(low)), torch.log(torch.tensor(high))
    return torch.exp(lo + (hi - lo) * torch.rand(batch, generator=gen))


def randint(gen: torch.Generator, batch: int, low: int, high: int) -> Tensor:
    """``(B,)`` int64 uniform in [low, high] (inclusive)."""
    return torch.randint(low, high + 1, (batch,), generator=gen)


def bernoulli(gen: torch.Generator, batch: int, p: float) -> Tensor:
    """``(B,)`` bool, True with probability ``p``."""
    return torch.rand(batch, generator=gen) < p


def seeds(gen: torch.Generator, batch: int) -> Tensor:
    """``(B,)`` int64 seeds for per-image noise fields drawn inside ``apply``."""
    return torch.randint(0, SEED_MAX, (batch,), generator=gen)


def generator_for(seed: int | Tensor) -> torch.Generator:
    """A fresh CPU generator seeded with ``seed`` (an int or 0-d int tensor)."""
    gen = torch.Generator("cpu")
    gen.manual_seed(int(seed))
    return gen


def params_to_dict(params: Any) -> dict[str, Any]:
    """Turn a params dataclass of tensors into plain JSON-able lists (for logs and replay)."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(params):
        value = getattr(params, field.name)
        out[field.name] = value.tolist() if isinstance(value, Tensor) else value
    return out


def params_index(params: P, index: Tensor) -> P:
    """Select the samples ``index`` (bool or int ``(K,)``) from every ``(B,...)`` tensor field."""
    changes = {
        field.name: getattr(params, field.name)[index]
        for field in dataclasses.fields(params)  # type: ignore[arg-type]
        if isinstance(getattr(params, field.name), Tensor)
    }
    return dataclasses.replace(params, **changes)  # type: ignore[type-var]


def check_image(img: Tensor) -> None:
    """Raise ``ValueError`` unless ``img`` is a float32 ``(B,3,H,W)`` tensor."""
    if img.ndim != 4 or img.shape[1] != 3 or img.dtype != torch.float32:
        raise ValueError(f"expected a float32 (B,3,H,W) image, got {tuple(img.shape)} {img.dtype}")
