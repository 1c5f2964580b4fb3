import dataclasses

import torch

from daguerre.degrade.grain import FilmGrain, grain_field
from tests.degrade.contract import DegradationContract


class TestFilmGrain(DegradationContract):
    build = staticmethod(lambda: FilmGrain())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, strength=p.strength * 0))


class TestColourGrain(DegradationContract):
    build = staticmethod(lambda: FilmGrain(mono=0.0))


def _apply(op: FilmGrain, img: torch.Tensor, **fixed: object) -> torch.Tensor:
    params = op.sample(torch.Generator().manual_seed(0), img.shape[0])
    changes = {k: torch.full_like(getattr(params, k), v) for k, v in fixed.items()}  # type: ignore[arg-type]
    return op.apply(img, dataclasses.replace(params, **changes))


def _neighbour_corr(noise: torch.Tensor) -> float:
    n = noise - noise.mean()
    horizontal = (n[..., :, 1:] * n[..., :, :-1]).mean()
    vertical = (n[..., 1:, :] * n[..., :-1, :]).mean()
    return float((horizontal + vertical) / 2 / n.var())


def test_grain_is_spatially_correlated_unlike_white_noise() -> None:
    img = torch.full((1, 3, 96, 96), 0.5)
    out = _apply(FilmGrain(), img, strength=0.05, size=0.8, mono=True)
    assert _neighbour_corr(out[0, 0] - 0.5) > 0.3
    white = torch.randn(96, 96, generator=torch.Generator().manual_seed(0))
    assert abs(_neighbour_corr(white)) < 0.1


def test_mono_grain_is_identical_across_channels() -> None:
    img = torch.full((2, 3, 48, 48), 0.4)
    out = _apply(FilmGrain(), img, mono=True)
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])
    assert out.std() > 0.005


def test_colour_grain_is_partly_independent_and_blue_is_grainiest() -> None:
    img = torch.tensor([0.5, 0.5, 0.501]).view(1, 3, 1, 1).expand(1, 3, 96, 96).contiguous()
    out = _apply(FilmGrain(), img, mono=False, independence=0.6, strength=0.05)
    noise = out[0] - img[0]
    corr = torch.corrcoef(noise.reshape(3, -1))
    assert 0.1 < float(corr[0, 1]) < 0.95
    assert noise[2].std() > noise[1].std()


def test_gray_image_gets_mono_grain_even_when_colour_was_sampled() -> None:
    img = torch.full((1, 3, 64, 64), 0.5)
    out = _apply(FilmGrain(), img, mono=False, independence=0.6, strength=0.05)
    assert torch.equal(out[0, 0], out[0, 1]) and torch.equal(out[0, 1], out[0, 2])
    assert float((out - img).abs().max()) > 0


def test_grain_peaks_in_midtones_and_spares_paper_white() -> None:
    levels = torch.tensor([0.05, 0.5, 1.0]).view(3, 1, 1, 1).expand(3, 3, 64, 64).contiguous()
    out = _apply(FilmGrain(), levels, strength=0.05, mono=True, size=1.0)
    spread = (out - levels).std(dim=(1, 2, 3))
    assert spread[1] > 2 * spread[0]
    assert float(spread[2]) == 0.0
    assert abs(float((out[1] - 0.5).std()) - 0.05) < 0.02  # strength = std at mid-grey


def test_grain_field_is_standardised() -> None:
    field = grain_field(3, 40, 40, size=1.2, mono=False, independence=0.5)
    assert field.shape == (1, 3, 40, 40)
    assert 0.7 < float(field[0, 1].std()) < 1.3
