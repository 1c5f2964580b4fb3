import dataclasses

import torch

from daguerre.degrade.scratches import Scratches
from tests.degrade.contract import DegradationContract


class TestScratches(DegradationContract):
    build = staticmethod(lambda: Scratches())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, count=p.count * 0))
    image_shape = (2, 3, 48, 48)


def _run(op: Scratches, img: torch.Tensor, seed: int = 0, **fixed: object):  # noqa: ANN202
    params = op.sample(torch.Generator().manual_seed(seed), img.shape[0])
    changes = {k: torch.full_like(getattr(params, k), v) for k, v in fixed.items()}  # type: ignore[arg-type]
    return op.apply_masked(img, dataclasses.replace(params, **changes))


def test_mask_is_nonempty_and_marks_exactly_the_changed_pixels() -> None:
    img = torch.full((2, 3, 64, 64), 0.4)
    out, mask = _run(Scratches(), img, count=4)
    assert mask.shape == (2, 1, 64, 64) and mask.dtype == torch.float32
    assert (mask > 0.25).float().mean(dim=(1, 2, 3)).min() > 0.002
    untouched = (mask == 0).expand_as(img)
    assert torch.equal(out[untouched], img[untouched])
    assert (out - img).abs().amax(dim=1, keepdim=True)[mask > 0.5].min() > 0.05


def test_no_scratches_no_mask() -> None:
    img = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    out, mask = _run(Scratches(), img, count=0)
    assert torch.equal(out, img) and mask.sum() == 0


def test_coverage_grows_with_count() -> None:
    img = torch.full((1, 3, 96, 96), 0.5)
    coverage = []
    for count in (1, 4, 16):
        runs = [_run(Scratches(), img, seed, count=count)[1].mean() for seed in range(4)]
        coverage.append(float(torch.stack(runs).mean()))
    assert coverage[0] < coverage[1] < coverage[2]


def test_light_and_dark_polarity() -> None:
    img = torch.full((1, 3, 64, 64), 0.5)
    out, mask = _run(Scratches(), img, count=6, bright=1.0, intensity=1.0)
    assert out[mask.expand_as(out) > 0.8].mean() > 0.8
    out, mask = _run(Scratches(), img, count=6, bright=0.0, intensity=1.0)
    assert out[mask.expand_as(out) > 0.8].mean() < 0.25


def test_scratches_are_long_and_thin() -> None:
    img = torch.full((1, 3, 128, 128), 0.5)
    _, mask = _run(Scratches(), img, count=1, width=1.0, breakup=0.0, curvature=0.0)
    hit = (mask[0, 0] > 0.25).nonzero().float()
    extent = (hit.max(dim=0).values - hit.min(dim=0).values).max()
    assert extent > 15 and len(hit) < 0.2 * 128 * 128
