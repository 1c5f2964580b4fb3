"""Composites of degradations (``Sequential``, ``Maybe``, ``OneOf``, ``Shuffle``) and runners.

Composites are degradations too, so they nest. Their params hold their children's params,
sampled for the whole batch (the generator is consumed the same way whatever fires). Children
run only on the images where they fire: the batch is indexed, the child applied to that
sub-batch, and the result scattered back, so the cost scales with what fires.

Defect masks of children are combined with ``max``: a pixel damaged by any op stays marked,
even if a later op (blur, JPEG) smears it.

Example:
    >>> from daguerre.degrade.blur import GaussianBlur
    >>> from daguerre.degrade.jpeg import JPEG
    >>> op = Sequential([Maybe(GaussianBlur(), p=0.5), JPEG()])
    >>> img = torch.rand(2, 3, 16, 16)
    >>> result = run(op, img, torch.Generator().manual_seed(0))
    >>> torch.equal(replay(op, img, result.params).image, result.image)
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from daguerre.degrade.base import Degradation, check_image
from daguerre.types import Tensor

__all__ = [
    "DegradeResult",
    "Maybe",
    "MaybeParams",
    "OneOf",
    "OneOfParams",
    "Sequential",
    "SequentialParams",
    "Shuffle",
    "ShuffleParams",
    "apply_to_target",
    "describe",
    "replay",
    "run",
    "select_params",
]

# --- params-tree helpers ------------------------------------------------------------------


def select_params(params: Any, index: Tensor) -> Any:
    """Select the samples ``index`` from every batched tensor in a params tree.

    Works on leaf params dataclasses and on composite params alike (tensors are indexed,
    dataclasses, tuples and lists are walked, anything else is kept).

    Args:
        params: a params tree whose tensors are all batched along dim 0.
        index: ``(K,)`` int64 indices or ``(B,)`` bool mask.

    Returns:
        The same tree with ``K`` samples.
    """
    if isinstance(params, Tensor):
        return params[index]
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        changes = {
            f.name: select_params(getattr(params, f.name), index)
            for f in dataclasses.fields(params)
        }
        return dataclasses.replace(params, **changes)
    if isinstance(params, tuple | list):
        return type(params)(select_params(item, index) for item in params)
    return params


def describe(params: Any) -> Any:
    """A JSON-able nested description of a params tree (for logs and ``--save-params``).

    Dataclasses become dicts with a ``"type"`` key (the params class name), tensors become
    (nested) lists, tuples become lists.

    Example:
        >>> from daguerre.degrade.jpeg import JPEGParams
        >>> describe(JPEGParams(quality=torch.tensor([50, 90])))
        {'type': 'JPEGParams', 'quality': [50, 90]}
    """
    if isinstance(params, Tensor):
        return params.tolist()
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        out: dict[str, Any] = {"type": type(params).__name__}
        for f in dataclasses.fields(params):
            out[f.name] = describe(getattr(params, f.name))
        return out
    if isinstance(params, tuple | list):
        return [describe(item) for item in params]
    return params


def _combine(mask: Tensor | None, update: Tensor | None, rows: Tensor | None) -> Tensor | None:
    """``max`` of a running batch mask and a child's mask for the images ``rows``."""
    if update is None:
        return mask
    if rows is None:
        return update if mask is None else torch.maximum(mask, update)
    assert mask is not None, "the caller allocates the full mask before scattering into it"
    mask[rows] = torch.maximum(mask[rows], update)
    return mask


def _apply_on(
    op: Degradation[Any], img: Tensor, params: Any, fire: Tensor, mask: Tensor | None
) -> tuple[Tensor, Tensor | None]:
    """Apply ``op`` to the images where ``fire`` (bool ``(B,)``) holds; scatter back."""
    if not bool(fire.any()):
        return img, mask
    if bool(fire.all()):
        out, child_mask = op.apply_masked(img, params)
        return out, _combine(mask, child_mask, None)
    index = torch.nonzero(fire.cpu()).flatten()
    rows = index.to(img.device)
    out_sub, child_mask = op.apply_masked(img[rows], select_params(params, index))
    out = img.clone()
    out[rows] = out_sub
    if child_mask is not None and mask is None:
        mask = img.new_zeros(img.shape[0], 1, *img.shape[2:])
    return out, _combine(mask, child_mask, rows)


# --- composites ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SequentialParams:
    """Params of :class:`Sequential`: one entry per step."""

    steps: tuple[Any, ...]


class Sequential(Degradation[SequentialParams]):
    """Apply ``steps`` one after the other.

    Args:
        steps: the degradations, in order.
    """

    name = "sequential"

    def __init__(self, steps: Sequence[Degradation[Any]]) -> None:
        self.steps = tuple(steps)

    def sample(self, gen: torch.Generator, batch: int) -> SequentialParams:
        """Sample every step."""
        return SequentialParams(steps=tuple(step.sample(gen, batch) for step in self.steps))

    def apply_masked(self, img: Tensor, params: SequentialParams) -> tuple[Tensor, Tensor | None]:
        """Apply every step; masks combine with max."""
        check_image(img)
        mask: Tensor | None = None
        everyone = torch.ones(img.shape[0], dtype=torch.bool)
        for step, step_params in zip(self.steps, params.steps, strict=True):
            img, mask = _apply_on(step, img, step_params, everyone, mask)
        return img, mask

    def apply(self, img: Tensor, params: SequentialParams) -> Tensor:
        """Apply every step: ``(B,3,H,W)`` float32 [0,1] -> same shape, [0,1]."""
        return self.apply_masked(img, params)[0].clone()


@dataclass(frozen=True)
class MaybeParams:
    """Params of :class:`Maybe`."""

    fire: Tensor  # (B,) bool, whether the child runs on each image
    child: Any  # the child's params, sampled for the whole batch


class Maybe(Degradation[MaybeParams]):
    """Apply ``op`` to each image independently with probability ``p``.

    Args:
        op: the child degradation.
        p: firing probability per image.
    """

    name = "maybe"

    def __init__(self, op: Degradation[Any], p: float) -> None:
        assert 0.0 <= p <= 1.0, "p is a probability"
        self.op = op
        self.p = p

    def sample(self, gen: torch.Generator, batch: int) -> MaybeParams:
        """Draw who fires, then the child's params for every image."""
        fire = torch.rand(batch, generator=gen) < self.p
        return MaybeParams(fire=fire, child=self.op.sample(gen, batch))

    def apply_masked(self, img: Tensor, params: MaybeParams) -> tuple[Tensor, Tensor | None]:
        """Apply the child where it fires; others pass unchanged."""
        check_image(img)
        return _apply_on(self.op, img, params.child, params.fire, None)

    def apply(self, img: Tensor, params: MaybeParams) -> Tensor:
        """Apply the child where it fires: ``(B,3,H,W)`` float32 [0,1] -> same, [0,1]."""
        return self.apply_masked(img, params)[0].clone()


@dataclass(frozen=True)
class OneOfParams:
    """Params of :class:`OneOf`."""

    choice: Tensor  # (B,) int64, index of the child applied to each image
    children: tuple[Any, ...]  # every child's params, sampled for the whole batch


class OneOf(Degradation[OneOfParams]):
    """Apply one of ``ops`` per image, picked with ``probs`` (uniform by default).

    Args:
        ops: the candidate degradations.
        probs: their probabilities (normalised); ``None`` = uniform.
    """

    name = "one_of"

    def __init__(
        self, ops: Sequence[Degradation[Any]], probs: Sequence[float] | None = None
    ) -> None:
        assert len(ops) > 0, "OneOf needs at least one op"
        self.ops = tuple(ops)
        weights = [1.0] * len(self.ops) if probs is None else list(probs)
        assert len(weights) == len(self.ops) and min(weights) >= 0 and sum(weights) > 0
        self.probs = torch.tensor(weights, dtype=torch.float64)

    def sample(self, gen: torch.Generator, batch: int) -> OneOfParams:
        """Draw a choice per image, then every child's params."""
        choice = torch.multinomial(self.probs, batch, replacement=True, generator=gen)
        children = tuple(op.sample(gen, batch) for op in self.ops)
        return OneOfParams(choice=choice, children=children)

    def apply_masked(self, img: Tensor, params: OneOfParams) -> tuple[Tensor, Tensor | None]:
        """Apply each image's chosen child."""
        check_image(img)
        mask: Tensor | None = None
        choice = params.choice.cpu()
        for k, (op, child) in enumerate(zip(self.ops, params.children, strict=True)):
            img, mask = _apply_on(op, img, child, choice == k, mask)
        return img, mask

    def apply(self, img: Tensor, params: OneOfParams) -> Tensor:
        """Apply each image's chosen child: ``(B,3,H,W)`` float32 [0,1] -> same, [0,1]."""
        return self.apply_masked(img, params)[0].clone()


@dataclass(frozen=True)
class ShuffleParams:
    """Params of :class:`Shuffle`."""

    order: Tensor  # (B,n) int64, per-image permutation: order[b, step] = op index
    children: tuple[Any, ...]  # every op's params, sampled for the whole batch


class Shuffle(Degradation[ShuffleParams]):
    """Apply all ``ops`` in a random order, drawn per image (BOPBTL shuffles its four ops).

    Args:
        ops: the degradations to permute.
    """

    name = "shuffle"

    def __init__(self, ops: Sequence[Degradation[Any]]) -> None:
        self.ops = tuple(ops)

    def sample(self, gen: torch.Generator, batch: int) -> ShuffleParams:
        """Draw a permutation per image, then every op's params."""
        order = torch.argsort(torch.rand(batch, len(self.ops), generator=gen), dim=1)
        return ShuffleParams(order=order, children=tuple(op.sample(gen, batch) for op in self.ops))

    def apply_masked(self, img: Tensor, params: ShuffleParams) -> tuple[Tensor, Tensor | None]:
        """Run step by step; at each step every image runs the op its order names."""
        check_image(img)
        mask: Tensor | None = None
        order = params.order.cpu()
        for step in range(len(self.ops)):
            for k, (op, child) in enumerate(zip(self.ops, params.children, strict=True)):
                img, mask = _apply_on(op, img, child, order[:, step] == k, mask)
        return img, mask

    def apply(self, img: Tensor, params: ShuffleParams) -> Tensor:
        """Apply in each image's order: ``(B,3,H,W)`` float32 [0,1] -> same, [0,1]."""
        return self.apply_masked(img, params)[0].clone()


# --- running ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DegradeResult:
    """What a degradation run produced, with everything needed to replay it."""

    image: Tensor  # (B,3,H,W) float32 [0,1]
    mask: Tensor  # (B,1,H,W) float32 [0,1], zeros when no defect op fired
    params: Any  # the sampled params tree, replayable with replay()


def replay(op: Degradation[Any], img: Tensor, params: Any) -> DegradeResult:
    """Apply ``op`` with saved ``params``; bit-identical to the run that sampled them.

    Args:
        op: the degradation (leaf or composite).
        img: ``(B,3,H,W)`` float32 in [0, 1].
        params: params from ``op.sample`` (or a previous ``DegradeResult``).

    Returns:
        The degraded image, its defect mask and ``params``.
    """
    check_image(img)
    image, mask = op.apply_masked(img, params)
    if mask is None:
        mask = img.new_zeros(img.shape[0], 1, *img.shape[2:])
    if image is img:  # never hand the caller's tensor back as the result
        image = img.clone()
    return DegradeResult(image=image.clamp(0.0, 1.0), mask=mask.clamp(0.0, 1.0), params=params)


def run(op: Degradation[Any], img: Tensor, gen: torch.Generator) -> DegradeResult:
    """Sample params from ``gen`` and apply ``op``.

    Args:
        op: the degradation (leaf or composite).
        img: ``(B,3,H,W)`` float32 in [0, 1].
        gen: CPU generator, the only source of randomness.

    Returns:
        The degraded image, its ``(B,1,H,W)`` defect mask and the sampled params.
    """
    check_image(img)
    return replay(op, img, op.sample(gen, img.shape[0]))


def apply_to_target(op: Degradation[Any], img: Tensor, params: Any) -> Tensor:
    """Apply to a clean target only the ops flagged ``applies_to_target`` (e.g. grayscale).

    Each flagged op contributes its :meth:`~daguerre.degrade.base.Degradation.target`: the
    same change for grayscale, a desaturation for sepia toning (a toned print's truth is the
    neutral silver image underneath, not colours the toner replaced).

    A training pair whose input was turned black-and-white needs a black-and-white target,
    or the network learns to invent colour (BOPBTL converts both; GFPGAN ``gt_gray``). Each
    flagged op fires on exactly the images it fired on in the degraded run (inside a
    ``Shuffle`` flagged ops run in list order: they are meant to commute, like grayscale).

    Args:
        op: the degradation that produced ``params``.
        img: ``(B,3,H,W)`` float32 clean images in [0, 1].
        params: the params tree of that run.

    Returns:
        ``(B,3,H,W)`` float32 in [0, 1] (``img`` itself when no flagged op fired).
    """
    if isinstance(op, Sequential):
        for step, step_params in zip(op.steps, params.steps, strict=True):
            img = apply_to_target(step, img, step_params)
        return img
    if isinstance(op, Maybe):
        return _target_on(op.op, img, params.child, params.fire)
    if isinstance(op, OneOf | Shuffle):
        picks = (
            [params.choice == k for k in range(len(op.ops))]
            if isinstance(op, OneOf)
            else [torch.ones_like(params.order[:, 0], dtype=torch.bool)] * len(op.ops)
        )
        for child_op, child, fire in zip(op.ops, params.children, picks, strict=True):
            img = _target_on(child_op, img, child, fire)
        return img
    return op.target(img, params) if getattr(op, "applies_to_target", False) else img


def _target_on(op: Degradation[Any], img: Tensor, params: Any, fire: Tensor) -> Tensor:
    """``apply_to_target`` on the sub-batch where ``fire`` holds."""
    if not bool(fire.any()):
        return img
    index = torch.nonzero(fire.cpu()).flatten()
    rows = index.to(img.device)
    out = img.clone()
    out[rows] = apply_to_target(op, img[rows], select_params(params, index))
    return out
