"""End-to-end: the Touch up scratches tab in chromium (find, paint a red stroke, restore).

Its own server: the page's touch-up tab needs a restorer with a mask input, and the module
server of ``test_browser.py`` has none. Uses the shipped ``scratch`` detector on a tiny photo.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from daguerre.web.devserver import ServerProcess, tiny_model
from tests.web.test_browser import _require_browser, open_page


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    _require_browser()
    model = tiny_model(tmp_path_factory.mktemp("model"), mask_channel=True)
    with ServerProcess(model=model) as server, open_page(server.url, height=1400) as opened:
        yield opened
    server.close()


def _href(page: Any, name: str) -> str:
    return page.locator(f'#downloads a[download="{name}"]').get_attribute("href")


def _download(page: Any, name: str) -> np.ndarray:
    response = page.request.get(_href(page, name))
    assert response.ok, response.status
    return np.asarray(Image.open(io.BytesIO(response.body())).convert("RGB")).astype(float)


def test_a_painted_stroke_is_inpainted(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    rng = np.random.default_rng(3)
    pixels = (rng.random((12, 16, 3)) * 200).astype(np.uint8)
    photo = tmp_path / "print.png"
    Image.fromarray(pixels).resize((160, 120), Image.Resampling.BILINEAR).save(photo)
    page.locator("#upload input[type=file]").set_input_files(str(photo))
    page.locator('#upload td[aria-label="print.png"]').wait_for()

    page.locator("#restore-btn").click()  # the plain restore, to compare with
    expect(page.locator("#status")).to_contain_text("print_restored.png")
    plain = _download(page, "print_restored.png")

    page.get_by_role("tab", name="Touch up scratches").click()
    page.locator("#find-btn").click()
    expect(page.locator("#touchup-status")).to_contain_text("Marked")
    page.wait_for_timeout(1500)  # the editor draws the preview after the status arrives
    canvas = page.locator("#mask-editor canvas").first.bounding_box()
    middle_x = canvas["x"] + canvas["width"] / 2
    middle_y = canvas["y"] + canvas["height"] / 2
    page.mouse.move(middle_x - 60, middle_y)
    page.mouse.down()
    page.mouse.move(middle_x + 60, middle_y, steps=20)
    page.mouse.up()
    page.wait_for_timeout(300)
    first = _href(page, "print_restored.png")
    page.locator("#touchup-btn").click()
    page.wait_for_function(  # the same file name: wait for the new result's link
        "old => { const a = document.querySelector('#downloads a[download]');"
        " return a !== null && a.getAttribute('href') !== old; }",
        arg=first,
    )
    touched = _download(page, "print_restored.png")

    assert touched.shape == plain.shape == (120, 160, 3)
    change = np.abs(touched - plain).max(axis=2)
    rows = np.nonzero(change.max(axis=1) > 2)[0]
    assert rows.size > 0, "the stroke did not reach the restorer"
    assert abs(float(np.median(rows)) - 60) < 20  # a horizontal band across the middle
    assert "Traceback" not in page.content()
