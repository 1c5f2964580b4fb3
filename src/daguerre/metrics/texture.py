"""Does a style paint, or only grade colours? Two measures of issue 27.

* :func:`lut_residual_rms` ("texture"): fit a 3-D lookup table from the input's colours to the
  output's colours, and report the RMS of what the table cannot explain. Any per-colour map
  (a colour grade, a tone curve, a channel mix) is explained by the table and scores ~0;
  brush strokes, swirls and grain put different output colours on the same input colour and
  score higher. The table has ``bins**3`` nodes over the RGB cube and is either interpolated
  trilinearly (``"trilinear"``, the default: as a ``.cube`` colour-grading LUT is applied,
  exact for any affine colour map) or one mean per bin (``"nearest"``: the colours inside a
  bin vary, so even a smooth grade leaves a floor of ~0.01-0.02 at 16 bins).
* :func:`edges_kept` ("edges"): the share of the input's Canny edges that have a Canny edge of
  the output within ``radius`` pixels, i.e. whether the content's outlines survive.
  It is a recall: an output covered in texture edges scores high without keeping anything,
  so read it together with the texture measure and the images.

Both take float RGB ``(3,H,W)`` tensors in [0, 1] of the same size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np
import torch

if TYPE_CHECKING:  # scipy is the ``metrics`` extra: imported where it is used
    from scipy.sparse import csr_matrix

LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # BT.601
CANNY_THRESHOLDS = (50, 150)  # on 8-bit luminance, Sobel aperture 3 (cv2's defaults)


def _pixels(img: torch.Tensor) -> np.ndarray:
    """(3,H,W) float [0,1] -> (H*W, 3) float64 clamped to [0, 1]."""
    if img.ndim != 3 or img.shape[0] != 3:
        raise ValueError(f"expected a (3,H,W) image, got shape {tuple(img.shape)}")
    return img.detach().float().cpu().clamp(0, 1).reshape(3, -1).T.numpy().astype(np.float64)


def _check_pair(source: torch.Tensor, output: torch.Tensor) -> None:
    if source.shape != output.shape:
        raise ValueError(f"input {tuple(source.shape)} and output {tuple(output.shape)} differ")


def _trilinear_weights(rgb: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Node indices and weights of each colour in a ``bins**3`` lattice over [0,1]^3.

    Args:
        rgb: (N,3) float in [0, 1].
        bins: nodes per axis (>= 2).

    Returns:
        ``(N,8)`` int64 flat node indices and ``(N,8)`` float64 weights summing to 1 per row.
    """
    pos = rgb * (bins - 1)
    low = np.minimum(np.floor(pos).astype(np.int64), bins - 2)
    frac = pos - low
    cols, weights = [], []
    for corner in range(8):
        offs = np.array([(corner >> k) & 1 for k in range(3)])
        node = low + offs
        cols.append((node[:, 0] * bins + node[:, 1]) * bins + node[:, 2])
        weights.append(np.prod(np.where(offs == 1, frac, 1 - frac), axis=1))
    return np.stack(cols, 1), np.stack(weights, 1)


def _solve_nodes(design: csr_matrix, target: np.ndarray, ridge: float = 1e-9) -> np.ndarray:
    """Least-squares node colours: ``(N,K)`` sparse weights, ``(N,3)`` targets -> ``(K,3)``.

    Normal equations on the nodes some pixel touches (a tiny ridge keeps nodes that only
    share pixels with others well-posed); untouched nodes stay 0 and never enter a prediction.
    """
    from scipy.sparse import identity
    from scipy.sparse.linalg import spsolve

    gram = (design.T @ design).tocsc()
    used = np.flatnonzero(gram.diagonal() > 0)
    sub = gram[used][:, used]
    scale = ridge * float(sub.diagonal().mean())
    rhs = np.asarray(design.T @ target)[used]
    nodes = np.zeros((design.shape[1], target.shape[1]))
    nodes[used] = np.asarray(spsolve((sub + scale * identity(len(used))).tocsc(), rhs)).reshape(
        len(used), -1
    )
    return nodes


def lut_fit(
    source: torch.Tensor,
    output: torch.Tensor,
    bins: int = 16,
    mode: Literal["trilinear", "nearest"] = "trilinear",
) -> torch.Tensor:
    """What a per-colour lookup table of ``source`` predicts for ``output`` (least squares).

    Args:
        source: (3,H,W) float RGB in [0, 1], the input photo.
        output: (3,H,W) float RGB in [0, 1], the stylised photo.
        bins: nodes (trilinear) or bins (nearest) per colour axis.
        mode: ``"trilinear"`` interpolates between nodes; ``"nearest"`` is one mean per bin.

    Returns:
        (3,H,W) float32: the table's output for every pixel of ``source``.

    Raises:
        ValueError: the images are not (3,H,W) of one size, or ``bins`` < 2.
    """
    _check_pair(source, output)
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    x, y = _pixels(source), _pixels(output)
    n = x.shape[0]
    if mode == "nearest":
        idx = np.minimum((x * bins).astype(np.int64), bins - 1)
        flat = (idx[:, 0] * bins + idx[:, 1]) * bins + idx[:, 2]
        counts = np.bincount(flat, minlength=bins**3)
        means = (
            np.stack([np.bincount(flat, y[:, c], minlength=bins**3) for c in range(3)], 1)
            / np.maximum(counts, 1)[:, None]
        )
        pred = means[flat]
    else:
        from scipy.sparse import csr_matrix

        cols, weights = _trilinear_weights(x, bins)
        rows = np.repeat(np.arange(n), 8)
        design = csr_matrix((weights.ravel(), (rows, cols.ravel())), shape=(n, bins**3))
        pred = design @ _solve_nodes(design, y)
    h, w = source.shape[-2:]
    return torch.from_numpy(pred.T.reshape(3, h, w).astype(np.float32))


def lut_residual_rms(
    source: torch.Tensor,
    output: torch.Tensor,
    bins: int = 16,
    mode: Literal["trilinear", "nearest"] = "trilinear",
) -> float:
    """Texture: RMS (over pixels and channels) of ``output`` minus :func:`lut_fit`.

    0 for a pure per-colour map of ``source``; about the noise's standard deviation for
    ``map(source) + noise``. Same arguments as :func:`lut_fit`.

    Example:
        >>> x = torch.rand(3, 32, 32)
        >>> lut_residual_rms(x, 0.8 * x + 0.1) < 1e-4
        True
    """
    pred = lut_fit(source, output, bins, mode)
    return float(((output.detach().float().cpu().clamp(0, 1) - pred) ** 2).mean().sqrt())


def canny_edges(img: torch.Tensor, thresholds: tuple[int, int] = CANNY_THRESHOLDS) -> np.ndarray:
    """Canny edges of the 8-bit BT.601 luminance of a (3,H,W) [0,1] image: (H,W) bool."""
    rgb = _pixels(img)
    luma = (rgb @ LUMA_WEIGHTS.astype(np.float64)).reshape(img.shape[-2:])
    return cv2.Canny(np.round(luma * 255).astype(np.uint8), *thresholds) > 0


def edges_kept(
    source: torch.Tensor,
    output: torch.Tensor,
    radius: float = 2.0,
    thresholds: tuple[int, int] = CANNY_THRESHOLDS,
) -> float:
    """Share of ``source``'s Canny edge pixels with an ``output`` edge within ``radius`` px.

    Args:
        source: (3,H,W) float RGB in [0, 1], the input photo.
        output: (3,H,W) float RGB in [0, 1], the stylised photo (same size).
        radius: Euclidean distance in pixels.
        thresholds: Canny hysteresis thresholds on 8-bit luminance.

    Returns:
        In [0, 1]; 1.0 when ``source`` has no edges at all.

    Raises:
        ValueError: the images are not (3,H,W) of one size.
    """
    _check_pair(source, output)
    src, out = canny_edges(source, thresholds), canny_edges(output, thresholds)
    if not src.any():
        return 1.0
    # distance of every pixel to the nearest output edge (edges are the zeros)
    dist = cv2.distanceTransform((~out).astype(np.uint8), cv2.DIST_L2, 5)
    return float((dist[src] <= radius).mean())
