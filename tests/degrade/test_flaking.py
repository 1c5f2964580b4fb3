import dataclasses
import time

import numpy as np
import torch

from daguerre.degrade.craquelure import paper_white
from daguerre.degrade.fields import Draw, edge_distance
from daguerre.degrade.flaking import (
    MAX_FLAKES,
    Flaking,
    border_anchor,
    line_anchor,
    scatter_flakes,
)
from tests.degrade.contract import DegradationContract


class TestFlaking(DegradationContract):
    build = staticmethod(lambda: Flaking())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, active=p.active & False))
    image_shape = (2, 3, 48, 48)


def _run(img: torch.Tensor, seed: int = 0, **fixed: float):  # noqa: ANN202
    op = Flaking()
    params = op.sample(torch.Generator().manual_seed(seed), img.shape[0])
    changes = {k: torch.full_like(getattr(params, k), v) for k, v in fixed.items()}
    return op.apply_masked(img, dataclasses.replace(params, **changes))


def test_flakes_show_white_paper_and_the_mask_marks_them() -> None:
    img = torch.full((1, 3, 160, 160), 0.25)
    out, mask = _run(img, border=0.0, match=0.0, intensity=1.0, count=20.0)
    marked = mask[0, 0] > 0.25
    assert 0.003 < marked.float().mean() < 0.3
    assert out[0][:, mask[0, 0] > 0.9].mean() > 0.8  # bare, near-white paper
    untouched = mask[0, 0] == 0
    assert torch.equal(out[0][:, untouched], img[0][:, untouched])


def test_matched_flakes_take_the_prints_own_whites() -> None:
    """A yellowed print's flakes are as yellow as its highlights, not whiter."""
    gen = torch.Generator().manual_seed(3)
    img = torch.rand(1, 1, 96, 96, generator=gen) * torch.tensor([0.9, 0.8, 0.6]).view(1, 3, 1, 1)
    out, mask = _run(img, match=1.0, intensity=1.0, count=25.0)
    solid = mask[0, 0] > 0.95
    assert solid.any()
    colour = out[0][:, solid].mean(dim=1)
    white = paper_white(img).flatten()
    assert torch.allclose(colour, white, atol=0.05)
    assert colour[2] < colour[0] - 0.1  # yellow, like the paper


def test_border_flakes_crowd_the_edges() -> None:
    img = torch.full((1, 3, 128, 128), 0.3)
    _, mask = _run(img, border=1.0, count=20.0, spread=0.03)
    edge = edge_distance(128, 128)[0, 0]
    marked = mask[0, 0] > 0.25
    near, far = marked[edge < 0.1].float().mean(), marked[edge > 0.25].float().mean()
    assert near > 0.02 and near > 10 * far


def test_line_flakes_crowd_their_line() -> None:
    draw = Draw(5)
    anchor = line_anchor(draw, 200, 300)
    assert anchor.shape[1] == 2 and len(anchor) >= 8
    centers, radii = scatter_flakes(draw, anchor, count=10.0, spread=5.0, largest=8.0)
    gaps = np.linalg.norm(centers[:, None] - anchor[None], axis=-1).min(axis=1)
    assert np.median(gaps) < 10.0  # scattered around the line, not over the print
    assert radii.max() <= 8.0 and radii.min() >= 0.8
    assert (radii < 2.0).mean() > 0.5  # many chips, a few big flakes


def test_border_anchor_traces_the_outline() -> None:
    outline = border_anchor(40, 60)
    xs, ys = outline[:, 0], outline[:, 1]
    on_edge = (xs == 0) | (ys == 0) | (np.isclose(xs, 59)) | (np.isclose(ys, 39))
    assert on_edge.all() and xs.max() > 55 and ys.max() > 35


def test_flake_count_is_bounded_on_a_huge_image() -> None:
    draw = Draw(1)
    start = time.perf_counter()
    centers, _ = scatter_flakes(
        draw, border_anchor(20000, 30000), count=25.0, spread=50.0, largest=200.0
    )
    assert len(centers) == MAX_FLAKES
    assert time.perf_counter() - start < 1.0
