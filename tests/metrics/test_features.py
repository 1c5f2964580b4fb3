"""Feature distances: Frechet distance maths, FD-MobileNetV2, Gram distance, edge SSIM."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from daguerre.errors import CheckpointNotFoundError
from daguerre.metrics.features import (
    FeatureExtractor,
    edge_ssim,
    fd_mobilenet,
    frechet_distance,
    gram_distance,
    random_patches,
    sobel_magnitude,
)
from daguerre.nn.mobilenet import MobileNetV2Features
from daguerre.weights.backbone import load_backbone


@pytest.fixture(scope="module")
def backbone() -> MobileNetV2Features:
    try:
        return load_backbone()
    except CheckpointNotFoundError as error:
        pytest.skip(f"MobileNetV2 checkpoint not available: {error}")


@pytest.fixture(scope="module")
def random_net() -> MobileNetV2Features:
    torch.manual_seed(0)  # test-only: fixes the random init of this hermetic network
    return MobileNetV2Features(frozen=True).eval()


def smooth_images(gen: torch.Generator, count: int, size: int = 64) -> torch.Tensor:
    """(count,3,size,size) smooth random images in [0,1]."""
    base = torch.rand(count, 3, 6, 6, generator=gen)
    return F.interpolate(base, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)


# ---------------------------------------------------------------- Frechet distance


def test_frechet_identical_sets_is_zero(gen: torch.Generator) -> None:
    feats = torch.randn(50, 8, generator=gen)
    assert frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-6)


def test_frechet_matches_closed_form_for_diagonal_gaussians(gen: torch.Generator) -> None:
    # N(0, I) vs N(m, diag(s^2)): |m|^2 + sum((1 - s)^2) = 4 + 2 * 0.25 = 4.5 in 4-D.
    a = torch.randn(20000, 4, generator=gen)
    scale = torch.tensor([1.0, 1.0, 1.5, 1.5])
    b = torch.randn(20000, 4, generator=gen) * scale + 1.0
    assert frechet_distance(a, b) == pytest.approx(4.5, rel=0.05)


def test_frechet_works_with_fewer_samples_than_dimensions(gen: torch.Generator) -> None:
    a = torch.randn(5, 64, generator=gen)
    distance = frechet_distance(a, a + 1.0)
    assert distance == pytest.approx(64.0, rel=1e-3)  # same covariance, mean shift of 1 per dim


@pytest.mark.parametrize("count", [5, 40])  # low-rank path and full path
def test_frechet_matches_scipy_sqrtm(gen: torch.Generator, count: int) -> None:
    linalg = pytest.importorskip("scipy.linalg")
    a = torch.randn(count, 32, generator=gen).double().numpy()
    b = (torch.randn(count + 3, 32, generator=gen) * 2 + 0.5).double().numpy()
    ridge = 1e-6 * np.eye(32)
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    root = linalg.sqrtm(cov_a @ cov_b).real
    expected = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a + cov_b - 2 * root)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_frechet_rejects_bad_sets() -> None:
    with pytest.raises(ValueError, match="N, M >= 2"):
        frechet_distance(torch.zeros(1, 4), torch.zeros(5, 4))
    with pytest.raises(ValueError, match="N, M >= 2"):
        frechet_distance(torch.zeros(5, 4), torch.zeros(5, 3))


# ---------------------------------------------------------------- FD-MobileNetV2


def test_feature_extractor_shape(backbone: MobileNetV2Features, gen: torch.Generator) -> None:
    extractor = FeatureExtractor(backbone)
    assert extractor(smooth_images(gen, 2)).shape == (2, 1280)
    assert extractor(smooth_images(gen, 1)[0]).shape == (1, 1280)


def test_fd_identical_sets_near_zero_shifted_sets_larger(
    backbone: MobileNetV2Features, gen: torch.Generator
) -> None:
    images = smooth_images(gen, 6, size=48)
    same = fd_mobilenet([images], list(images), backbone=backbone)  # batch vs one by one
    darker = fd_mobilenet([images], [images * 0.4], backbone=backbone)
    noisy = (images + 0.2 * torch.randn(images.shape, generator=gen)).clamp(0, 1)
    assert same == pytest.approx(0.0, abs=1e-3)
    assert darker > 1.0
    assert fd_mobilenet([images], [noisy], backbone=backbone) > 1.0


def test_fd_patch_mode_is_reproducible(backbone: MobileNetV2Features, gen: torch.Generator) -> None:
    a, b = smooth_images(gen, 2, size=96), smooth_images(gen, 2, size=96)

    def run(seed: int) -> float:
        generator = torch.Generator().manual_seed(seed)
        return fd_mobilenet([a], [b], backbone=backbone, patches=3, patch_size=64, gen=generator)

    first = run(1)
    assert first > 0 and run(1) == first
    assert run(2) != first
    with pytest.raises(ValueError, match="smaller than the 128-px patches"):
        fd_mobilenet([a], [b], backbone=backbone, patches=2)


def test_random_patches_shape_and_content(gen: torch.Generator) -> None:
    img = torch.arange(3 * 20 * 30, dtype=torch.float32).view(3, 20, 30)
    crops = random_patches(img, 5, 8, gen)
    assert crops.shape == (5, 3, 8, 8)
    for crop in crops:  # every crop is a contiguous window of the image
        y, x = divmod(int(crop[0, 0, 0].item()), 30)
        assert torch.equal(crop, img[:, y : y + 8, x : x + 8])


# ---------------------------------------------------------------- Gram distance, edge SSIM


def test_gram_distance(random_net: MobileNetV2Features, gen: torch.Generator) -> None:
    images = smooth_images(gen, 2)
    with torch.no_grad():
        same = gram_distance(images, images, random_net)
        other = gram_distance(images, images.flip(0) * 0.5, random_net)
        broadcast = gram_distance(images, images[:1], random_net)
    assert same.shape == (2,) and torch.equal(same, torch.zeros(2))
    assert (other > 0).all()
    assert broadcast[0] < 1e-9 * broadcast[1]  # same image; only batch-size rounding differs


def test_gram_distance_is_differentiable(
    random_net: MobileNetV2Features, gen: torch.Generator
) -> None:
    images = smooth_images(gen, 1).requires_grad_(True)
    gram_distance(images, smooth_images(gen, 1), random_net).sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0


def test_sobel_unit_step_gives_one() -> None:
    img = torch.zeros(1, 3, 8, 8)
    img[..., 4:] = 1.0
    magnitude = sobel_magnitude(img)
    assert magnitude.shape == (1, 1, 8, 8)
    assert magnitude[0, 0, 4, 3].item() == pytest.approx(1.0, abs=1e-4)
    assert magnitude[0, 0, 4, 0].item() == pytest.approx(0.0, abs=1e-4)


def test_edge_ssim(gen: torch.Generator) -> None:
    images = F.interpolate(torch.rand(2, 3, 6, 6, generator=gen), size=(48, 48), mode="nearest")
    blurred = F.avg_pool2d(images, 5, stride=1, padding=2, count_include_pad=False)
    assert torch.allclose(edge_ssim(images, images), torch.ones(2), atol=1e-5)
    assert torch.allclose(edge_ssim(images, 1 - images), torch.ones(2), atol=1e-5)
    assert (edge_ssim(images, blurred) < 0.95).all()
    with pytest.raises(ValueError, match="differ in shape"):
        edge_ssim(images, images[:, :, :40])
