import dataclasses

import torch

from daguerre.degrade.dust import Dust
from tests.degrade.contract import DegradationContract


class TestDust(DegradationContract):
    build = staticmethod(lambda: Dust())
    zero_params = staticmethod(
        lambda p: dataclasses.replace(p, density=p.density * 0, fibres=p.fibres * 0)
    )
    image_shape = (2, 3, 48, 48)


def _run(img: torch.Tensor, seed: int = 0, **fixed: object):  # noqa: ANN202
    op = Dust()
    params = op.sample(torch.Generator().manual_seed(seed), img.shape[0])
    changes = {k: torch.full_like(getattr(params, k), v) for k, v in fixed.items()}  # type: ignore[arg-type]
    return op.apply_masked(img, dataclasses.replace(params, **changes))


def test_white_specks_on_a_dark_print() -> None:
    img = torch.full((1, 3, 128, 128), 0.1)
    out, mask = _run(img, density=100.0, fibres=0.0, dark=0.0)
    assert (mask > 0.25).sum() > 20
    assert out[mask.expand_as(out) > 0.9].min() > 0.6
    untouched = (mask == 0).expand_as(img)
    assert torch.equal(out[untouched], img[untouched])


def test_dark_specks_on_a_light_print() -> None:
    img = torch.full((1, 3, 128, 128), 0.9)
    out, mask = _run(img, density=100.0, fibres=0.0, dark=1.0)
    assert out[mask.expand_as(out) > 0.9].max() < 0.4


def test_speck_sizes_are_heavy_tailed() -> None:
    import cv2

    img = torch.zeros(1, 3, 256, 256)
    _, mask = _run(img, density=120.0, fibres=0.0, size=1.0)
    binary = (mask[0, 0] > 0.25).numpy().astype("uint8")
    count, _, stats, _ = cv2.connectedComponentsWithStats(binary)
    areas = torch.tensor(stats[1:, cv2.CC_STAT_AREA], dtype=torch.float32)
    assert count > 30
    assert areas.median() <= 4 and areas.max() >= 12  # mostly 1-2 px, a few big ones


def test_count_scales_with_area_and_fibres_add_coverage() -> None:
    small = _run(torch.zeros(1, 3, 64, 64), density=80.0, fibres=0.0)[1]
    large = _run(torch.zeros(1, 3, 128, 128), density=80.0, fibres=0.0)[1]
    assert 2.0 < float(large.sum() / small.sum().clamp_min(1e-6)) < 8.0
    with_fibres = _run(torch.zeros(1, 3, 128, 128), density=0.0, fibres=6.0)[1]
    assert with_fibres.sum() > 5
