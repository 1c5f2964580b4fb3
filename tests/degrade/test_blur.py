import dataclasses
import math

import torch

from daguerre.degrade.blur import (
    GaussianBlur,
    RealESRGANBlur,
    RealESRGANBlurParams,
    filter2d,
    filter_separable,
    mixed_kernels,
)
from tests.degrade.contract import DegradationContract, make_image


class TestGaussianBlur(DegradationContract):
    build = staticmethod(lambda: GaussianBlur())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, sigma=p.sigma * 0))


class TestRealESRGANBlur(DegradationContract):
    build = staticmethod(lambda: RealESRGANBlur())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, size=torch.ones_like(p.size)))


class TestSincOnly(DegradationContract):
    build = staticmethod(lambda: RealESRGANBlur(sinc_prob=1.0))


def test_gaussian_blur_sampling_ranges(gen: torch.Generator) -> None:
    params = GaussianBlur().sample(gen, 500)
    assert set(params.size.tolist()) == {3, 5, 7}
    assert params.sigma.min() >= 1.0 and params.sigma.max() <= 5.0


def test_gaussian_blur_matches_opencv() -> None:
    import cv2

    img = make_image((1, 3, 32, 32))
    op = GaussianBlur()
    params = dataclasses.replace(
        op.sample(torch.Generator().manual_seed(0), 1), size=torch.tensor([5])
    )
    ours = op.apply(img, params)[0].permute(1, 2, 0).numpy()
    ref = cv2.GaussianBlur(img[0].permute(1, 2, 0).numpy(), (5, 5), float(params.sigma[0]))
    assert abs(ours - ref).max() < 1e-5


def test_blur_removes_high_frequencies() -> None:
    img = make_image((2, 3, 32, 32))
    op = GaussianBlur(sizes=(7,), sigma=(3.0, 3.0))
    out = op.apply(img, op.sample(torch.Generator().manual_seed(0), 2))
    grad = lambda x: (x[..., 1:] - x[..., :-1]).abs().mean()  # noqa: E731
    assert grad(out) < 0.5 * grad(img)
    torch.testing.assert_close(out.mean(), img.mean(), atol=0.02, rtol=0)


def _params(family: int, size: int = 11, **kw: float) -> RealESRGANBlurParams:
    values = dict(sigma_x=2.0, sigma_y=1.0, rotation=0.5, beta=1.5, omega=math.pi / 2) | kw
    return RealESRGANBlurParams(
        family=torch.tensor([family]),
        size=torch.tensor([size]),
        **{k: torch.tensor([v], dtype=torch.float32) for k, v in values.items()},
    )


def test_mixed_kernels_normalised_and_point_symmetric() -> None:
    for family in range(7):
        kernel = mixed_kernels(_params(family))[0]
        assert kernel.shape == (11, 11)
        torch.testing.assert_close(kernel.sum(), torch.tensor(1.0))
        torch.testing.assert_close(kernel, kernel.flip(0, 1))
        assert kernel.argmax() == 60  # the centre


def test_aniso_kernel_matches_basicsr_formula() -> None:
    # BasicSR bivariate Gaussian: exp(-0.5 * x^T Sigma^-1 x), Sigma = R diag(sx^2, sy^2) R^T
    sx, sy, theta = 2.0, 1.0, 0.5
    rot = torch.tensor([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    sigma = rot @ torch.diag(torch.tensor([sx**2, sy**2])) @ rot.T
    ax = torch.arange(-5, 6, dtype=torch.float32)
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")
    grid = torch.stack([xx, yy], -1)
    ref = torch.exp(-0.5 * ((grid @ torch.linalg.inv(sigma)) * grid).sum(-1))
    ref = ref / ref.sum()
    torch.testing.assert_close(mixed_kernels(_params(1))[0], ref, atol=1e-6, rtol=1e-4)


def test_kernel_window_respects_size_in_mixed_batch() -> None:
    a, b = _params(0, size=7), _params(0, size=21)
    both = RealESRGANBlurParams(
        **{
            f.name: torch.cat([getattr(a, f.name), getattr(b, f.name)])
            for f in dataclasses.fields(a)
        }
    )
    kernels = mixed_kernels(both)
    assert kernels.shape == (2, 21, 21)
    assert kernels[0, :7].abs().sum() == 0 and kernels[0, 14:].abs().sum() == 0
    torch.testing.assert_close(kernels[0, 7:14, 7:14], mixed_kernels(a)[0])


def test_realesrgan_sampling_families_and_sizes(gen: torch.Generator) -> None:
    params = RealESRGANBlur().sample(gen, 4000)
    counts = torch.bincount(params.family, minlength=7).float() / 4000
    expected = torch.tensor([0.45, 0.25, 0.12, 0.03, 0.12, 0.03, 0.0]) * 0.9
    expected[6] = 0.1
    torch.testing.assert_close(counts, expected, atol=0.03, rtol=0)
    assert set(params.size.tolist()) == set(range(7, 22, 2))
    iso = params.family == 0
    assert torch.equal(params.sigma_x[iso], params.sigma_y[iso])
    assert (params.rotation[iso] == 0).all()


def test_filter2d_identity_kernel() -> None:
    img = make_image((2, 3, 16, 16))
    delta = torch.zeros(2, 5, 5)
    delta[:, 2, 2] = 1
    torch.testing.assert_close(filter2d(img, delta), img)


def test_fft_path_matches_direct_convolution() -> None:
    img = make_image((2, 3, 40, 40))
    kernel = torch.rand(2, 11, 11)
    kernel = kernel / kernel.sum(dim=(1, 2), keepdim=True)
    padded = torch.nn.functional.pad(img, (5, 5, 5, 5), mode="reflect")
    ref = torch.stack(
        [
            torch.nn.functional.conv2d(padded[i : i + 1], kernel[i].expand(3, 1, 11, 11), groups=3)[
                0
            ]
            for i in range(2)
        ]
    )
    torch.testing.assert_close(filter2d(img, kernel), ref, atol=1e-5, rtol=0)


def test_separable_matches_2d() -> None:
    img = make_image((2, 3, 24, 24))
    k1 = torch.rand(2, 5)
    k1 = k1 / k1.sum(dim=1, keepdim=True)
    k2 = k1[:, :, None] * k1[:, None, :]
    torch.testing.assert_close(filter_separable(img, k1), filter2d(img, k2), atol=1e-6, rtol=0)
