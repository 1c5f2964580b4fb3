"""Touched-up scratch masks: the detector's mask, red strokes added, green strokes kept."""

from __future__ import annotations

import numpy as np
import torch

from daguerre.web.touchup import (
    Detected,
    preview_size,
    shrink_mask,
    strokes,
    tinted_preview,
    touched_mask,
)

RED = (255, 0, 0, 255)
GREEN = (0, 192, 0, 255)


def _detected(height: int = 120, width: int = 200, side: int = 50) -> Detected:
    mask = torch.zeros(1, height, width, dtype=torch.bool)
    mask[0, 30, 10:190] = True  # a 1 px hairline
    mask[0, 60:90, 100:104] = True  # a short thick stroke
    return Detected("a.png", mask, preview_size(height, width, side))


def _layer(size: tuple[int, int] = (30, 50)) -> np.ndarray:
    return np.zeros((*size, 4), dtype=np.uint8)


def test_preview_keeps_the_aspect_and_never_enlarges() -> None:
    assert preview_size(120, 200, 50) == (30, 50)
    assert preview_size(20, 10, 1024) == (20, 10)


def test_shrunk_mask_keeps_hairlines_and_the_preview_shows_them() -> None:
    detected = _detected()
    small = shrink_mask(detected.mask, detected.preview)
    assert small.shape == (30, 50)
    assert small[7].sum() >= 40  # the 1 px line at 1/4 scale is still a line
    photo = np.full((30, 50, 3), 100, dtype=np.uint8)
    tinted = tinted_preview(photo, small)
    assert tinted.dtype == np.uint8 and tinted.shape == (30, 50, 3)
    assert tinted[7, 20, 0] > 150 and tinted[7, 20, 1] < 60  # marked: red
    assert (tinted[0, 0] == 100).all()  # unmarked: the photo


def test_no_strokes_give_back_the_full_resolution_mask() -> None:
    detected = _detected()
    out = touched_mask(detected, [], (120, 200))
    assert out.shape == (1, 120, 200) and out.dtype == torch.float32
    assert torch.equal(out > 0.5, detected.mask)  # exact, not the preview's coarse pixels
    assert torch.equal(touched_mask(detected, [_layer()], (120, 200)), out)


def test_green_keeps_and_red_adds() -> None:
    detected = _detected()
    layer = _layer()
    layer[:, :25] = GREEN  # the left half is real detail
    layer[20:22, 30:35] = RED  # damage the detector missed
    out = touched_mask(detected, [layer], (120, 200))[0] > 0.5
    assert not out[:, :100].any()
    assert out[30, 100:190].all()  # the rest of the hairline stays, 1 px thin
    assert int(out[30].sum()) == 90 and not out[29, 104:190].any()
    assert out[80:88, 120:140].all() and int(out[80:88, 110:].sum()) == 8 * 20  # 4x enlarged
    assert torch.equal(out[60:80, 100:104], detected.mask[0, 60:80, 100:104])


def test_strokes_split_colours_and_match_sizes() -> None:
    layer = _layer((10, 20))
    layer[2:4, 5:8] = RED
    layer[6, 1:3] = GREEN
    add, keep = strokes([layer], (10, 20))
    assert int(add.sum()) == 6 and int(keep.sum()) == 2 and not (add & keep).any()
    big = np.repeat(np.repeat(layer, 2, axis=0), 2, axis=1)  # returned at twice the size
    big_add, big_keep = strokes([big], (10, 20))
    assert torch.equal(big_add, add) and torch.equal(big_keep, keep)
    assert strokes([np.zeros((10, 20, 3), np.uint8)], (10, 20))[0].sum() == 0  # no alpha
    out = touched_mask(None, [layer], (40, 80))[0] > 0.5  # without detection: red only
    assert int(out.sum()) == 6 * 16 and out[8:16, 20:32].all()
