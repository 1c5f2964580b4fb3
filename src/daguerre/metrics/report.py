"""Evaluation reports: the results table (JSON, CSV, summary) and labelled contact sheets.

:class:`EvalTable` holds per-image and per-set scores of several methods (``"input"`` plus
each restorer); :mod:`daguerre.metrics.evaluate` fills it.
:func:`render_sheet` lays out one row per photo and one column per version (e.g. degraded |
baseline | ours | ground truth) at a fixed total width, with column headers, a title line
per row and an optional caption under each cell (e.g. its PSNR). :func:`label_image` stamps a
text banner on one image. Text uses Pillow's default font (scalable when FreeType is present).
Inputs and outputs are float32 RGB tensors in [0, 1]; Pillow is used only for drawing.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from daguerre.io.image import from_pil, to_pil

INPUT = "input"  # the method name of the unrestored (degraded / scanned) image
FD_METRIC = "fd_mobilenet_v2"  # FD-MobileNetV2, lower is better; never call it FID
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "niqe": False, FD_METRIC: False}
FONT_SIZE = 16  # px; readable on a 1600-px-wide sheet
MARGIN = 8  # px between cells and around the sheet
LINE = FONT_SIZE + 6  # px per text line
MAX_CELL_ASPECT = 1.5  # a cell is at most this many times taller than wide (portraits letterbox)
BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)
HEADER_TEXT = (90, 90, 90)


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalRow:
    """Scores of one image.

    Attributes:
        image: the image's name (the CLI uses the file stem).
        height: pixel height as evaluated (after any downscale).
        width: pixel width as evaluated.
        scores: ``{method: {metric: value}}``, e.g. ``{"ours": {"psnr": 27.1, "ssim": 0.82}}``.
    """

    image: str
    height: int
    width: int
    scores: Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class EvalTable:
    """Per-image and per-set scores of several methods on one image set.

    Attributes:
        kind: ``"paired"`` (PSNR/SSIM vs ground truth) or ``"real"`` (NIQE, no reference).
        metrics: per-image metrics, primary first (``("psnr", "ssim")`` or ``("niqe",)``).
        methods: ``"input"`` first, then the restorers in the order given.
        rows: one per scored image, in input order.
        set_scores: ``{metric: {method: value}}`` for set-level metrics (FD-MobileNetV2).
        skipped: ``(image, reason)`` for images that cannot be scored (e.g. too small).
        failed: ``(image, reason)`` for images whose reading or restoring failed.
        notes: free-text remarks for the report (e.g. why FD was not computed).
        settings: how the table was made (preset, seed, model, ...), copied into the JSON.
    """

    kind: Literal["paired", "real"]
    metrics: tuple[str, ...]
    methods: tuple[str, ...]
    rows: tuple[EvalRow, ...] = ()
    set_scores: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    skipped: tuple[tuple[str, str], ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)

    def mean(self, method: str, metric: str) -> float:
        """Mean of ``metric`` for ``method`` over the rows (NaN when there are none)."""
        values = [row.scores[method][metric] for row in self.rows]
        return float(np.mean(values)) if values else math.nan

    def improved(self, method: str) -> int:
        """How many images ``method`` scores better than the input on the primary metric."""
        metric = self.metrics[0]
        sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
        return sum(
            sign * (row.scores[method][metric] - row.scores[INPUT][metric]) > 0 for row in self.rows
        )

    def summary(self) -> dict[str, dict[str, float | int]]:
        """``{method: {"count", <metric means>..., "improved", <set metrics>...}}``.

        ``improved`` (absent for ``"input"``) counts images where the method beats the input
        on ``metrics[0]``: higher PSNR, or lower NIQE.
        """
        out: dict[str, dict[str, float | int]] = {}
        for method in self.methods:
            entry: dict[str, float | int] = {"count": len(self.rows)}
            entry |= {metric: self.mean(method, metric) for metric in self.metrics}
            if method != INPUT:
                entry["improved"] = self.improved(method)
            entry |= {k: v[method] for k, v in self.set_scores.items() if method in v}
            out[method] = entry
        return out

    def to_json(self) -> str:
        """The whole table as indented JSON (NaN written as null)."""
        record = {
            "kind": self.kind,
            "settings": dict(self.settings),
            "metrics": list(self.metrics),
            "methods": list(self.methods),
            "higher_is_better": {m: HIGHER_IS_BETTER[m] for m in (*self.metrics, *self.set_scores)},
            "summary": self.summary(),
            "images": [dataclasses.asdict(row) for row in self.rows],
            "skipped": [{"image": n, "reason": r} for n, r in self.skipped],
            "failed": [{"image": n, "reason": r} for n, r in self.failed],
            "notes": list(self.notes),
        }
        return json.dumps(_nan_to_none(record), indent=2) + "\n"

    def to_csv(self) -> str:
        """One line per image: ``image,height,width,<method>_<metric>...`` (6 decimals)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        pairs = [(method, metric) for method in self.methods for metric in self.metrics]
        writer.writerow(["image", "height", "width", *(f"{a}_{b}" for a, b in pairs)])
        for row in self.rows:
            values = [f"{row.scores[a][b]:.6f}" for a, b in pairs]
            writer.writerow([row.image, row.height, row.width, *values])
        return buffer.getvalue()


def _nan_to_none(value: Any) -> Any:
    """Replace float NaN/inf (not valid JSON) with None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _nan_to_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_nan_to_none(item) for item in value]
    return value


# --- contact sheets -------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetRow:
    """One photo on a sheet.

    Attributes:
        title: text above the row (e.g. the file name).
        images: one (3,H,W) float32 [0,1] tensor per column; sizes may differ (each is fitted
            into its cell, keeping its aspect ratio).
        captions: one line under each cell (e.g. "PSNR 27.31 dB"), or empty for none.
    """

    title: str
    images: tuple[torch.Tensor, ...]
    captions: tuple[str, ...] = ()


def _font(size: int = FONT_SIZE) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's default font at ``size`` px (the fixed bitmap font without FreeType)."""
    return ImageFont.load_default(size=size)


def _fit(img: torch.Tensor, width: int, height: int) -> Image.Image:
    """(3,H,W) [0,1] -> a Pillow image fitted inside ``width`` x ``height``, aspect kept."""
    picture = to_pil(img.detach().float().cpu())
    ratio = min(width / picture.width, height / picture.height)
    size = (max(1, round(picture.width * ratio)), max(1, round(picture.height * ratio)))
    return picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[int, int],
    text: str,
    width: int,
    fill: tuple[int, int, int] = TEXT,
) -> None:
    """Draw one line, cut with an ellipsis so it stays within ``width`` px."""
    font = _font()
    if draw.textlength(text, font=font) > width:
        while text and draw.textlength(text + "...", font=font) > width:
            text = text[:-1]
        text += "..."
    draw.text(xy, text, font=font, fill=fill)


def sheet_layout(rows: Sequence[SheetRow], columns: int, width: int) -> tuple[int, list[int], int]:
    """Cell width, each row's cell height and the total sheet height, in pixels.

    Args:
        rows: the rows; each row's cell height follows its first image's aspect ratio,
            capped at ``MAX_CELL_ASPECT`` times the cell width.
        columns: number of columns.
        width: total sheet width.

    Example:
        >>> row = SheetRow("a", (torch.zeros(3, 50, 100),))
        >>> sheet_layout([row], 2, 224)  # (224 - 3 * 8) // 2 = 100 px cells
        (100, [50], 110)
    """
    cell = (width - (columns + 1) * MARGIN) // columns
    if cell < 8:
        raise ValueError(f"sheet width {width} is too small for {columns} columns")
    heights = []
    for row in rows:
        h, w = row.images[0].shape[-2:]
        heights.append(max(1, min(round(cell * h / w), round(cell * MAX_CELL_ASPECT))))
    caption = LINE if any(row.captions for row in rows) else 0
    total = MARGIN + LINE + sum(LINE + h + caption + MARGIN for h in heights)
    return cell, heights, total


def render_sheet(
    rows: Sequence[SheetRow], columns: Sequence[str], *, width: int = 1600
) -> torch.Tensor:
    """Render a labelled contact sheet: column headers, then per row a title and the cells.

    Args:
        rows: the photos, each with ``len(columns)`` images (and captions, if any).
        columns: column headers, e.g. ``("degraded", "baseline", "ours", "ground truth")``.
        width: sheet width in pixels; cells are scaled to fit (down or up).

    Returns:
        (3,H,W) float32 in [0,1] with W == ``width``; H follows from the rows' aspect ratios.

    Raises:
        ValueError: no rows, or a row whose image/caption count does not match ``columns``.

    Example:
        >>> img = torch.rand(3, 60, 80, generator=torch.Generator().manual_seed(0))
        >>> sheet = render_sheet([SheetRow("a.png", (img, img), ("x", "y"))], ("in", "out"))
        >>> sheet.shape[0], sheet.shape[2]
        (3, 1600)
    """
    if not rows:
        raise ValueError("a sheet needs at least one row")
    for row in rows:
        if len(row.images) != len(columns) or (row.captions and len(row.captions) != len(columns)):
            raise ValueError(
                f"row '{row.title}' has {len(row.images)} images and {len(row.captions)} "
                f"captions for {len(columns)} columns"
            )
    cell, heights, total = sheet_layout(rows, len(columns), width)
    canvas = Image.new("RGB", (width, total), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    xs = [MARGIN + index * (cell + MARGIN) for index in range(len(columns))]
    for x, header in zip(xs, columns, strict=True):
        _text(draw, (x, MARGIN), header, cell, fill=HEADER_TEXT)
    y = MARGIN + LINE
    for row, height in zip(rows, heights, strict=True):
        _text(draw, (MARGIN, y), row.title, width - 2 * MARGIN, fill=TEXT)
        y += LINE
        for index, (x, img) in enumerate(zip(xs, row.images, strict=True)):
            picture = _fit(img, cell, height)
            canvas.paste(
                picture, (x + (cell - picture.width) // 2, y + (height - picture.height) // 2)
            )
            if row.captions:
                _text(draw, (x, y + height + 3), row.captions[index], cell, fill=TEXT)
        y += height + (LINE if any(r.captions for r in rows) else 0) + MARGIN
    return from_pil(canvas)[0]


def label_image(img: torch.Tensor, text: str) -> torch.Tensor:
    """Stamp ``text`` on a white banner in the image's top-left corner.

    Args:
        img: (3,H,W) float32 in [0, 1].
        text: one line; cut to the image width.

    Returns:
        A new (3,H,W) float32 tensor in [0, 1] (8-bit quantised).

    Example:
        >>> label_image(torch.zeros(3, 40, 120), "ours").shape
        torch.Size([3, 40, 120])
    """
    picture = to_pil(img.detach().float().cpu())
    draw = ImageDraw.Draw(picture)
    font = _font()
    right = min(picture.width, int(draw.textlength(text, font=font)) + 8)
    draw.rectangle((0, 0, right, min(picture.height, LINE)), fill=BACKGROUND)
    _text(draw, (4, 2), text, picture.width - 8, fill=TEXT)
    return from_pil(picture)[0].to(img.device)


__all__ = [
    "FD_METRIC",
    "HIGHER_IS_BETTER",
    "INPUT",
    "EvalRow",
    "EvalTable",
    "SheetRow",
    "label_image",
    "render_sheet",
    "sheet_layout",
]
