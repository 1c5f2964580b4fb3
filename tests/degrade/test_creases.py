import dataclasses

import numpy as np
import torch

from daguerre.degrade.creases import Creases, crack_strokes, crease_path
from daguerre.degrade.fields import Draw
from tests.degrade.contract import DegradationContract


class TestCreases(DegradationContract):
    build = staticmethod(lambda: Creases())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, count=p.count * 0))
    image_shape = (2, 3, 48, 48)


def _run(img: torch.Tensor, seed: int = 0, **fixed: object):  # noqa: ANN202
    op = Creases()
    params = op.sample(torch.Generator().manual_seed(seed), img.shape[0])
    changes = {k: torch.full_like(getattr(params, k), v) for k, v in fixed.items()}  # type: ignore[arg-type]
    return op.apply_masked(img, dataclasses.replace(params, **changes))


def test_crease_mask_is_a_thin_light_line() -> None:
    img = torch.full((1, 3, 96, 96), 0.3)
    out, mask = _run(img, count=1, corner=0.0, shift=0.0)
    core = mask[0, 0] > 0.5
    assert 0.005 < core.float().mean() < 0.2
    assert out[0][:, core].mean() > 0.7  # bare paper shows through
    far = mask[0, 0] == 0
    assert (out[0][:, far] - 0.3).abs().max() < 0.12  # only shading away from the cracks


def test_fold_shades_one_side_lighter_and_the_other_darker() -> None:
    img = torch.full((1, 3, 96, 96), 0.5)
    out, mask = _run(img, count=1, corner=0.0, shade=0.1, shift=0.0)
    shaded = out[0, 0][mask[0, 0] == 0]
    assert shaded.max() > 0.52 and shaded.min() < 0.48


def test_corner_crease_stays_near_a_corner() -> None:
    points = crease_path(Draw(3), 100, 100, corner=True)
    corners = np.array([[0, 0], [100, 0], [100, 100], [0, 100]])
    nearest = np.linalg.norm(points[:, None, :] - corners[None], axis=-1).min(axis=1)
    assert nearest.max() < 100


def test_full_crease_crosses_the_image() -> None:
    points = crease_path(Draw(1), 64, 80, corner=False)
    start, end = points[0], points[-1]
    on_border = lambda p: min(p[0], 80 - p[0], p[1], 64 - p[1]) < 5  # noqa: E731
    assert on_border(start) and on_border(end)
    assert len(crack_strokes(Draw(0), points, density=1.0)) > 3


def test_shift_displaces_the_picture() -> None:
    img = torch.linspace(0, 1, 64).view(1, 1, 1, 64).expand(1, 3, 64, 64).contiguous()
    still, _ = _run(img, count=1, shift=0.0, shade=0.0, cracks=0.0)
    moved, _ = _run(img, count=1, shift=1.2, shade=0.0, cracks=0.0)
    assert (moved - still).abs().max() > 0.005
