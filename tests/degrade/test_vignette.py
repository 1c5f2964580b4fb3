import dataclasses

import torch

from daguerre.degrade.vignette import Vignette
from tests.degrade.contract import DegradationContract


class TestVignette(DegradationContract):
    build = staticmethod(lambda: Vignette())
    zero_params = staticmethod(
        lambda p: dataclasses.replace(
            p, corner=torch.ones_like(p.corner), oval=torch.zeros_like(p.oval)
        )
    )


class TestOvalVignette(DegradationContract):
    build = staticmethod(lambda: Vignette(oval=1.0))


def _params(op: Vignette, **fixed: object):  # noqa: ANN202
    params = op.sample(torch.Generator().manual_seed(0), 1)
    changes = {k: torch.full_like(getattr(params, k), v) for k, v in fixed.items()}  # type: ignore[arg-type]
    return dataclasses.replace(params, **changes)


def test_corner_gain_matches_parameter_and_centre_is_untouched() -> None:
    op = Vignette()
    img = torch.ones(1, 3, 64, 64)
    params = _params(op, corner=0.6, center_x=0.0, center_y=0.0, aspect=1.0, oval=False)
    out = op.apply(img, params)[0, 0]
    assert abs(float(out[0, 0]) - 0.6) < 0.01
    assert float(out[32, 32]) > 0.99
    assert out[0, 0] < out[0, 32] < out[32, 32]  # smooth radial falloff


def test_off_centre_vignette_is_asymmetric() -> None:
    op = Vignette()
    out = op.apply(torch.ones(1, 3, 64, 64), _params(op, corner=0.5, center_x=0.15, oval=False))
    assert out[0, 0, 32, 0] < out[0, 0, 32, 63]


def test_oval_fades_to_white_or_black() -> None:
    op = Vignette()
    img = torch.full((1, 3, 64, 64), 0.5)
    base = dict(corner=1.0, oval=True, oval_size=0.8, oval_feather=0.2)
    white = op.apply(img, _params(op, oval_white=True, **base))[0]
    black = op.apply(img, _params(op, oval_white=False, **base))[0]
    assert white[:, 0, 0].min() > 0.85 and black[:, 0, 0].max() < 0.1
    assert torch.allclose(white[:, 32, 32], torch.full((3,), 0.5))
