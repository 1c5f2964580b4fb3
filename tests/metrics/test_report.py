"""Contact sheets and labels: sizes, placement, text, errors."""

from __future__ import annotations

import pytest
import torch

from daguerre.metrics.report import (
    LINE,
    MARGIN,
    MAX_CELL_ASPECT,
    SheetRow,
    label_image,
    render_sheet,
    sheet_layout,
)


def _solid(rgb: tuple[float, float, float], h: int, w: int) -> torch.Tensor:
    return torch.tensor(rgb).view(3, 1, 1).expand(3, h, w).clone()


def test_sheet_size_and_cell_placement() -> None:
    red, blue = _solid((1, 0, 0), 60, 80), _solid((0, 0, 1), 60, 80)
    rows = [SheetRow("a.png", (red, blue), ("PSNR 20.00 dB", "PSNR 30.00 dB"))] * 2
    sheet = render_sheet(rows, ("before", "after"), width=400)
    cell, heights, total = sheet_layout(rows, 2, 400)
    assert sheet.shape == (3, total, 400) and sheet.dtype == torch.float32
    assert cell == (400 - 3 * MARGIN) // 2 and heights == [round(cell * 60 / 80)] * 2
    top = MARGIN + 2 * LINE  # header line, then the row title
    centre_y = top + heights[0] // 2
    left_x, right_x = MARGIN + cell // 2, 2 * MARGIN + cell + cell // 2
    assert torch.allclose(sheet[:, centre_y, left_x], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(sheet[:, centre_y, right_x], torch.tensor([0.0, 0.0, 1.0]))
    header = sheet[:, MARGIN : MARGIN + LINE, MARGIN : MARGIN + cell]
    assert header.min() < 0.8  # the "before" header was drawn
    caption = sheet[:, top + heights[0] : top + heights[0] + LINE, MARGIN : MARGIN + cell]
    assert caption.min() < 0.5  # dark caption text under the first cell


def test_portrait_cells_are_capped_and_letterboxed() -> None:
    tall = _solid((0, 1, 0), 400, 40)
    row = SheetRow("tall", (tall,))
    cell, heights, total = sheet_layout([row], 1, 116)
    assert cell == 100 and heights == [round(100 * MAX_CELL_ASPECT)]
    sheet = render_sheet([row], ("only",), width=116)
    assert sheet.shape == (3, total, 116)
    y = MARGIN + 2 * LINE + heights[0] // 2
    assert torch.allclose(sheet[:, y, MARGIN + 50], torch.tensor([0.0, 1.0, 0.0]))
    assert torch.allclose(sheet[:, y, MARGIN + 2], torch.ones(3))  # white letterbox


def test_sheet_rejects_bad_rows() -> None:
    img = torch.zeros(3, 20, 20)
    with pytest.raises(ValueError, match="at least one row"):
        render_sheet([], ("a",))
    with pytest.raises(ValueError, match="2 images"):
        render_sheet([SheetRow("x", (img, img))], ("a", "b", "c"))
    with pytest.raises(ValueError, match="too small"):
        render_sheet([SheetRow("x", (img,) * 3)], ("a", "b", "c"), width=30)


def test_label_image_marks_only_the_corner() -> None:
    img = torch.zeros(3, 60, 200)
    out = label_image(img, "ours")
    assert out.shape == img.shape and out.dtype == torch.float32
    assert out[:, :LINE, :40].max() == 1.0  # white banner
    assert torch.equal(out[:, LINE + 2 :, :], img[:, LINE + 2 :, :])
    assert torch.equal(out[:, :, 120:], img[:, :, 120:])


def test_sheet_has_room_for_every_eval_column() -> None:
    """eval restore --clean: degraded | baseline | autolevels_median | ours | ground truth."""
    columns = ("degraded", "baseline", "autolevels_median", "ours", "ground truth")
    img = torch.rand(3, 30, 40, generator=torch.Generator().manual_seed(0))
    row = SheetRow("a.png", (img,) * 5, ("x",) * 5)
    cell, heights, total = sheet_layout([row], len(columns), 1600)
    assert cell == (1600 - 6 * MARGIN) // 5 and heights == [round(cell * 30 / 40)]
    sheet = render_sheet([row], columns, width=1600)
    assert sheet.shape == (3, total, 1600)
    with pytest.raises(ValueError, match="5 columns"):
        render_sheet([SheetRow("b.png", (img,) * 4, ("x",) * 4)], columns)
