import dataclasses

import torch

from daguerre.degrade.exposure import UnevenExposure
from tests.degrade.contract import DegradationContract


class TestUnevenExposure(DegradationContract):
    build = staticmethod(lambda: UnevenExposure())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, strength=p.strength * 0))


class TestLeaksAndStreaks(DegradationContract):
    build = staticmethod(lambda: UnevenExposure(leak_prob=1.0, streak_prob=1.0))


def _params(op: UnevenExposure, **fixed: object):  # noqa: ANN202
    params = op.sample(torch.Generator().manual_seed(0), 1)
    flat = dict(exposure=0.0, gamma=1.0, gain=0.0, tilt_x=0.0, tilt_y=0.0, streaks=0.0, leak=0.0)
    changes = {k: torch.full_like(getattr(params, k), v) for k, v in (flat | fixed).items()}  # type: ignore[arg-type]
    return dataclasses.replace(params, **changes)


def test_exposure_shift_scales_and_clips() -> None:
    op = UnevenExposure()
    img = torch.tensor([0.1, 0.3, 0.7]).view(1, 3, 1, 1).expand(1, 3, 8, 8).contiguous()
    out = op.apply(img, _params(op, exposure=1.0))
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([0.2, 0.6, 1.0]))


def test_gamma_above_one_darkens_midtones() -> None:
    op = UnevenExposure()
    img = torch.full((1, 3, 8, 8), 0.5)
    assert op.apply(img, _params(op, gamma=1.3)).mean() < 0.45


def test_tilt_makes_a_gradient() -> None:
    op = UnevenExposure()
    out = op.apply(torch.full((1, 3, 32, 32), 0.5), _params(op, tilt_x=0.3))
    assert out[0, 0, :, -1].mean() > out[0, 0, :, 0].mean() + 0.05


def test_light_leak_enters_from_its_edge_warm() -> None:
    op = UnevenExposure()
    img = torch.full((1, 3, 64, 64), 0.2)
    out = op.apply(img, _params(op, leak=0.8, leak_side=3))  # from the left
    left, right = out[0, :, :, :4].mean(dim=(1, 2)), out[0, :, :, -4:].mean(dim=(1, 2))
    assert left[0] > right[0] + 0.2
    assert left[0] > left[2]  # warm glow: red more than blue


def test_streaks_vary_along_the_edge() -> None:
    op = UnevenExposure()
    out = op.apply(torch.full((1, 3, 64, 64), 0.5), _params(op, streaks=0.2, leak_side=0))
    top, bottom = out[0, 0, :3], out[0, 0, -3:]
    assert top.std() > 3 * bottom.std() + 1e-4
