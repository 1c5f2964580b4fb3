import dataclasses

import numpy as np
import torch

from daguerre.degrade.cracks import MAX_STROKES, Cracks, crack_web
from daguerre.degrade.fields import Draw
from tests.degrade.contract import DegradationContract


class TestCracks(DegradationContract):
    build = staticmethod(lambda: Cracks())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, count=p.count * 0))
    image_shape = (2, 3, 48, 48)


def _run(img: torch.Tensor, seed: int = 0, **fixed: float):  # noqa: ANN202
    op = Cracks(bright=1.0)
    params = op.sample(torch.Generator().manual_seed(seed), img.shape[0])
    changes = {k: torch.full_like(getattr(params, k), v) for k, v in fixed.items()}
    return op.apply_masked(img, dataclasses.replace(params, **changes))


def test_cracks_are_thin_light_lines_and_the_mask_marks_them() -> None:
    img = torch.full((1, 3, 128, 128), 0.3)
    out, mask = _run(img, count=3, intensity=1.0)
    marked = mask[0, 0] > 0.25
    assert 0.002 < marked.float().mean() < 0.15  # hairlines, not a wash
    assert out[0][:, marked].mean() > 0.55  # bare paper shows through
    assert torch.equal(out[0][:, mask[0, 0] == 0], img[0][:, mask[0, 0] == 0])  # rest untouched


def test_branching_adds_strokes() -> None:
    plain = crack_web(Draw(5), 200, 200, reach=0.8, branching=0.0, width_px=1.0, opacity=1.0)
    web = crack_web(Draw(5), 200, 200, reach=0.8, branching=0.1, width_px=1.0, opacity=1.0)
    assert len(plain) == 1 and len(web) > 3
    main = web[0]
    assert all(float(s.widths.max()) <= float(main.widths.max()) * 1.6 for s in web[1:])


def test_web_size_is_bounded_on_a_huge_image() -> None:
    web = crack_web(Draw(1), 20000, 20000, reach=1.0, branching=1.0, width_px=1.0, opacity=1.0)
    assert len(web) <= MAX_STROKES
    assert max(len(s.points) for s in web) <= 600


def test_main_crack_is_jagged_but_keeps_its_heading() -> None:
    stroke = crack_web(Draw(2), 400, 400, reach=0.6, branching=0.0, width_px=1.0, opacity=1.0)[0]
    steps = np.diff(stroke.points, axis=0)
    travelled = float(np.linalg.norm(steps, axis=1).sum())
    span = float(np.linalg.norm(stroke.points[-1] - stroke.points[0]))
    assert 0.5 * travelled < span < 0.99 * travelled  # wanders, yet goes somewhere
