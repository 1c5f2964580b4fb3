"""Feature-space distances on the ImageNet MobileNetV2 backbone (no Inception, no VGG).

* :func:`fd_mobilenet`: "FD-MobileNetV2", a Frechet distance between sets of pooled
  MobileNetV2 features. It is an FID-like score but **not FID**: different network, different
  feature space, so its values are not comparable with published Inception FID numbers.
* :func:`gram_distance`: style distance, mean squared difference of normalised Gram matrices
  (Gatys et al. 2016, https://arxiv.org/abs/1508.06576) at several MobileNetV2 stages.
* :func:`edge_ssim`: SSIM of the Sobel gradient magnitude of luminance, i.e. how well an output
  keeps the edges (structure) of its content photo, whatever its colours.

Functions that take ``backbone=None`` load it with :func:`daguerre.weights.backbone.load_backbone`
(lazy import, so this module stays a leaf unless a default backbone is asked for).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from daguerre.metrics.fidelity import ssim
from daguerre.nn.mobilenet import LAST_STAGE, MobileNetV2Features

GRAM_LAYERS: tuple[int, ...] = (1, 3, 6, 13)  # 1/2, 1/4, 1/8, 1/16 resolution stages
FRECHET_EPS = 1e-6  # added to covariance diagonals: sets smaller than 1280 are rank-deficient
LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # BT.601


def _default_backbone(backbone: MobileNetV2Features | None) -> MobileNetV2Features:
    """``backbone`` itself, or the frozen ImageNet backbone found on disk."""
    if backbone is not None:
        return backbone
    from daguerre.weights.backbone import load_backbone

    return load_backbone()


def _device_of(module: nn.Module) -> torch.device:
    """Device of a module's first parameter (CPU for a parameterless module)."""
    return next(iter(module.parameters()), torch.empty(0)).device


def _as_batch(img: Tensor) -> Tensor:
    """(3,H,W) -> (1,3,H,W); (B,3,H,W) unchanged; anything else is a ValueError."""
    batch = img.unsqueeze(0) if img.ndim == 3 else img
    if batch.ndim != 4 or batch.shape[1] != 3:
        raise ValueError(f"expected a (B,3,H,W) or (3,H,W) image, got shape {tuple(img.shape)}")
    return batch


# ---------------------------------------------------------------- pooled features and FD


class FeatureExtractor(nn.Module):
    """Global-average-pooled last-stage MobileNetV2 features, 1280-d per image.

    Args:
        backbone: the network; None loads the frozen ImageNet backbone from disk.
    """

    def __init__(self, backbone: MobileNetV2Features | None = None) -> None:
        super().__init__()
        self.backbone = _default_backbone(backbone)

    def forward(self, images: Tensor) -> Tensor:
        """(B,3,H,W) or (3,H,W) RGB in [0, 1] -> (B,1280) float32 on the backbone's device."""
        batch = _as_batch(images).to(_device_of(self.backbone), torch.float32)
        return self.backbone(batch, layers=(LAST_STAGE,))[LAST_STAGE].mean(dim=(2, 3))


def _sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix via its eigendecomposition."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def _covariance_terms(xa: np.ndarray, xb: np.ndarray, eps: float) -> float:
    """``tr(C_a) + tr(C_b) - 2 tr((C_a C_b)^(1/2))`` for ``C = x^T x + eps I``."""
    ridge = eps * np.eye(xa.shape[1])
    cov_a, cov_b = xa.T @ xa + ridge, xb.T @ xb + ridge
    root_a = _sqrtm_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    return float(np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_root)


def frechet_distance(
    feats_a: Tensor | np.ndarray, feats_b: Tensor | np.ndarray, *, eps: float = FRECHET_EPS
) -> float:
    """Frechet distance between Gaussians fitted to two feature sets.

    ``|mu_a - mu_b|^2 + tr(C_a) + tr(C_b) - 2 tr((C_a C_b)^(1/2))``, in float64, with sample
    covariances (ddof 1). The trace of the matrix square root is computed as
    ``sum(sqrt(eig(C_a^(1/2) C_b C_a^(1/2))))``, a symmetric PSD matrix, so there is no complex
    ``sqrtm`` output to discard. ``eps`` is added to both covariance diagonals: with fewer
    samples than dimensions (the usual case for a few images) the covariances are singular, and
    the small ridge keeps the result stable. In that case the work is done exactly in the
    (N+M)-dimensional span of the centred samples: outside it both covariances are ``eps * I``
    and contribute 0, so 1280-d features of a few images cost a tiny eigenproblem.

    Args:
        feats_a: (N,D) features, N >= 2.
        feats_b: (M,D) features, M >= 2.
        eps: ridge added to the covariance diagonals.

    Returns:
        The distance, >= 0; 0 for identical sets up to rounding.

    Raises:
        ValueError: if a set has fewer than 2 rows or the dimensions differ.

    Example:
        >>> a = torch.randn(100, 4, generator=torch.Generator().manual_seed(0))
        >>> frechet_distance(a, a) < 1e-6
        True
    """
    a = np.asarray(feats_a.detach().cpu() if isinstance(feats_a, Tensor) else feats_a, np.float64)
    b = np.asarray(feats_b.detach().cpu() if isinstance(feats_b, Tensor) else feats_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need (N,D) and (M,D) features with N, M >= 2; got {a.shape}, {b.shape}")
    mean_term = float(np.sum((a.mean(0) - b.mean(0)) ** 2))
    xa = (a - a.mean(0)) / np.sqrt(len(a) - 1)  # C_a = xa^T xa
    xb = (b - b.mean(0)) / np.sqrt(len(b) - 1)
    if len(a) + len(b) < a.shape[1]:
        basis, _ = np.linalg.qr(np.concatenate([xa, xb]).T)  # (D, N+M) orthonormal columns
        xa, xb = xa @ basis, xb @ basis
    return max(0.0, mean_term + _covariance_terms(xa, xb, eps))


def random_patches(img: Tensor, count: int, size: int, gen: torch.Generator) -> Tensor:
    """``count`` random ``size`` x ``size`` crops of one image.

    Args:
        img: (3,H,W) image with H, W >= size.
        count: number of crops.
        size: crop side in pixels.
        gen: CPU generator for the offsets.

    Returns:
        (count,3,size,size) crops.

    Raises:
        ValueError: if the image is smaller than ``size`` on a side.
    """
    _, h, w = img.shape
    if h < size or w < size:
        raise ValueError(f"image {h}x{w} is smaller than the {size}-px patches")
    ys = torch.randint(0, h - size + 1, (count,), generator=gen).tolist()
    xs = torch.randint(0, w - size + 1, (count,), generator=gen).tolist()
    return torch.stack([img[:, y : y + size, x : x + size] for y, x in zip(ys, xs, strict=True)])


def _collect(
    images: Iterable[Tensor],
    extractor: FeatureExtractor,
    patches: int,
    patch_size: int,
    gen: torch.Generator,
) -> np.ndarray:
    """(N,1280) float64 features of every image (or of ``patches`` crops per image)."""
    feats = []
    with torch.inference_mode():
        for item in images:
            batch = _as_batch(item)
            if patches > 0:  # one forward per image, on its crops
                crops = [random_patches(img, patches, patch_size, gen) for img in batch]
                feats += [extractor(c).double().cpu().numpy() for c in crops]
            else:  # one forward per item: a (B,3,H,W) item is run as one batch
                feats.append(extractor(batch).double().cpu().numpy())
    if not feats:
        raise ValueError("empty image set")
    return np.concatenate(feats)


def fd_mobilenet(
    images_a: Iterable[Tensor],
    images_b: Iterable[Tensor],
    *,
    backbone: MobileNetV2Features | None = None,
    patches: int = 0,
    patch_size: int = 128,
    gen: torch.Generator | None = None,
) -> float:
    """FD-MobileNetV2: Frechet distance of pooled ImageNet-MobileNetV2 features of two image sets.

    This is **not FID**: FID uses Inception-v3, which is not available offline. Report the value
    as "FD-MobileNetV2"; compare it only with itself (same backbone, patch setting, set sizes).

    With ``patches=0`` every image gives one feature vector (sizes may differ between images).
    With ``patches > 0`` every image gives that many random ``patch_size`` crops, which makes a
    patch-level FD meaningful on a handful of images.

    Args:
        images_a: iterable of (3,H,W) or (B,3,H,W) float RGB in [0, 1].
        images_b: same, the other set.
        backbone: the network; None loads the frozen ImageNet backbone from disk.
        patches: random crops per image; 0 uses whole images.
        patch_size: crop side in pixels (images must be at least this big).
        gen: CPU generator for the crop offsets; None uses ``torch.Generator().manual_seed(0)``,
            so the default is reproducible.

    Returns:
        The distance, >= 0; about 0 for identical sets.

    Raises:
        ValueError: on an empty set, fewer than 2 feature vectors, or images smaller than
            ``patch_size`` when ``patches > 0``.
        CheckpointNotFoundError: if ``backbone`` is None and the checkpoint is missing.
    """
    if patches < 0:
        raise ValueError(f"patches must be >= 0, got {patches}")
    extractor = FeatureExtractor(_default_backbone(backbone))
    gen = gen if gen is not None else torch.Generator().manual_seed(0)
    feats_a = _collect(images_a, extractor, patches, patch_size, gen)
    feats_b = _collect(images_b, extractor, patches, patch_size, gen)
    return frechet_distance(feats_a, feats_b)


# ---------------------------------------------------------------- style and structure


def gram_matrix(feats: Tensor) -> Tensor:
    """(B,C,H,W) -> (B,C,C) Gram matrix divided by C*H*W (independent of image size)."""
    b, c, h, w = feats.shape
    flat = feats.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def gram_distance(
    a: Tensor,
    b: Tensor,
    backbone: MobileNetV2Features,
    layers: Sequence[int] = GRAM_LAYERS,
) -> Tensor:
    """Style distance: mean squared difference of normalised Gram matrices, averaged over stages.

    Differentiable in ``a`` and ``b``; wrap in ``torch.no_grad()`` when used as a metric.
    ``a`` and ``b`` may differ in size (Gram matrices do not depend on it).

    Args:
        a: (B,3,H,W) or (3,H,W) RGB in [0, 1].
        b: (B,3,H',W') or (1,3,H',W') (broadcast, e.g. one style image) or (3,H',W').
        backbone: MobileNetV2 features network (on the device of the images).
        layers: stage indices of ``backbone.features`` to compare.

    Returns:
        (B,) float tensor, >= 0; 0 for identical inputs.
    """
    feats_a = backbone(_as_batch(a), layers=layers)
    feats_b = backbone(_as_batch(b), layers=layers)
    per_layer = [
        (gram_matrix(feats_a[i]) - gram_matrix(feats_b[i])).pow(2).mean(dim=(1, 2)) for i in feats_a
    ]
    return torch.stack(per_layer).mean(dim=0)


def sobel_magnitude(img: Tensor) -> Tensor:
    """Sobel gradient magnitude of BT.601 luminance, divided by 4 and clamped to [0, 1].

    Args:
        img: (B,3,H,W) RGB in [0, 1].

    Returns:
        (B,1,H,W); a unit step edge gives 1 (replicate padding at the border).
    """
    weights = img.new_tensor(LUMA_WEIGHTS).view(1, 3, 1, 1)
    luma = F.pad((img * weights).sum(dim=1, keepdim=True), (1, 1, 1, 1), mode="replicate")
    kx = img.new_tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]).view(1, 1, 3, 3)
    gx = F.conv2d(luma, kx)
    gy = F.conv2d(luma, kx.transpose(2, 3))
    return (torch.sqrt(gx**2 + gy**2 + 1e-12) / 4.0).clamp(0.0, 1.0)


def edge_ssim(a: Tensor, b: Tensor) -> Tensor:
    """Structure similarity: SSIM of the Sobel edge maps of two images (e.g. output vs content).

    Ignores colour and tone changes that keep edges (a stylised photo, an inverted negative),
    and drops when edges move, blur or vanish.

    Args:
        a: (B,3,H,W) or (3,H,W) RGB in [0, 1], H and W >= 11.
        b: same shape as ``a``.

    Returns:
        (B,) float tensor in [-1, 1]; 1 for images with identical edge maps.

    Example:
        >>> img = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        >>> round(edge_ssim(img, 1 - img).item(), 4)
        1.0
    """
    a, b = _as_batch(a), _as_batch(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    return ssim(sobel_magnitude(a), sobel_magnitude(b))
