import colorsys
import dataclasses

import torch

from daguerre.degrade.color import (
    ColorJitter,
    Grayscale,
    RGBShift,
    hsv_to_rgb,
    luminance,
    rgb_to_hsv,
)
from tests.degrade.contract import DegradationContract, make_image


class TestGrayscale(DegradationContract):
    build = staticmethod(lambda: Grayscale())
    stochastic = False
    zero_params = staticmethod(lambda p: dataclasses.replace(p, amount=p.amount * 0))


class TestPartialGrayscale(DegradationContract):
    build = staticmethod(lambda: Grayscale(amount=(0.2, 0.9), standard="709"))


class TestColorJitter(DegradationContract):
    build = staticmethod(lambda: ColorJitter())
    zero_params = staticmethod(
        lambda p: dataclasses.replace(
            p,
            brightness=torch.ones_like(p.brightness),
            contrast=torch.ones_like(p.contrast),
            saturation=torch.ones_like(p.saturation),
            hue=torch.zeros_like(p.hue),
        )
    )


class TestRGBShift(DegradationContract):
    build = staticmethod(lambda: RGBShift())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, shift=p.shift * 0))


def test_grayscale_uses_bt601_weights() -> None:
    img = torch.tensor([1.0, 0.0, 0.0]).reshape(1, 3, 1, 1).expand(1, 3, 2, 2).contiguous()
    op = Grayscale()
    out = op.apply(img, op.sample(torch.Generator(), 1))
    torch.testing.assert_close(out, torch.full_like(img, 0.299))
    assert Grayscale.__init__.__kwdefaults__["standard"] == "601"  # type: ignore[index]


def test_luminance_709() -> None:
    img = torch.tensor([0.0, 1.0, 0.0]).reshape(1, 3, 1, 1)
    assert abs(float(luminance(img, "709")) - 0.7152) < 1e-6


def test_hsv_round_trip_and_matches_colorsys() -> None:
    img = make_image((1, 3, 8, 8))
    hsv = rgb_to_hsv(img)
    torch.testing.assert_close(hsv_to_rgb(hsv), img, atol=1e-5, rtol=0)
    r, g, b = img[0, :, 3, 5].tolist()
    ref = colorsys.rgb_to_hsv(r, g, b)
    torch.testing.assert_close(hsv[0, :, 3, 5], torch.tensor(ref), atol=1e-5, rtol=0)


def test_hue_shift_rotates_primaries() -> None:
    red = torch.tensor([1.0, 0.0, 0.0]).reshape(1, 3, 1, 1)
    op = ColorJitter(brightness=(1, 1), contrast=(1, 1), saturation=(1, 1), hue=(1 / 3, 1 / 3))
    out = op.apply(red, op.sample(torch.Generator(), 1))
    torch.testing.assert_close(out.flatten(), torch.tensor([0.0, 1.0, 0.0]), atol=1e-5, rtol=0)


def test_saturation_zero_gives_gray() -> None:
    op = ColorJitter(brightness=(1, 1), contrast=(1, 1), saturation=(0, 0), hue=(0, 0))
    out = op.apply(make_image((2, 3, 8, 8)), op.sample(torch.Generator(), 2))
    assert torch.allclose(out[:, 0], out[:, 1]) and torch.allclose(out[:, 1], out[:, 2])


def test_rgb_shift_range(gen: torch.Generator) -> None:
    shift = RGBShift(shift=20).sample(gen, 1000).shift
    assert shift.shape == (1000, 3)
    assert shift.abs().max() <= 20 / 255 and shift.abs().max() > 15 / 255
