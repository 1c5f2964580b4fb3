"""Where a photo is damaged: detect scratches, dust and tears, or read the user's own mask.

A defect mask is ``(1,H,W)`` (or ``(B,1,H,W)``) float32, 1 = damaged. It comes from one of:

* ``"auto"``: the scratch detector (:func:`detect_defects`, tiled, then :func:`defect_mask`);
* a mask file (white = damaged, same pixel size as the photo; :func:`load_mask_file`);
* a folder of mask files named ``<photo stem>.png``;
* ``"off"``: no mask.

:func:`resolve_scratch_mask` turns such a spec into a mask for the restorer
(:func:`daguerre.pipelines.restore.restore_tensor` ``mask=``). Memory: the detector runs tile
by tile and every mask is one channel, so memory grows with the pixel count only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from daguerre.errors import DaguerreError
from daguerre.infer import TileConfig, pad_to_min, resolve_device, resolve_precision, run_tiled
from daguerre.infer.multiscale import ScaleEnsemble, check_scales, is_identity
from daguerre.pipelines.convert import LUMA
from daguerre.pipelines.manifest import detector_manifest

DEFAULT_DETECTOR = "scratch"
MASK_SPECS = ("off", "auto")  # anything else is a mask file or a folder of masks


def tile_config(tile: int, overlap: int) -> TileConfig:
    """The tiling of a pipeline's ``tile``/``overlap`` options (restorer and detector alike).

    The out-of-memory backoff may halve the tile down to 128 px (or the tile itself, if
    smaller, but at least 64), always above ``overlap``.

    Raises:
        ConfigError: a negative tile or overlap, or an overlap not below the tile.
    """
    min_tile = min(128, max(tile, 64)) if tile else 128
    return TileConfig(tile=tile, overlap=overlap, min_tile=max(min_tile, overlap + 1))


@dataclass(frozen=True)
class DetectOptions:
    """How to detect defects.

    Args:
        model: a shipped detector name or a model folder (e.g. a training run's ``best/``).
        threshold: probability above which a pixel counts as damaged, in [0, 1]; ``None``
            takes the detector's calibrated threshold (``extra.threshold`` in its
            ``config.json``, chosen for the best F1 on training photos; 0.5 if absent).
        for_restore: the mask will be inpainted, so with ``threshold=None`` take the
            detector's ``extra.restore_threshold`` when it has one (chosen for the best
            restored PSNR on training photos: a false mark erases real detail, so it is
            usually stricter than the F1 threshold).
        dilate: grow the hard mask by this many pixels (covers the soft edges of thin
            scratches, which the restorer must inpaint too).
        scales: input scales whose logits are averaged (:class:`~daguerre.infer.multiscale.
            ScaleEnsemble`), e.g. ``(1.0, 1.5)``; ``None`` takes the detector's own
            (``extra.scales`` in its ``config.json``; ``(1.0,)`` if absent). Thresholds are
            calibrated for the detector's own scales.
        tile: tile side in pixels (0 = whole image at once).
        overlap: pixels shared by neighbouring tiles (blended).
        device: "auto", "cpu", "cuda", "cuda:1", "mps".
        precision: "auto" (fp16 on CUDA, bf16 on a CPU with native bf16, else fp32),
            "fp32", "fp16", "bf16". bf16 moves the calibrated F1 by under 0.001.

    Raises:
        ValueError: threshold outside [0, 1] or negative dilation.
        ConfigError: invalid tile/overlap.
    """

    model: str = DEFAULT_DETECTOR
    threshold: float | None = None
    for_restore: bool = False
    dilate: int = 2
    scales: tuple[float, ...] | None = None
    tile: int = 512
    overlap: int = 32
    device: str = "auto"
    precision: str = "auto"

    def __post_init__(self) -> None:
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.dilate < 0:
            raise ValueError(f"dilate must be >= 0 pixels, got {self.dilate}")
        if self.scales is not None:
            object.__setattr__(self, "scales", check_scales(self.scales))
        self.tiles()  # validates tile/overlap early (ConfigError)

    def tiles(self) -> TileConfig:
        """The tiling config these options describe."""
        return tile_config(self.tile, self.overlap)


@dataclass(frozen=True)
class LoadedDetector:
    """A loaded defect detector and the input-size multiple it needs."""

    net: torch.nn.Module
    pad_multiple: int
    threshold: float  # calibrated damage threshold (config ``extra.threshold``, else 0.5)
    restore_threshold: float  # for inpainting (``extra.restore_threshold``, else ``threshold``)
    scales: tuple[float, ...] = (1.0,)  # input scales averaged (config ``extra.scales``)


def detect_threshold(options: DetectOptions) -> float:
    """``options.threshold``, or the detector's calibrated one when that is ``None``.

    With ``options.for_restore`` the calibrated one is the detector's restore threshold.
    """
    if options.threshold is not None:
        return options.threshold
    loaded = load_detector(str(options.model), str(resolve_device(options.device)))
    return loaded.restore_threshold if options.for_restore else loaded.threshold


@functools.lru_cache(maxsize=2)
def load_detector(model: str, device: str) -> LoadedDetector:
    """Load (and cache) a scratch detector on ``device``; float32, eval mode.

    Raises:
        CheckpointNotFoundError: no such shipped model or folder.
        ManifestError: its ``extra`` is not a detector manifest (e.g. ``extra.scales`` is
            not a list of distinct factors in [0.25, 4]).
        DaguerreError: the model is not a scratch detector (e.g. a restoration model).
    """
    from daguerre.weights import load_model

    net, config = load_model(model)
    if config.kind != "scratch":
        raise DaguerreError(f"model '{model}' is a {config.kind} model, not a scratch detector")
    manifest = detector_manifest(model, config.extra)
    net = net.to(torch.device(device)).eval()
    return LoadedDetector(
        net, config.pad_multiple, manifest.threshold, manifest.restore_threshold, manifest.scales
    )


@torch.inference_mode()
def detect_defects(
    rgb: torch.Tensor, options: DetectOptions | None = None, *, progress: Any = None
) -> torch.Tensor:
    """Per-pixel probability of damage (scratch, dust, crease, tear, stain rim).

    The detector runs tile by tile with feathered overlaps (its logits are blended, then the
    sigmoid is applied), so the result does not depend on the tiling beyond float rounding
    when ``overlap`` covers the network's context. With several ``scales`` every tile is also
    run enlarged (or shrunk) and the logits averaged, still tile by tile.

    Args:
        rgb: ``(3,H,W)`` or ``(B,3,H,W)`` float32 in [0, 1].
        options: detector model, tiling, device.
        progress: called as ``progress(done, total)`` per tile.

    Returns:
        ``(1,H,W)`` or ``(B,1,H,W)`` float32 probabilities in [0, 1], on ``rgb``'s device.

    Raises:
        CheckpointNotFoundError: the detector model does not exist.
    """
    options = options or DetectOptions()
    device = resolve_device(options.device)
    loaded = load_detector(str(options.model), str(device))
    scales = options.scales if options.scales is not None else loaded.scales
    net = loaded.net
    if not is_identity(scales):
        net = ScaleEnsemble(net, scales, loaded.pad_multiple)
    h, w = rgb.shape[-2:]
    logits = run_tiled(
        net,
        pad_to_min(rgb, 2 * loaded.pad_multiple),
        options.tiles(),
        pad_multiple=loaded.pad_multiple,
        device=device,
        out_channels=1,
        autocast_dtype=resolve_precision(device, options.precision, bf16_where_fast=True),
        progress=progress,
    )
    return logits[..., :h, :w].sigmoid_()


def defect_mask(prob: torch.Tensor, threshold: float = 0.5, dilate: int = 2) -> torch.Tensor:
    """Hard mask from probabilities: ``prob > threshold``, grown by ``dilate`` pixels.

    Args:
        prob: ``(1,H,W)`` or ``(B,1,H,W)`` float in [0, 1].
        threshold: damage threshold.
        dilate: square dilation radius in pixels (0 = none).

    Returns:
        Same shape, float32 in {0, 1}, 1 = damaged.

    Example:
        >>> prob = torch.zeros(1, 7, 7); prob[0, 3, 3] = 0.9
        >>> int(defect_mask(prob, 0.5, dilate=1).sum())
        9
    """
    mask = (prob > threshold).float()
    if dilate <= 0:
        return mask
    batched = mask if mask.ndim == 4 else mask[None]
    grown = F.max_pool2d(batched, kernel_size=2 * dilate + 1, stride=1, padding=dilate)
    return grown if mask.ndim == 4 else grown[0]


def load_mask_file(path: str | Path, size: tuple[int, int]) -> torch.Tensor:
    """Read a user's defect mask: white (luma > 0.5) = damaged, transparent = undamaged.

    Any image mode works (gray, RGB, palette, 16-bit, with alpha); EXIF orientation is applied
    as for the photo, so a mask drawn on the upright photo fits.

    Args:
        path: the mask image.
        size: the photo's ``(height, width)`` after EXIF orientation.

    Returns:
        ``(1,H,W)`` float32 in {0, 1}.

    Raises:
        ImageReadError: unreadable file.
        DaguerreError: the mask's pixel size differs from the photo's.
    """
    from daguerre.io.image import read_image

    loaded = read_image(path)
    height, width = loaded.rgb.shape[-2:]
    if (height, width) != tuple(size):
        raise DaguerreError(
            f"mask {path} is {width}x{height} pixels but the photo is {size[1]}x{size[0]}; "
            "a mask must have the photo's pixel size (white = damaged)"
        )
    weights = torch.tensor(LUMA, dtype=torch.float32).view(3, 1, 1)
    value = (loaded.rgb * weights).sum(dim=0, keepdim=True)
    if loaded.alpha is not None:
        value = value * loaded.alpha
    return (value > 0.5).float()


def resolve_scratch_mask(
    spec: str,
    rgb: torch.Tensor,
    *,
    image_path: str | Path | None = None,
    options: DetectOptions | None = None,
    key: str | None = None,
) -> torch.Tensor | None:
    """Turn a ``--scratches`` value into a defect mask for ``rgb``.

    Args:
        spec: ``"off"``, ``"auto"``, a mask file, or a folder holding ``<stem>.png`` masks.
        rgb: ``(3,H,W)`` or ``(B,3,H,W)`` float32 [0, 1] photo(s).
        image_path: the photo's file (needed for a folder of masks: its stem names the mask).
        options: detector settings for ``"auto"``.
        key: the mask's name inside a folder, without extension (e.g. ``"sub/photo"`` for a
            recursive batch); default the stem of ``image_path``.

    Returns:
        ``None`` for ``"off"``, else ``(1,H,W)`` / ``(B,1,H,W)`` float32 in {0, 1}, 1 = damaged.

    Raises:
        DaguerreError: the spec is neither a keyword nor an existing file or folder, the
            folder has no mask for this photo, or the mask's size differs from the photo's.

    Example:
        >>> resolve_scratch_mask("off", torch.rand(3, 8, 8)) is None
        True
    """
    if spec == "off":
        return None
    options = options or DetectOptions()
    if spec == "auto":
        prob = detect_defects(rgb, options)
        return defect_mask(prob, detect_threshold(options), options.dilate)
    source = Path(spec)
    if source.is_dir():
        if image_path is None and key is None:
            raise DaguerreError(f"a folder of masks ({source}) needs the photo's file name")
        source = source / f"{key if key is not None else Path(str(image_path)).stem}.png"
        if not source.is_file():
            raise DaguerreError(f"no mask for this photo: {source} does not exist")
    elif not source.is_file():
        raise DaguerreError(
            f"scratches '{spec}': expected off, auto, a mask file or a folder of masks"
        )
    mask = load_mask_file(source, (rgb.shape[-2], rgb.shape[-1])).to(rgb.device)
    return mask.expand(rgb.shape[0], -1, -1, -1) if rgb.ndim == 4 else mask
