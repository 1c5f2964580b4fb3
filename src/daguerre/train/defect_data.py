"""Detector training data: drawn damage on clean photos and on real old scans.

A detector trained only on our damage over clean photos learns two shortcuts: our way of
drawing a scratch, and "anything bright and thin on a modern photo is damage". Real toned
prints are full of bright thin detail (white collars, highlights, braces, halftone, paper
grain), so :class:`RealBackgrounds` draws damage onto crops of real scans: there the scans'
own detail is a negative. A scan may carry real damage of its own, which must not be taught as
background, so scans whose names say they are scratched are left out, and pixels that an
existing detector already finds damaged are ignored in the loss (``"valid"`` is 0 there).

:class:`Mixture` draws each sample from one of several datasets with fixed probabilities.
Every item has ``degraded`` / ``clean`` ``(3,S,S)``, ``mask`` and ``valid`` ``(1,S,S)``
float32 in [0, 1] and ``index``; samples depend only on ``(seed, epoch, index)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from daguerre.io.discover import collect_inputs
from daguerre.train.data import MASK_THRESHOLD, SyntheticPairs, sample_seed

SCRATCHED_SCANS = ("w_scratch",)  # name parts of scans known to carry real cracks


def scan_files(roots: Sequence[Path | str], exclude: Sequence[str] = SCRATCHED_SCANS) -> list[Path]:
    """The image files under ``roots`` whose names contain none of ``exclude``."""
    paths, _ = collect_inputs([Path(r) for r in roots], recursive=True)
    return [p for p in paths if not any(part in p.name for part in exclude)]


def known_damage(prob: torch.Tensor, threshold: float, grow: int = 3) -> torch.Tensor:
    """``(1,S,S)`` {0, 1}: where ``prob`` exceeds ``threshold``, grown by ``grow`` pixels.

    Example:
        >>> prob = torch.zeros(1, 9, 9); prob[0, 4, 4] = 0.9
        >>> int(known_damage(prob, 0.5, grow=1).sum())
        9
    """
    hard = (prob > threshold).float()[None]
    return F.max_pool2d(hard, 2 * grow + 1, stride=1, padding=grow)[0]


class RealBackgrounds(Dataset[dict[str, Any]]):
    """Damage drawn by ``preset`` onto crops of real old scans, with known damage ignored.

    Args:
        roots: folders of real scans (e.g. ``../shared/data/old``).
        preset: the damage to draw (no ageing: the scans are old already).
        crop: crop side in pixels.
        seed: base seed.
        detector: the detector whose confident marks on the undamaged crop are ignored
            (a shipped name or model folder); ``""`` ignores nothing.
        ignore_above: its probability above which a pixel is ignored.
        exclude: scans whose names contain any of these are left out.

    Raises:
        ImageReadError: no readable scan.
    """

    def __init__(
        self,
        roots: Sequence[Path | str],
        *,
        preset: str,
        crop: int,
        seed: int,
        detector: str = "scratch",
        ignore_above: float = 0.5,
        exclude: Sequence[str] = SCRATCHED_SCANS,
    ) -> None:
        files = scan_files(roots, exclude)
        self.pairs = SyntheticPairs(files, preset=preset, crop=crop, seed=seed, length=10**12)
        self.detector, self.ignore_above = detector, ignore_above

    def set_epoch(self, epoch: int) -> None:
        """Draw fresh crops and damage."""
        self.pairs.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """The damaged crop, its mask, and ``valid`` = 0 on damage the detector already sees."""
        item = self.pairs[index]
        valid = torch.ones_like(item["mask"])
        if self.detector:
            from daguerre.pipelines.scratches import DetectOptions, detect_defects

            options = DetectOptions(model=self.detector, scales=(1.0,), device="cpu")
            seen = known_damage(detect_defects(item["clean"], options), self.ignore_above)
            drawn = (item["mask"] > MASK_THRESHOLD).float()
            valid = torch.maximum(1.0 - seen, drawn)  # drawn damage always counts
        return {**item, "valid": valid}


class Mixture(Dataset[dict[str, Any]]):
    """Each sample from one of ``sources``, chosen with ``probs`` by ``(seed, index)``.

    Items without ``valid`` get one of ones (every pixel counts).

    Example:
        >>> class Const(Dataset):
        ...     def __init__(self, v): self.v = v
        ...     def __len__(self): return 10
        ...     def __getitem__(self, i): return {"mask": torch.full((1, 2, 2), self.v)}
        >>> mix = Mixture([Const(0.0), Const(1.0)], [0.5, 0.5], seed=0, length=200)
        >>> 60 < sum(int(mix[i]["mask"].max()) for i in range(200)) < 140
        True
    """

    def __init__(
        self, sources: Sequence[Dataset[Any]], probs: Sequence[float], *, seed: int, length: int
    ) -> None:
        assert len(sources) == len(probs) > 0 and min(probs) >= 0 and sum(probs) > 0
        self.sources, self.seed, self.length = list(sources), seed, length
        self.probs = torch.tensor(probs, dtype=torch.float64)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Move every source (and the choice of source) to a fresh epoch."""
        self.epoch = epoch
        for source in self.sources:
            if hasattr(source, "set_epoch"):
                source.set_epoch(epoch)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        """The sample ``index`` of the source drawn for it."""
        gen = torch.Generator().manual_seed(sample_seed(self.seed + 991, self.epoch, index))
        choice = int(torch.multinomial(self.probs, 1, generator=gen))
        item = self.sources[choice][index]
        if "valid" not in item:
            item = {**item, "valid": torch.ones_like(item["mask"])}
        return item
