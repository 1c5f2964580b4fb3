"""Exam degradations: seeded, in range, exact scratch masks, written apart from the engine."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import types
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from daguerre.errors import UnknownNameError
from daguerre.metrics import exam as exam_module
from daguerre.metrics.exam import EXAMS, degrade_exam, exam, exam_bands, exam_scratches


def _photo(seed: int = 0, h: int = 72, w: int = 96) -> torch.Tensor:
    """(3,h,w) smooth colour photo with some texture, in [0,1]."""
    gen = torch.Generator().manual_seed(seed)
    base = torch.rand(1, 3, 6, 8, generator=gen)
    smooth = F.interpolate(base, size=(h, w), mode="bicubic", align_corners=False)[0]
    return (0.1 + 0.8 * smooth + 0.05 * torch.rand(3, h, w, generator=gen)).clamp(0, 1)


@pytest.mark.parametrize("name", sorted(EXAMS))
def test_same_seed_same_bytes_other_seed_differs(name: str) -> None:
    img = _photo()
    first, first_mask = degrade_exam(name, img, 123)
    again, again_mask = degrade_exam(name, img.clone(), 123)
    assert torch.equal(first, again) and torch.equal(first_mask, again_mask)
    from_generator = degrade_exam(name, img, np.random.default_rng(123))[0]
    assert torch.equal(first, from_generator)  # a seed and its generator are the same draw
    other = degrade_exam(name, img, 124)[0]
    assert not torch.equal(first, other)


@pytest.mark.parametrize("name", sorted(EXAMS))
@pytest.mark.parametrize("size", [(72, 96), (17, 9), (1, 5), (64, 64)])
def test_shape_dtype_range(name: str, size: tuple[int, int]) -> None:
    img = _photo(1, *size)
    for seed in range(12):
        damaged, mask = degrade_exam(name, img, seed)
        assert damaged.shape == img.shape and damaged.dtype == torch.float32
        assert mask.shape == (1, *size) and mask.dtype == torch.float32
        assert 0.0 <= damaged.min() and damaged.max() <= 1.0
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(img, _photo(1, *size))  # the input is left alone


def test_out_of_range_input_is_clipped_and_bad_inputs_raise() -> None:
    img = _photo() * 1.5 - 0.2
    damaged, _ = exam(img, 0)
    assert 0.0 <= damaged.min() and damaged.max() <= 1.0
    with pytest.raises(ValueError, match=r"\(3,H,W\)"):
        exam(_photo()[None], 0)
    with pytest.raises(ValueError, match="float"):
        exam_scratches((_photo() * 255).to(torch.uint8), 0)
    with pytest.raises(TypeError, match="seed"):
        exam(_photo(), 1.5)  # type: ignore[arg-type]
    with pytest.raises(UnknownNameError, match="exam-scratches"):
        degrade_exam("exams", _photo(), 0)


def test_exam_fades_contrast_and_keeps_size() -> None:
    black, white = torch.zeros(3, 48, 48), torch.ones(3, 48, 48)
    for seed in range(20):
        lifted = exam(black, seed)[0]
        lowered = exam(white, seed)[0]
        # levels squeeze: black point >= 0.02 and white point <= 0.98 before grain and marks
        assert lifted.median() > 0.015 and lowered.median() < 0.985
        assert (lowered.mean() - lifted.mean()) < 0.97


def test_exam_casts_are_warm_or_absent() -> None:
    gray = torch.full((3, 48, 48), 0.6)
    warm = 0
    for seed in range(40):
        red, green, blue = exam(gray, seed)[0].mean(dim=(1, 2)).tolist()
        warm += red > blue + 0.03
        assert blue < red + 0.08  # never a cold cast (per-channel jitter is +-0.03)
    assert 15 <= warm <= 38  # sepia or tint in about 75 % of photos


def test_exam_changes_every_photo_but_stays_recognisable() -> None:
    img = _photo(2, 128, 160)
    luma = torch.tensor([0.299, 0.587, 0.114])[:, None, None]
    for seed in range(10):
        damaged = exam(img, seed)[0]
        assert (damaged - img).abs().mean() > 0.01
        centred = [(x * luma).sum(0) for x in (damaged, img)]
        centred = [x - x.mean() for x in centred]
        corr = (centred[0] * centred[1]).sum() / (centred[0].norm() * centred[1].norm())
        assert corr > 0.6  # the photo survives in luma (a fade, not garbage; sepia drops hue)


def test_scratch_mask_covers_every_changed_pixel_and_marks_exist() -> None:
    img = _photo(3, 128, 160)
    for seed in range(15):
        damaged, mask = exam_scratches(img, seed)
        changed = (damaged - img).abs().amax(dim=0, keepdim=True)
        assert not ((changed > 0.05) & (mask == 0)).any()
        assert torch.equal(damaged[:, mask[0] == 0], img[:, mask[0] == 0])  # exact, not 0.05
        assert mask.sum() >= 60  # at least two scratches of a few dozen pixels
        assert (changed[mask > 0] > 0.1).float().mean() > 0.5  # masked pixels visibly hit
        assert mask.mean() < 0.4


def test_scratches_are_thin_and_both_bright_and_dark() -> None:
    img = torch.full((3, 160, 160), 0.5)
    bright = dark = 0
    for seed in range(20):
        damaged, mask = exam_scratches(img, seed)
        delta = (damaged - img)[0][mask[0] > 0]
        bright += int((delta > 0.2).sum())
        dark += int((delta < -0.2).sum())
        # thin lines: eroding the mask by a 7x7 window leaves almost nothing
        eroded = -F.max_pool2d(-mask[None], 7, stride=1, padding=3)[0]
        assert eroded.sum() <= 0.05 * mask.sum()
    assert bright > 2 * dark > 0  # 70 % of scratches bright, specks half and half


def test_bands_are_wide_exact_and_hide_what_lies_under_them() -> None:
    img = _photo(4, 128, 160)
    widest = 0.0
    for seed in range(20):
        damaged, mask = exam_bands(img, seed)
        assert torch.equal(damaged[:, mask[0] == 0], img[:, mask[0] == 0])  # exact mask
        assert mask.sum() > 0 and mask.mean() < 0.5
        # what survives a 7x7 erosion: the core of bands wider than ~7 px
        eroded = -F.max_pool2d(-mask[None], 7, stride=1, padding=3)[0]
        widest = max(widest, float(eroded.sum() / mask.sum()))
        core = eroded[0] > 0
        if core.any():  # an opaque band's core tells little of the photo beneath
            assert (damaged[:, core] - img[:, core]).abs().mean() > 0.15
    assert widest > 0.3  # some bands are far wider than the scratch exam's 1-4 px


def test_exam_steps_run_with_their_probabilities_in_random_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def spy(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def step(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return real(*args, **kwargs)

        return step

    for name in ("_blur", "_noise", "_jpeg", "_sepia", "_grain"):
        monkeypatch.setattr(exam_module, name, spy(name, getattr(exam_module, name)))
    img, runs, orders = _photo(4, 24, 32), 300, set()
    counts = dict.fromkeys(("_blur", "_noise", "_jpeg", "_sepia", "_grain"), 0)
    for seed in range(runs):
        calls.clear()
        exam(img, seed)
        for name in set(calls):
            counts[name] += 1
        orders.add(tuple(name for name in calls if name in ("_blur", "_noise", "_jpeg")))
    for name in ("_blur", "_noise", "_jpeg"):
        assert 0.5 < counts[name] / runs < 0.7, (name, counts)  # p 0.6 each
    assert 0.4 < counts["_sepia"] / runs < 0.6 and 0.6 < counts["_grain"] / runs < 0.8
    assert len([order for order in orders if len(order) == 3]) == 6  # every order occurs


def test_exam_module_imports_nothing_from_degrade() -> None:
    source = inspect.getsource(exam_module)
    tree = ast.parse(source)
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append(node.module or "")
    assert imported and not [name for name in imported if name.startswith("daguerre.degrade")]
    assert "import_module" not in source and "__import__" not in source  # no hidden imports
    for value in vars(exam_module).values():
        module = value.__name__ if isinstance(value, types.ModuleType) else None
        module = module or getattr(value, "__module__", None) or ""
        assert not str(module).startswith("daguerre.degrade"), value


def test_importing_the_exam_loads_no_degrade_module() -> None:
    code = (
        "import sys, daguerre.metrics.exam\n"
        "print(sorted(m for m in sys.modules if m.startswith('daguerre.degrade')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
