import dataclasses

import numpy as np
import torch

from daguerre.degrade.fields import Draw
from daguerre.degrade.tears import FILLS, Tears, jagged_path, tear_shape
from tests.degrade.contract import DegradationContract


class TestTears(DegradationContract):
    build = staticmethod(lambda: Tears())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, count=p.count * 0))
    image_shape = (2, 3, 48, 48)


def _run(img: torch.Tensor, seed: int = 0, **fixed: object):  # noqa: ANN202
    op = Tears()
    params = op.sample(torch.Generator().manual_seed(seed), img.shape[0])
    changes = {k: torch.full_like(getattr(params, k), v) for k, v in fixed.items()}  # type: ignore[arg-type]
    return op.apply_masked(img, dataclasses.replace(params, **changes))


def test_missing_corner_is_filled_with_backing_and_masked() -> None:
    img = torch.full((1, 3, 96, 96), 0.5)
    dark = FILLS.index("dark")
    out, mask = _run(img, count=1, corner=1.0, size=0.25, fill=dark)
    hole = mask[0, 0] > 0.99
    assert hole.float().mean() > 0.01
    assert out[0][:, hole].max() < 0.25
    corners = [mask[0, 0, 0, 0], mask[0, 0, 0, -1], mask[0, 0, -1, 0], mask[0, 0, -1, -1]]
    assert max(float(c) for c in corners) == 1.0  # the hole reaches a corner
    untouched = (mask == 0).expand_as(img)
    assert torch.equal(out[untouched], img[untouched])


def test_torn_edge_touches_the_border_only_on_one_side() -> None:
    img = torch.full((1, 3, 96, 96), 0.5)
    _, mask = _run(img, seed=2, count=1, corner=0.0, size=0.2)
    m = mask[0, 0] > 0.5
    edges = [m[0].any(), m[-1].any(), m[:, 0].any(), m[:, -1].any()]
    assert any(edges) and not m[40:56, 40:56].any()


def test_jagged_path_is_fine_and_connects_its_ends() -> None:
    path = jagged_path(Draw(0), np.array([0.0, 0.0]), np.array([50.0, 0.0]), 0.3)
    assert np.allclose(path[0], [0, 0]) and np.allclose(path[-1], [50, 0])
    steps = np.hypot(*np.diff(path, axis=0).T)
    assert steps.max() < 1.5 and np.abs(path[:, 1]).max() > 1.0  # jagged, not straight


def test_tear_shape_polygon_encloses_its_path() -> None:
    polygon, path = tear_shape(Draw(5), 64, 64, corner=True, depth=15.0, rough=0.3)
    assert len(polygon) == len(path) + 1
