"""Classical (non-learned) baselines that ``daguerre eval`` compares the GANs against.

* :func:`classical_restore`: OpenCV non-local means denoising (Buades et al. 2005,
  https://doi.org/10.1109/CVPR.2005.38) with its strength set from an estimated noise level,
  followed by a mild unsharp mask.
* :func:`autolevels_median`: per-channel auto-levels (0.5 / 99.5 % percentile stretch), then
  a 3x3 median filter: the "five lines of OpenCV" a restorer must beat on faded, speckled photos.
* :func:`telea_inpaint`: OpenCV fast-marching inpainting (Telea 2004,
  https://doi.org/10.1080/10867651.2004.10487596), the baseline for scratch removal.

Images are float32 RGB in [0, 1] at the boundary. OpenCV's NLM and inpainting need 8-bit
input, so each image is rounded to uint8 *inside* these functions only (the OpenCV boundary,
an allowed exception to the uint8-only-in-``io`` rule); results come back as float32.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import torch
from torch import Tensor

from daguerre.pipelines.fusion import gaussian_blur_signed

logger = logging.getLogger(__name__)

# Immerkaer (1996) noise-estimation mask: the difference of two Laplacians. It cancels
# locally linear signal; on white noise of std s its response has std 6 s (sqrt of sum of squares).
_NOISE_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
_MAD_TO_STD = 1.0 / 0.6745  # median(|x|) of a zero-mean Gaussian is 0.6745 std

# NLM strength h (8-bit units) per unit of estimated noise std (8-bit units). 0.6 gave the best
# PSNR on BSDS/CSet/McMaster crops with white noise of std 5-25 (0.4-1.3 tried).
NLM_H_PER_SIGMA = 0.6
NLM_H_RANGE = (3.0, 15.0)  # clip: 3 is barely visible on clean photos, 15 already smears detail
NLM_TEMPLATE = 7  # patch side (OpenCV's recommended value)
NLM_SEARCH = 21  # search window side (OpenCV's recommended value)
UNSHARP_SIGMA = 1.0  # pixels
UNSHARP_AMOUNT = 0.5  # out = x + amount * (x - blur(x))
TELEA_RADIUS = 3  # pixels considered around each inpainted point
AUTOLEVELS_PERCENTILES = (0.5, 99.5)  # % per channel mapped to 0 and 1; clips 1 % of pixels
AUTOLEVELS_MIN_SPREAD = 1.0 / 255  # a flatter channel is left as it is (nothing to stretch)
MEDIAN_SIZE = 3  # px, the median window side


# ---------------------------------------------------------------- OpenCV boundary


def _to_uint8_hwc(img: Tensor) -> np.ndarray:
    """(3,H,W) float [0,1] -> (H,W,3) uint8, rounded; only for handing images to OpenCV."""
    array = img.detach().float().cpu().clamp(0, 1).mul(255.0).round().to(torch.uint8)
    return np.ascontiguousarray(array.permute(1, 2, 0).numpy())


def _from_uint8_hwc(array: np.ndarray, like: Tensor) -> Tensor:
    """(H,W,3) uint8 -> (3,H,W) float32 in [0,1] on the device of ``like``."""
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div(255.0).to(like.device)


def _as_batch(img: Tensor) -> Tensor:
    """(3,H,W) -> (1,3,H,W); (B,3,H,W) unchanged; anything else is a ValueError."""
    batch = img.unsqueeze(0) if img.ndim == 3 else img
    if batch.ndim != 4 or batch.shape[1] != 3:
        raise ValueError(f"expected a (B,3,H,W) or (3,H,W) image, got shape {tuple(img.shape)}")
    return batch


# ---------------------------------------------------------------- denoise + sharpen


def estimate_noise_sigma(img: Tensor) -> float:
    """Robust estimate of additive white-noise std, in [0, 1] image units.

    Median absolute response of Immerkaer's Laplacian-difference mask per channel (MAD, so
    edges and texture bias it less than a mean would), converted to a Gaussian std, then the
    median over the three channels.

    Args:
        img: (3,H,W) float RGB in [0, 1], H and W >= 3.

    Returns:
        Estimated noise std (about 0 for a clean smooth image).

    Example:
        >>> gen = torch.Generator().manual_seed(0)
        >>> noisy = 0.5 + 0.1 * torch.randn(3, 64, 64, generator=gen)
        >>> round(estimate_noise_sigma(noisy), 2)
        0.1
    """
    channels = img.detach().float().cpu().numpy()
    sigmas = []
    for channel in channels:
        response = cv2.filter2D(channel, cv2.CV_32F, _NOISE_MASK)[1:-1, 1:-1]
        sigmas.append(float(np.median(np.abs(response))) * _MAD_TO_STD / 6.0)
    return float(np.median(sigmas))


def nlm_strength(sigma: float, *, h_per_sigma: float = NLM_H_PER_SIGMA) -> float:
    """NLM ``h`` (8-bit units) for a noise std ``sigma`` in [0, 1] units, clipped to NLM_H_RANGE.

    Example:
        >>> nlm_strength(10 / 255), nlm_strength(0.0), nlm_strength(1.0)
        (6.0, 3.0, 15.0)
    """
    low, high = NLM_H_RANGE
    return float(np.clip(h_per_sigma * sigma * 255.0, low, high))


def unsharp_mask(
    img: Tensor, *, sigma: float = UNSHARP_SIGMA, amount: float = UNSHARP_AMOUNT
) -> Tensor:
    """Sharpen: ``x + amount * (x - gaussian_blur(x, sigma))``, clamped to [0, 1].

    Args:
        img: (B,C,H,W) float in [0, 1].
        sigma: blur std in pixels.
        amount: sharpening gain (0 returns the input).

    Returns:
        Same shape and dtype as ``img``.
    """
    blurred = gaussian_blur_signed(img, sigma)
    return (img + amount * (img - blurred)).clamp(0.0, 1.0)


def _denoise_one(img: Tensor, h_per_sigma: float) -> Tensor:
    """(3,H,W) float [0,1] -> (3,H,W) NLM-denoised, strength from the estimated noise."""
    sigma = estimate_noise_sigma(img)
    h = nlm_strength(sigma, h_per_sigma=h_per_sigma)
    logger.debug("classical_restore: sigma=%.4f -> h=%.1f", sigma, h)
    # OpenCV's colour NLM converts from BGR to Lab, so hand it BGR.
    bgr = cv2.cvtColor(_to_uint8_hwc(img), cv2.COLOR_RGB2BGR)
    denoised = cv2.fastNlMeansDenoisingColored(bgr, None, h, h, NLM_TEMPLATE, NLM_SEARCH)
    return _from_uint8_hwc(cv2.cvtColor(denoised, cv2.COLOR_BGR2RGB), img)


def classical_restore(
    img: Tensor,
    *,
    h_per_sigma: float = NLM_H_PER_SIGMA,
    sharpen: float = UNSHARP_AMOUNT,
) -> Tensor:
    """Classical restoration baseline: non-local means, then an unsharp mask.

    Per image: estimate the noise std (:func:`estimate_noise_sigma`), run
    ``cv2.fastNlMeansDenoisingColored`` with ``h = hColor = clip(0.6 * sigma_255, 3, 15)``
    (``sigma_255`` is the std in 8-bit units; 7-px patches, 21-px search window), then
    sharpen with sigma 1 px and amount 0.5. Deterministic; CPU (OpenCV).

    Sharpening trades PSNR for apparent detail: it helps on blurred inputs but costs 1-5 dB
    on sharp ones; pass ``sharpen=0`` for a denoise-only baseline.

    Args:
        img: (B,3,H,W) or (3,H,W) float RGB in [0, 1].
        h_per_sigma: NLM strength per unit of estimated noise std.
        sharpen: unsharp-mask amount (0 disables it).

    Returns:
        Same shape, float32 in [0, 1], on the input's device. Quantised to 8 bits on the way
        through OpenCV.

    Example:
        >>> img = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0))
        >>> out = classical_restore(img)
        >>> out.shape, out.dtype
        (torch.Size([3, 32, 32]), torch.float32)
    """
    batch = _as_batch(img)
    denoised = torch.stack([_denoise_one(single, h_per_sigma) for single in batch])
    out = unsharp_mask(denoised, amount=sharpen) if sharpen else denoised
    return out if img.ndim == 4 else out[0]


# ---------------------------------------------------------------- auto-levels + median


def _autolevels_one(img: Tensor, percentiles: tuple[float, float]) -> np.ndarray:
    """(3,H,W) float [0,1] -> (H,W,3) float32: each channel's percentiles stretched to 0 and 1."""
    array = img.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy()
    out = np.empty(array.shape, dtype=np.float32)  # C-contiguous, as OpenCV wants
    for channel in range(array.shape[-1]):
        values = array[..., channel]
        low, high = np.percentile(values, percentiles)
        if high - low < AUTOLEVELS_MIN_SPREAD:
            out[..., channel] = values
        else:
            out[..., channel] = np.clip((values - low) / (high - low), 0.0, 1.0)
    return out


def autolevels_median(
    img: Tensor, *, percentiles: tuple[float, float] = AUTOLEVELS_PERCENTILES
) -> Tensor:
    """Trivial baseline: per-channel auto-levels, then a 3x3 median filter.

    Each channel is stretched so its ``percentiles`` (0.5 % and 99.5 %) land on 0 and 1 and
    clipped (a channel spanning less than one 8-bit step is left as it is); then a 3x3 median
    (``cv2.medianBlur`` on float32, so nothing is quantised) removes specks and salt noise.
    Per-channel stretching also balances a uniform colour cast. Deterministic; CPU (OpenCV).

    Args:
        img: (B,3,H,W) or (3,H,W) float RGB in [0, 1].
        percentiles: (low, high) percentiles in [0, 100], low < high.

    Returns:
        Same shape, float32 in [0, 1], on the input's device.

    Raises:
        ValueError: a wrong image shape, or percentiles not ordered within [0, 100].

    Example:
        >>> ramp = torch.linspace(0.2, 0.8, 64).expand(3, 16, 64)
        >>> out = autolevels_median(ramp)
        >>> round(out.min().item(), 2), round(out.max().item(), 2)
        (0.0, 1.0)
    """
    low, high = percentiles
    if not 0.0 <= low < high <= 100.0:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles}")
    batch = _as_batch(img)
    outputs = []
    for single in batch:
        stretched = cv2.medianBlur(_autolevels_one(single, percentiles), MEDIAN_SIZE)
        outputs.append(torch.from_numpy(stretched).permute(2, 0, 1).to(single.device))
    out = torch.stack(outputs).clamp(0.0, 1.0)
    return out if img.ndim == 4 else out[0]


# ---------------------------------------------------------------- inpainting


def _mask_batch(mask: Tensor, batch: int, h: int, w: int) -> Tensor:
    """Mask as (B,H,W) bool from (H,W), (1|B,H,W) or (1|B,1,H,W); > 0.5 means fill."""
    m = mask
    if m.ndim == 4:
        if m.shape[1] != 1:
            raise ValueError(f"mask must have one channel, got shape {tuple(mask.shape)}")
        m = m[:, 0]
    if m.ndim == 2:
        m = m.unsqueeze(0)
    if m.ndim != 3 or m.shape[-2:] != (h, w) or m.shape[0] not in (1, batch):
        raise ValueError(f"mask shape {tuple(mask.shape)} does not fit images ({batch},3,{h},{w})")
    return (m.float() > 0.5).expand(batch, h, w)


def telea_inpaint(img: Tensor, mask: Tensor) -> Tensor:
    """Fill masked pixels with OpenCV's Telea fast-marching inpainting (radius 3 px).

    Pixels outside the mask are returned unchanged (not quantised); only filled pixels pass
    through OpenCV's 8-bit path.

    Args:
        img: (B,3,H,W) or (3,H,W) float RGB in [0, 1].
        mask: (H,W), (B,H,W), (1,H,W), (B,1,H,W) or (1,1,H,W), bool or float; > 0.5 marks
            the pixels to fill (e.g. a scratch mask).

    Returns:
        Same shape as ``img``, float32 in [0, 1].

    Example:
        >>> img = torch.full((3, 16, 16), 0.5)
        >>> mask = torch.zeros(16, 16, dtype=torch.bool)
        >>> mask[8, :] = True
        >>> telea_inpaint(torch.where(mask, 0.0, img), mask).sub(img).abs().max().item() < 0.01
        True
    """
    batch = _as_batch(img).float()
    masks = _mask_batch(mask.to(batch.device), batch.shape[0], batch.shape[2], batch.shape[3])
    outputs = []
    for single, single_mask in zip(batch, masks, strict=True):
        mask_u8 = single_mask.cpu().numpy().astype(np.uint8) * 255
        filled = cv2.inpaint(_to_uint8_hwc(single), mask_u8, TELEA_RADIUS, cv2.INPAINT_TELEA)
        outputs.append(torch.where(single_mask, _from_uint8_hwc(filled, single), single))
    out = torch.stack(outputs)
    return out if img.ndim == 4 else out[0]


def telea_fill(img: Tensor, mask: Tensor, *, rows: int = 1024, margin: int = 64) -> Tensor:
    """A copy of ``img`` whose masked pixels are filled by :func:`telea_inpaint`, in row bands.

    Each band of ``rows`` rows that holds masked pixels is inpainted with ``margin`` rows of
    context above and below, so a huge photo never passes through OpenCV whole (marks up to
    about ``margin`` pixels across fill as they would in one piece).

    Args:
        img: (B,3,H,W) float RGB in [0, 1].
        mask: (B,1,H,W), > 0.5 marks the pixels to fill.
        rows: rows per band.
        margin: rows of context on each side of a band.

    Returns:
        (B,3,H,W) float32 in [0, 1]; unmasked pixels equal ``img``'s.

    Example:
        >>> img = torch.full((1, 3, 40, 8), 0.5)
        >>> mask = torch.zeros(1, 1, 40, 8)
        >>> mask[:, :, 30, :] = 1
        >>> out = telea_fill(torch.where(mask > 0, 0.0, img), mask, rows=16, margin=4)
        >>> bool((out - img).abs().max() < 0.01)
        True
    """
    out = img.float().clone()
    height = img.shape[-2]
    for index in range(img.shape[0]):
        marked = mask[index, 0].gt(0.5).any(dim=1)
        for top in range(0, height, rows):
            bottom = min(height, top + rows)
            if not bool(marked[top:bottom].any()):
                continue
            above, below = max(0, top - margin), min(height, bottom + margin)
            filled = telea_inpaint(img[index, :, above:below], mask[index, :, above:below])
            out[index, :, top:bottom] = filled[:, top - above : bottom - above]
    return out
