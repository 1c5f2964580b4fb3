"""Reusable contract tests for every degradation op (``DegradationContract`` mixin).

Usage::

    class TestGaussianBlur(DegradationContract):
        build = staticmethod(lambda: GaussianBlur())
        # optional: params -> params with zero strength (must give the input back)
        zero_params = staticmethod(lambda p: dataclasses.replace(p, sigma=p.sigma * 0))

Class attributes a subclass may override:

* ``build``: ``() -> Degradation`` (required; a ``staticmethod`` or a plain method).
* ``zero_params``: ``(params) -> params`` mapping sampled params to zero strength, or ``None``.
* ``image_shape``: the test batch shape, default ``(2, 3, 32, 32)``.
* ``stochastic``: ``False`` for ops whose output does not depend on the seed (e.g. grayscale).
* ``check_batch_split``: ``False`` to skip "batch of 2 == two batches of 1".
* ``batch_atol``: tolerance of that check (0 = bit-identical).
* ``index_params``: ``(params, index) -> params`` selecting samples (default ``params_index``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch

from daguerre.degrade.base import Degradation, params_index


def make_image(shape: tuple[int, int, int, int], seed: int = 0) -> torch.Tensor:
    """A structured float32 image in [0, 1] with smooth areas, edges, pure black and pure white."""
    b, c, h, w = shape
    gen = torch.Generator("cpu").manual_seed(seed)
    base = torch.rand(b, c, max(h // 8, 2), max(w // 8, 2), generator=gen)
    img = torch.nn.functional.interpolate(base, size=(h, w), mode="bilinear", align_corners=False)
    img = img + 0.15 * torch.rand(b, c, h, w, generator=gen)  # some high-frequency texture
    img[:, :, : h // 8, : w // 8] = 0.0  # a black corner and a white corner exercise clamping
    img[:, :, -(h // 8) :, -(w // 8) :] = 1.0
    return img.clamp(0.0, 1.0).contiguous()


def _gen(seed: int) -> torch.Generator:
    return torch.Generator("cpu").manual_seed(seed)


class DegradationContract:
    """Mixin of contract tests; set ``build`` in the subclass (whose name starts with ``Test``)."""

    build: ClassVar[Callable[[], Degradation[Any]]]
    zero_params: ClassVar[Callable[[Any], Any] | None] = None
    image_shape: ClassVar[tuple[int, int, int, int]] = (2, 3, 32, 32)
    stochastic: ClassVar[bool] = True
    check_batch_split: ClassVar[bool] = True
    batch_atol: ClassVar[float] = 1e-6
    index_params: ClassVar[Callable[[Any, torch.Tensor], Any]] = staticmethod(params_index)

    # --- helpers ---------------------------------------------------------------------------

    def _image(self, seed: int = 0) -> torch.Tensor:
        return make_image(self.image_shape, seed)

    def _run(self, op: Degradation[Any], img: torch.Tensor, seed: int) -> torch.Tensor:
        return op.apply(img, op.sample(_gen(seed), img.shape[0]))

    # --- the contract ----------------------------------------------------------------------

    def test_shape_dtype_range(self) -> None:
        op = self.build()
        img = self._image()
        for seed in range(3):
            out = self._run(op, img, seed)
            assert out.shape == img.shape
            assert out.dtype == torch.float32
            assert torch.isfinite(out).all()
            assert out.min() >= 0.0 and out.max() <= 1.0

    def test_input_not_modified(self) -> None:
        op = self.build()
        img = self._image()
        before = img.clone()
        self._run(op, img, 0)
        assert torch.equal(img, before)

    def test_same_seed_bit_identical(self) -> None:
        op = self.build()
        img = self._image()
        assert torch.equal(self._run(op, img, 7), self._run(op, img, 7))

    def test_replay_params_identical(self) -> None:
        op = self.build()
        img = self._image()
        params = op.sample(_gen(3), img.shape[0])
        first = op.apply(img, params)
        second = self.build().apply(img.clone(), params)  # a fresh op object replays too
        assert torch.equal(first, second)

    def test_params_are_batched(self) -> None:
        op = self.build()
        params = op.sample(_gen(0), 3)
        fields = getattr(params, "__dataclass_fields__", {})
        for name in fields:
            value = getattr(params, name)
            if isinstance(value, torch.Tensor):
                assert value.shape[:1] == (3,), f"field {name} has shape {tuple(value.shape)}"

    def test_different_seeds_differ(self) -> None:
        if not self.stochastic:
            return
        op = self.build()
        img = self._image()
        outs = [self._run(op, img, seed) for seed in range(6)]
        assert any(not torch.equal(outs[0], other) for other in outs[1:])

    def test_batch_of_two_equals_two_of_one(self) -> None:
        if not self.check_batch_split:
            return
        op = self.build()
        img = self._image()
        params = op.sample(_gen(5), img.shape[0])
        whole = op.apply(img, params)
        for i in range(img.shape[0]):
            index = torch.tensor([i])
            single = op.apply(img[i : i + 1], self.index_params(params, index))
            torch.testing.assert_close(single, whole[i : i + 1], atol=self.batch_atol, rtol=0)

    def test_mask_contract(self) -> None:
        op = self.build()
        img = self._image()
        params = op.sample(_gen(2), img.shape[0])
        out, mask = op.apply_masked(img, params)
        assert torch.equal(out, op.apply(img, params))
        if mask is not None:
            assert mask.shape == (img.shape[0], 1, *img.shape[2:])
            assert mask.dtype == torch.float32
            assert mask.min() >= 0.0 and mask.max() <= 1.0

    def test_zero_strength_is_identity(self) -> None:
        if self.zero_params is None:
            return
        op = self.build()
        img = self._image()
        params = self.zero_params(op.sample(_gen(1), img.shape[0]))
        out = op.apply(img, params)
        assert math.isclose(float((out - img).abs().max()), 0.0, abs_tol=1e-6)
