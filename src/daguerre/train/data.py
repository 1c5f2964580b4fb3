"""Training datasets: clean photos degraded on the fly, and unpaired crops.

Every sample is drawn from a generator seeded by ``(seed, epoch, index)``, so a sample is the
same whichever worker builds it and whatever was drawn before it; ``set_epoch`` moves to a
fresh set of crops and degradations.

Photos are downscaled to at most ``max_side`` pixels on the long side when read (scans can be
huge; training crops are 128-256 px), and held as float16 (11 bits of precision, finer than
8-bit sources): about 4.7 MB for a 1024x768 photo. With ``cache_images`` they stay in memory;
each DataLoader worker keeps its own cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from daguerre.degrade.base import Degradation
from daguerre.degrade.chain import apply_to_target, describe, run
from daguerre.degrade.presets import build_preset
from daguerre.errors import ConfigError, ImageReadError
from daguerre.io.discover import collect_inputs
from daguerre.io.image import read_image
from daguerre.train.mask_noise import noisy_mask
from daguerre.types import Tensor

__all__ = ["SyntheticPairs", "UnpairedImages", "random_crop", "sample_seed"]

logger = logging.getLogger(__name__)

# --- seeding and geometry -----------------------------------------------------------------


MASK_THRESHOLD = 0.25  # soft defect masks count as damaged above this (see degrade docs)


def sample_seed(*parts: int) -> int:
    """A 63-bit seed mixed from integers (e.g. ``seed, epoch, index``), stable across runs.

    Example:
        >>> sample_seed(0, 1, 2) == sample_seed(0, 1, 2) != sample_seed(0, 2, 1)
        True
    """
    packed = struct.pack(f"<{len(parts)}q", *parts)
    return int.from_bytes(hashlib.blake2b(packed, digest_size=8).digest(), "little") >> 1


def _uniform(gen: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=gen))


def _randint(gen: torch.Generator, low: int, high: int) -> int:
    """Uniform integer in [low, high], inclusive."""
    return int(torch.randint(low, high + 1, (), generator=gen))


def _pad_to(img: Tensor, size: int) -> Tensor:
    """Reflect-pad ``(C,H,W)`` to at least ``size`` x ``size`` (repeatedly if it is tiny)."""
    while img.shape[-2] < size or img.shape[-1] < size:
        need_h, need_w = max(size - img.shape[-2], 0), max(size - img.shape[-1], 0)
        pad_h, pad_w = min(need_h, img.shape[-2] - 1), min(need_w, img.shape[-1] - 1)
        if pad_h == 0 and pad_w == 0:  # a 1-pixel image cannot reflect
            return F.pad(img[None], (0, need_w, 0, need_h), mode="replicate")[0]
        top, left = pad_h // 2, pad_w // 2
        img = F.pad(img[None], (left, pad_w - left, top, pad_h - top), mode="reflect")[0]
    return img


def random_crop(
    img: Tensor, crop: int, scale_range: tuple[float, float], gen: torch.Generator
) -> Tensor:
    """A random ``crop`` x ``crop`` window of ``img`` downscaled by a random factor.

    Only the source window is resampled (not the whole photo), so the cost is that of the
    crop. The scale is raised where needed so the scaled photo still covers the crop; only
    photos smaller than the crop at native size are reflect-padded.

    Args:
        img: ``(3,H,W)`` float image.
        crop: output side in pixels.
        scale_range: (min, max) downscale factor of the photo, uniform; 1 = native pixels.
        gen: CPU generator.

    Returns:
        ``(3,crop,crop)`` float32 in [0, 1].

    Example:
        >>> out = random_crop(torch.rand(3, 50, 300), 64, (0.5, 1.0), torch.Generator())
        >>> tuple(out.shape)
        (3, 64, 64)
    """
    h, w = img.shape[-2:]
    # never shrink below the crop: padding would fill the crop with mirrored content
    scale = max(_uniform(gen, *scale_range), min(1.0, crop / min(h, w)))
    out_h, out_w = min(crop, max(1, round(h * scale))), min(crop, max(1, round(w * scale)))
    src_h, src_w = min(h, round(out_h / scale)), min(w, round(out_w / scale))
    y0, x0 = _randint(gen, 0, h - src_h), _randint(gen, 0, w - src_w)
    window = img[:, y0 : y0 + src_h, x0 : x0 + src_w].float()
    if (src_h, src_w) != (out_h, out_w):
        window = F.interpolate(
            window[None], size=(out_h, out_w), mode="bilinear", antialias=True, align_corners=False
        )[0]
    return _pad_to(window, crop).clamp(0.0, 1.0).contiguous()


def random_flip_rotate(img: Tensor, gen: torch.Generator) -> Tensor:
    """One of the 8 flips/90-degree rotations of a square ``(C,S,S)`` image, uniformly."""
    if bool(torch.rand((), generator=gen) < 0.5):
        img = img.flip(-1)
    return torch.rot90(img, _randint(gen, 0, 3), dims=(-2, -1)).contiguous()


# --- image store --------------------------------------------------------------------------


class _ImageStore:
    """Paths of the clean images and, optionally, their decoded, downscaled pixels."""

    def __init__(self, root: Path | Sequence[Path], *, max_side: int, cache: bool) -> None:
        inputs = [root] if isinstance(root, str | Path) else list(root)
        paths, problems = collect_inputs(inputs, recursive=True)
        for path, reason in problems:
            logger.warning("skipping %s: %s", path, reason)
        if not paths:
            reasons = "; ".join(f"{p}: {r}" for p, r in problems) or "no image files"
            raise ImageReadError(Path(inputs[0]) if inputs else Path(), reasons)
        self.paths = paths
        self.max_side = max_side
        self.cache = cache
        self._cached: dict[int, Tensor] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def get(self, index: int) -> Tensor:
        """``(3,H,W)`` float16 pixels in [0, 1], long side <= ``max_side``."""
        if index in self._cached:
            return self._cached[index]
        rgb = read_image(self.paths[index]).rgb
        h, w = rgb.shape[-2:]
        if max(h, w) > self.max_side:
            factor = self.max_side / max(h, w)
            size = (max(1, round(h * factor)), max(1, round(w * factor)))
            rgb = F.interpolate(rgb[None], size=size, mode="bilinear", antialias=True)[0]
            rgb = rgb.clamp(0.0, 1.0)
        rgb = rgb.half()  # same precision cached or not, so caching never changes a sample
        if self.cache:
            self._cached[index] = rgb
        return rgb


# --- datasets -----------------------------------------------------------------------------


class _PhotoSamples(Dataset[dict[str, Any]]):
    """Seeded samples cut from photos; sample ``index`` depends only on ``(seed, epoch, index)``."""

    def __init__(
        self, root: Path | str | Sequence[Path | str], *, crop: int = 128,
        scale_range: tuple[float, float] = (0.5, 1.0), seed: int = 0, length: int | None = None,
        cache_images: bool = True, max_side: int = 1024,
    ) -> None:  # fmt: skip
        assert crop > 0 and 0 < scale_range[0] <= scale_range[1], "need crop > 0, scales > 0"
        self.images = _ImageStore(root, max_side=max_side, cache=cache_images)  # type: ignore[arg-type]
        self.crop, self.scale_range, self.seed = crop, scale_range, seed
        self.length = len(self.images) if length is None else length
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw a fresh set of samples (call before each epoch, like ``DistributedSampler``)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def _draw(self, index: int) -> tuple[torch.Generator, Tensor]:
        """Sample ``index``'s generator and photo ``(3,H,W)``."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} samples")
        gen = torch.Generator("cpu").manual_seed(sample_seed(self.seed, self.epoch, index))
        return gen, self.images.get(index % len(self.images))


class SyntheticPairs(_PhotoSamples):
    """Clean photos paired with synthetically aged copies, made on the fly.

    Per sample: random downscale and crop of a clean photo, a random flip/rotation, then the
    degradation (a batch of one). The clean target receives the ops flagged
    ``applies_to_target`` (grayscale: a black-and-white input gets a black-and-white target).

    Args:
        root: folder(s) or file(s) of clean photos (read recursively).
        preset: a preset name (``daguerre.degrade.presets``) or a degradation.
        crop: side of the square crops in pixels.
        scale_range: (min, max) downscale factor applied to the photo before cropping.
        seed: base seed; samples depend only on ``(seed, epoch, index)``.
        length: samples per epoch; default one per photo.
        cache_images: keep decoded (downscaled) photos in memory.
        max_side: long-side limit of the decoded photos in pixels.
        return_params: also return ``"params"``, the JSON of the applied degradation.
        mask_dropout: if set, also return ``"mask_in"``: the hard defect mask (soft mask >
            0.25) for a generator with a mask input channel, zeroed with this probability so
            the network also learns to work without a mask.
        mask_noise: with ``mask_dropout``, the probability that a kept ``"mask_in"`` is made
            detector-like (misses and false marks, :func:`daguerre.train.mask_noise.
            noisy_mask`); the target stays the clean photo, so the restorer learns to keep
            clean content under a false mark.
        prefill: with ``mask_dropout``, the pixels of a kept ``"mask_in"`` are filled by
            OpenCV Telea in ``"degraded"`` (:func:`daguerre.pipelines.baseline.telea_inpaint`),
            so the network learns to refine a fill rather than to see through the damage.

    Raises:
        ImageReadError: no readable image under ``root``.
        UnknownNameError: unknown preset name.

    Example:
        >>> import tempfile
        >>> from daguerre.io.image import write_image
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     _ = write_image(Path(folder) / "a.png", torch.rand(3, 40, 50))
        ...     item = SyntheticPairs(folder, preset="unstructured", crop=32)[0]
        >>> tuple(item["degraded"].shape), tuple(item["mask"].shape)
        ((3, 32, 32), (1, 32, 32))
    """

    def __init__(
        self,
        root: Path | str | Sequence[Path | str],
        *,
        preset: str | Degradation[Any],
        crop: int = 128,
        scale_range: tuple[float, float] = (0.5, 1.0),
        seed: int = 0,
        length: int | None = None,
        cache_images: bool = True,
        max_side: int = 1024,
        return_params: bool = False,
        mask_dropout: float | None = None,
        mask_noise: float = 0.0,
        prefill: bool = False,
    ) -> None:
        super().__init__(root, crop=crop, scale_range=scale_range, seed=seed, length=length,
                         cache_images=cache_images, max_side=max_side)  # fmt: skip
        self.op = build_preset(preset) if isinstance(preset, str) else preset
        self.return_params, self.mask_dropout, self.mask_noise = (
            return_params,
            mask_dropout,
            mask_noise,
        )
        self.prefill = prefill

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Return ``degraded``/``clean`` ``(3,S,S)``, ``mask`` ``(1,S,S)`` float32 [0,1], index."""
        gen, photo = self._draw(index)
        clean = random_flip_rotate(random_crop(photo, self.crop, self.scale_range, gen), gen)
        result = run(self.op, clean[None], gen)
        target = apply_to_target(self.op, clean[None], result.params)[0]
        item: dict[str, Any] = {
            "degraded": result.image[0],
            "clean": target,
            "mask": result.mask[0],
            "index": index,
        }
        if self.mask_dropout is not None:
            keep = float(torch.rand((), generator=gen) >= self.mask_dropout)
            mask_in = (result.mask[0] > MASK_THRESHOLD).float()
            if self.mask_noise > 0 and float(torch.rand((), generator=gen)) < self.mask_noise:
                mask_in = noisy_mask(mask_in, clean, gen)
            item["mask_in"] = mask_in * keep
            if self.prefill and keep and bool(mask_in.any()):
                from daguerre.pipelines.baseline import telea_inpaint

                item["degraded"] = telea_inpaint(item["degraded"], mask_in)
        if self.return_params:
            item["params"] = json.dumps(describe(result.params))
        return item


class UnpairedImages(_PhotoSamples):
    """Random multi-scale crops with flips from a folder, or even a single image (a painting).

    Args:
        root: folder(s) or file(s) of images (read recursively).
        crop: side of the square crops in pixels.
        scale_range: (min, max) downscale factor applied to the image before cropping.
        seed: base seed; samples depend only on ``(seed, epoch, index)``.
        length: samples per epoch; default one per image (set it for a single painting).
        cache_images: keep decoded (downscaled) images in memory.
        max_side: long-side limit of the decoded images in pixels.

    Raises:
        ImageReadError: no readable image under ``root``.

    Example:
        >>> import tempfile
        >>> from daguerre.io.image import write_image
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     _ = write_image(Path(folder) / "art.png", torch.rand(3, 64, 80))
        ...     data = UnpairedImages(Path(folder) / "art.png", crop=32, length=10)
        ...     shape = tuple(data[9]["image"].shape)
        >>> len(data), shape
        (10, (3, 32, 32))
    """

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        """Return ``{"image": (3,S,S) float32 [0,1]}``."""
        gen, photo = self._draw(index)
        crop = random_crop(photo, self.crop, self.scale_range, gen)
        if bool(torch.rand((), generator=gen) < 0.5):
            crop = crop.flip(-1)
        return {"image": crop.contiguous()}


def stack_samples(dataset: Any) -> dict[str, Tensor]:
    """Every item of a small dataset (``len`` and ``[i]``) stacked: ``{key: (N,...)}``.

    Only tensor entries are kept.

    Example:
        >>> stack_samples([{"x": torch.zeros(2), "name": "a"}, {"x": torch.ones(2)}])["x"].shape
        torch.Size([2, 2])
    """
    items = [dataset[i] for i in range(len(dataset))]
    keys = [k for k, v in items[0].items() if torch.is_tensor(v)]
    return {k: torch.stack([item[k] for item in items]) for k in keys}


def sample_crops(make: Callable[..., Any], cfg: Any) -> dict[str, Tensor] | None:
    """Fixed crops for sample grids, stacked; None when ``cfg.data.sample_images`` is 0.

    ``make(cfg, crop=..., length=...)`` gets ``cfg.data.sample_crop`` and ``sample_images``.
    """
    if cfg.data.sample_images <= 0:
        return None
    return stack_samples(make(cfg, crop=cfg.data.sample_crop, length=cfg.data.sample_images))


def require_inputs(data: Any, **flags: str) -> None:
    """Check that every ``data.KEY`` names inputs; ``flags`` maps each key to its CLI option.

    Raises:
        ConfigError: e.g. ``data.a and data.b must be set: pass --a and --b``.

    Example:
        >>> from types import SimpleNamespace
        >>> require_inputs(SimpleNamespace(train=("photos",)), train="--data")
    """
    if not all(getattr(data, key) for key in flags):
        keys = " and ".join(f"data.{key}" for key in flags)
        raise ConfigError(f"{keys} must be set: pass {' and '.join(flags.values())}")
