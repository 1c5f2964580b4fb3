import dataclasses
import time

import numpy as np
import torch

from daguerre.degrade.craquelure import MAX_CELLS, Craquelure, craquelure_net
from daguerre.degrade.fields import Draw
from tests.degrade.contract import DegradationContract


class TestCraquelure(DegradationContract):
    build = staticmethod(lambda: Craquelure())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, active=p.active & False))
    image_shape = (2, 3, 48, 48)


def _run(img: torch.Tensor, seed: int = 0, op: Craquelure | None = None, **fixed: float):  # noqa: ANN202
    op = op or Craquelure(bright=1.0)
    params = op.sample(torch.Generator().manual_seed(seed), img.shape[0])
    changes = {k: torch.full_like(getattr(params, k), v) for k, v in fixed.items()}
    return op.apply_masked(img, dataclasses.replace(params, **changes))


def _net(height: int, width: int, seed: int = 4, **kw: float) -> list:
    args = {"cell": 0.15, "keep": 1.0, "coverage": 3.0, "width_px": 1.0, "opacity": 1.0} | kw
    return craquelure_net(Draw(seed), height, width, **args)


def test_net_is_thin_light_lines_and_the_mask_marks_them() -> None:
    img = torch.full((1, 3, 160, 160), 0.3)
    out, mask = _run(img, coverage=3.0, keep=0.9, intensity=1.0, match=0.0)
    marked = mask[0, 0] > 0.25
    assert 0.01 < marked.float().mean() < 0.25  # hairlines over the whole print, not a wash
    assert out[0][:, marked].mean() > 0.55  # bare paper shows through
    assert torch.equal(out[0][:, mask[0, 0] == 0], img[0][:, mask[0, 0] == 0])  # rest untouched


def test_matched_nets_take_the_prints_own_whites() -> None:
    """A yellowed print's cracks show its yellowed paper, no whiter than its highlights."""
    img = torch.full((1, 3, 128, 128), 0.3)
    img[..., :16, :] = torch.tensor([0.9, 0.8, 0.6]).view(1, 3, 1, 1)  # the print's whites
    out, mask = _run(img, coverage=3.0, intensity=1.0, match=1.0)
    alpha = mask[0, 0]
    level = (out[0] - (1 - alpha) * img[0]) / alpha.clamp_min(1e-6)  # the colour blended in
    crack = level[:, (alpha > 0.5) & (img[0, 0] < 0.5)].mean(1)
    assert torch.allclose(crack, torch.tensor([0.9, 0.8, 0.6]), atol=0.05)


def test_dark_nets_darken() -> None:
    img = torch.full((1, 3, 96, 96), 0.6)
    out, mask = _run(img, coverage=3.0, bright=0.0, intensity=1.0)
    assert out[0][:, mask[0, 0] > 0.5].mean() < 0.4


def test_walls_close_into_cells() -> None:
    """Every wall ends where other walls meet it (three-way junctions), unlike a free web."""
    strokes = _net(300, 300)
    ends = np.round(np.concatenate([[s.points[0], s.points[-1]] for s in strokes]), 1)
    _, counts = np.unique(ends, axis=0, return_counts=True)
    inside = [(0 < x < 300 and 0 < y < 300) for x, y in np.unique(ends, axis=0)]
    assert len(strokes) > 20
    assert (counts[np.array(inside)] >= 3).mean() > 0.9


def test_keep_breaks_the_net_and_coverage_bounds_the_patch() -> None:
    assert len(_net(200, 200, keep=0.3)) < 0.5 * len(_net(200, 200))
    img = torch.full((1, 3, 200, 200), 0.3)
    patch = _run(img, coverage=0.4, keep=1.0)[1][0, 0] > 0.25
    whole = _run(img, coverage=3.0, keep=1.0)[1][0, 0] > 0.25
    assert 0 < patch.sum() < 0.4 * whole.sum()
    rows, cols = patch.nonzero().T
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) < 150  # one compact patch


def test_cells_scale_with_the_image() -> None:
    small, big = _net(150, 250), _net(600, 1000)
    assert abs(len(small) - len(big)) <= 0.1 * len(small)


def test_net_size_is_bounded_on_a_huge_image() -> None:
    start = time.perf_counter()
    strokes = _net(20000, 20000, cell=0.001)
    assert len(strokes) <= 3 * MAX_CELLS + 50
    assert max(len(s.points) for s in strokes) <= 201
    assert time.perf_counter() - start < 10.0


def test_cream_nets_show_yellowed_card() -> None:
    """Cream paper: light but warm, its blue well below its red, whatever the print's whites."""
    img = torch.full((1, 3, 128, 128), 0.2)
    for seed in range(4):
        op = Craquelure(bright=1.0, cream=1.0)
        out, mask = _run(img, seed, op=op, coverage=3.0, intensity=1.0, match=1.0)
        alpha = mask[0, 0]
        level = (out[0] - (1 - alpha) * img[0]) / alpha.clamp_min(1e-6)
        red, green, blue = level[:, alpha > 0.9].mean(1)
        assert red > 0.8 and blue < 0.87 * red and blue < green < red


def test_rims_darken_both_sides_and_join_the_mask() -> None:
    img = torch.full((1, 3, 160, 160), 0.5)
    plain, plain_mask = _run(img, 3, coverage=3.0, intensity=1.0, match=0.0)
    op = Craquelure(bright=1.0, rim=1.0)
    out, mask = _run(img, 3, op=op, coverage=3.0, intensity=1.0, match=0.0)
    band = (mask[0, 0] > 0.1) & (plain_mask[0, 0] < 0.01)  # marked only because of the rim
    assert band.float().mean() > 0.01
    assert out[0][:, band].mean() < 0.49 and out[0][:, band].min() < 0.45  # darker than the print
    assert torch.equal(out[0][:, mask[0, 0] == 0], img[0][:, mask[0, 0] == 0])  # rest untouched
    assert torch.equal(mask[0, 0] >= plain_mask[0, 0], torch.ones_like(band))  # cracks kept
