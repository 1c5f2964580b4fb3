import dataclasses

import torch

from daguerre.degrade.noise import GaussianNoise, PoissonNoise, SaltPepper, SpeckleNoise
from tests.degrade.contract import DegradationContract


class TestGaussianNoise(DegradationContract):
    build = staticmethod(lambda: GaussianNoise(gray_prob=0.5))
    zero_params = staticmethod(lambda p: dataclasses.replace(p, sigma=p.sigma * 0))


class TestPoissonNoise(DegradationContract):
    build = staticmethod(lambda: PoissonNoise())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, scale=p.scale * 0))


class TestSpeckleNoise(DegradationContract):
    build = staticmethod(lambda: SpeckleNoise())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, sigma=p.sigma * 0))


class TestSaltPepper(DegradationContract):
    build = staticmethod(lambda: SaltPepper(amount=(0.01, 0.05)))
    zero_params = staticmethod(lambda p: dataclasses.replace(p, amount=p.amount * 0))


def _apply(op, img, seed=0):  # type: ignore[no-untyped-def]
    return op.apply(img, op.sample(torch.Generator().manual_seed(seed), img.shape[0]))


def test_gaussian_noise_std_matches_sigma() -> None:
    img = torch.full((1, 3, 64, 64), 0.5)
    op = GaussianNoise(sigma=(20.0, 20.0))
    noise = _apply(op, img) - img
    assert abs(float(noise.std()) - 20 / 255) < 0.005


def test_gray_noise_is_equal_across_channels() -> None:
    img = torch.full((1, 3, 16, 16), 0.5)
    out = _apply(GaussianNoise(gray_prob=1.0), img)
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])
    colour = _apply(GaussianNoise(gray_prob=0.0), img)
    assert not torch.equal(colour[:, 0], colour[:, 1])


def test_poisson_noise_grows_with_signal() -> None:
    img = torch.cat([torch.full((1, 3, 64, 64), 0.05), torch.full((1, 3, 64, 64), 0.8)])
    op = PoissonNoise(scale=(2.0, 2.0), gray_prob=0.0)
    params = op.sample(torch.Generator().manual_seed(0), 2)
    noise = op.apply(img, params) - img
    dark, bright = float(noise[0].std()), float(noise[1].std())
    assert bright > 3 * dark
    assert abs(bright - 2.0 * (0.8 / 256) ** 0.5) < 0.01  # std = scale * sqrt(signal / 256)


def test_speckle_keeps_black() -> None:
    img = torch.zeros(1, 3, 16, 16)
    assert torch.equal(_apply(SpeckleNoise(), img), img)


def test_salt_pepper_amount_and_salt_share() -> None:
    img = torch.full((1, 3, 64, 64), 0.5)
    op = SaltPepper(amount=(0.2, 0.2), salt=(0.75, 0.75))
    out = _apply(op, img)
    salt, pepper = float((out == 1).float().mean()), float((out == 0).float().mean())
    assert abs(salt + pepper - 0.2) < 0.02
    assert abs(salt / (salt + pepper) - 0.75) < 0.05
