import dataclasses

import torch

from daguerre.degrade.fields import Draw
from daguerre.degrade.stains import Foxing, Silvering, WaterStains, stain_rings
from tests.degrade.contract import DegradationContract


class TestFoxing(DegradationContract):
    build = staticmethod(lambda: Foxing())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, density=p.density * 0))
    image_shape = (2, 3, 64, 64)


class TestSilvering(DegradationContract):
    build = staticmethod(lambda: Silvering())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, strength=p.strength * 0))


class TestWaterStains(DegradationContract):
    build = staticmethod(lambda: WaterStains())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, count=p.count * 0))


def _run(op, img: torch.Tensor, seed: int = 0, **fixed: object):  # noqa: ANN001, ANN202
    params = op.sample(torch.Generator().manual_seed(seed), img.shape[0])
    changes = {k: torch.full_like(getattr(params, k), v) for k, v in fixed.items()}  # type: ignore[arg-type]
    return op.apply_masked(img, dataclasses.replace(params, **changes))


def test_foxing_spots_are_brown_darker_in_the_core_and_masked() -> None:
    img = torch.full((1, 3, 128, 128), 0.9)
    out, mask = _run(Foxing(), img, density=40.0, strength=0.8)
    core = mask[0, 0] > 0.5
    assert core.any()
    spot = out[0][:, core].mean(dim=1)
    assert spot[0] > spot[1] > spot[2]  # reddish / yellow brown
    assert spot.mean() < 0.75
    halo_only = (mask[0, 0] == 0) & ((out[0] - img[0]).abs().amax(dim=0) > 0.01)
    assert halo_only.any()  # soft halo beyond the masked core
    assert (out[0, :, halo_only].mean(dim=1) > spot).all()


def test_silvering_lifts_dark_edges_not_highlights_and_turns_them_cool() -> None:
    op = Silvering()
    dark = torch.full((1, 3, 64, 64), 0.05)
    out, mask = _run(op, dark, strength=0.6, reach=0.1, iridescence=0.0)
    assert mask is None
    assert out[0, :, :3].mean() > out[0, :, 28:36, 28:36].mean() + 0.1
    edge = out[0, :, :3].mean(dim=(1, 2))
    assert edge[2] > edge[0]  # bluish
    white = torch.ones(1, 3, 32, 32)
    assert torch.equal(op.apply(white, op.sample(torch.Generator().manual_seed(0), 1)), white)


def test_water_stain_rim_is_brown_and_the_mask_follows_it() -> None:
    img = torch.full((1, 3, 128, 128), 0.85)
    out, mask = _run(WaterStains(), img, count=1, size=0.3, strength=0.9)
    rim = mask[0, 0] > 0.6
    assert rim.float().mean() > 0.005
    colour = out[0][:, rim].mean(dim=1)
    assert colour[0] > colour[2] + 0.1 and colour.mean() < 0.8
    assert (mask[0, 0] > 0.25).float().mean() < 0.3  # a line, not the whole blob


def test_stain_rings_are_soft_and_bounded() -> None:
    rim, inside = stain_rings(Draw(0), 64, 64, radius=20.0, rim_width=2.0)
    assert rim.shape == (64, 64) and 0 <= float(rim.min()) and float(rim.max()) <= 1
    assert float(rim.max()) > 0.9 and (rim < 0.01).float().mean() > 0.5
    assert float(inside.max()) <= 1.0
