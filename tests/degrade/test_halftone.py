import dataclasses

import torch

from daguerre.degrade.halftone import Halftone
from tests.degrade.contract import DegradationContract


class TestHalftone(DegradationContract):
    build = staticmethod(lambda: Halftone())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, strength=p.strength * 0))


class TestColourHalftone(DegradationContract):
    build = staticmethod(lambda: Halftone(colour=1.0))


def _params(op: Halftone, batch: int, **fixed: object):  # noqa: ANN202
    params = op.sample(torch.Generator().manual_seed(0), batch)
    changes = {k: torch.full_like(getattr(params, k), v) for k, v in fixed.items()}  # type: ignore[arg-type]
    return dataclasses.replace(params, **changes)


def test_mono_halftone_is_nearly_binary_and_keeps_tone() -> None:
    op = Halftone()
    img = torch.full((1, 3, 64, 64), 0.6)
    params = _params(op, 1, strength=1.0, colour=False, dot_gain=0.0, paper=0.0, period=6.0)
    out = op.apply(img, params)[0, 0]
    extreme = ((out > 0.9) | (out < 0.2)).float().mean()
    assert extreme > 0.6  # dots and paper, few in-between pixels
    assert abs(float(out.mean()) - (1 - 0.4 * 0.9)) < 0.05  # 40 % ink of 90 % absorption


def test_dot_gain_darkens_midtones() -> None:
    op = Halftone()
    img = torch.full((1, 3, 64, 64), 0.5)
    base = dict(strength=1.0, colour=False, paper=0.0, period=5.0)
    light = op.apply(img, _params(op, 1, dot_gain=0.0, **base)).mean()
    dark = op.apply(img, _params(op, 1, dot_gain=0.2, **base)).mean()
    assert dark < light - 0.05


def test_white_stays_paper_and_black_is_solid_ink() -> None:
    op = Halftone()
    img = torch.zeros(2, 3, 32, 32)
    img[1] = 1.0
    out = op.apply(img, _params(op, 2, strength=1.0, colour=False, paper=0.0, dot_gain=0.1))
    assert torch.allclose(out[1], torch.ones_like(out[1]))
    assert out[0].max() < 0.15


def test_halftone_is_periodic_at_its_period() -> None:
    op = Halftone(angle_jitter=0.0)
    img = torch.full((1, 3, 64, 64), 0.5)
    out = op.apply(img, _params(op, 1, strength=1.0, colour=False, dot_gain=0.0, period=4.0))
    row = out[0, 0, 32] - out[0, 0, 32].mean()
    # 45-degree screen of period P repeats every P*sqrt(2) pixels along a row
    shifted = (row[:-6] * row[6:]).mean() / row.var()
    assert shifted > 0.3


def test_colour_halftone_on_newsprint_keeps_hue() -> None:
    op = Halftone()
    img = torch.zeros(1, 3, 64, 64)
    img[:, 0] = 0.9  # red
    img[:, 1:] = 0.15
    out = op.apply(img, _params(op, 1, strength=1.0, colour=True, dot_gain=0.0, paper=1.0))
    mean = out.mean(dim=(2, 3))[0]
    assert mean[0] > mean[1] + 0.2 and mean[0] > mean[2] + 0.2
