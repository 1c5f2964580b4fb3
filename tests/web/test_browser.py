"""End-to-end: ``daguerre serve`` in a subprocess, driven by Debian's chromium via Playwright.

Runs in the default test run. Without chromium (or the playwright package) it fails under
``CI=true`` and is skipped elsewhere; install chromium with ``bash scripts/install_browser.sh``.
Playwright only drives the system browser: no browser is ever downloaded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from daguerre.web.devserver import CHROMIUM, CHROMIUM_ARGS, ServerProcess, tiny_model

TIMEOUT_MS = 30_000


def _require_browser() -> Any:
    """The playwright module, or fail (CI) / skip (elsewhere) with how to get it."""
    problem = None
    try:
        from playwright import sync_api
    except ImportError:
        problem = "the playwright package is missing: pip install -e '.[dev]'"
    if problem is None and importlib.util.find_spec("gradio") is None:
        problem = "gradio is missing (the server needs it): pip install -e '.[dev]'"
    if problem is None and not CHROMIUM.is_file():
        problem = f"{CHROMIUM} is missing: run `bash scripts/install_browser.sh` (apt-get)"
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser test cannot run in CI: {problem}", pytrace=False)
        pytest.skip(problem)
    return sync_api


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    _require_browser()
    model = tiny_model(tmp_path_factory.mktemp("model"))
    process = ServerProcess(model=model, extra_args=["--max-upload-mb", "2"])
    with process:
        yield process
    process.close()


@contextlib.contextmanager
def open_page(url: str, height: int = 900) -> Iterator[Any]:
    """A chromium page at ``url`` (1280 px wide), closed on exit."""
    sync_api = _require_browser()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1280, "height": height})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        yield page
        browser.close()


@pytest.fixture(scope="module")
def page(server: ServerProcess) -> Iterator[Any]:
    with open_page(server.url) as opened:
        yield opened


def _photo(path: Path, size: tuple[int, int], seed: int) -> Path:
    rng = np.random.default_rng(seed)
    pixels = (rng.random((size[1] // 8, size[0] // 8, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR).save(path, quality=92)
    return path


def _clear_upload(page: Any) -> None:
    """Empty the upload area (after a refused upload, a first "Clear" ends the error state)."""
    files = page.locator("#upload td.filename")
    for _ in range(3):
        if files.count() == 0:
            return
        # dispatch_event: the drop zone's own button can overlap the Clear icon
        page.locator("#upload").get_by_role("button", name="Clear").first.dispatch_event("click")
        page.wait_for_timeout(300)
    assert files.count() == 0, "could not clear the upload area"


def _upload(page: Any, path: Path) -> None:
    """Clear the upload area, then drop ``path`` into it (as a file chooser would)."""
    _clear_upload(page)
    page.locator("#upload input[type=file]").set_input_files(str(path))
    page.locator(f'#upload td[aria-label="{path.name}"]').wait_for()


def _restore_and_download(page: Any, photo: Path) -> Image.Image:
    """Upload ``photo``, press Restore and download the full-size result."""
    from playwright.sync_api import expect

    _upload(page, photo)
    page.locator("#restore-btn").click()
    expect(page.locator("#status")).to_contain_text(f"{photo.stem}_restored.jpg")
    link = page.locator(f'#downloads a[download="{photo.stem}_restored.jpg"]')
    response = page.request.get(link.get_attribute("href"))
    assert response.ok, response.status
    return Image.open(io.BytesIO(response.body()))


def test_restore_bad_file_and_keeps_serving(
    page: Any, server: ServerProcess, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    restored = _restore_and_download(page, _photo(tmp_path / "first.jpg", (160, 120), 0))
    assert restored.size == (160, 120)
    assert restored.format == "JPEG"

    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a PNG")
    _upload(page, corrupt)
    page.locator("#restore-btn").click()
    expect(page.locator("#status")).to_contain_text("Could not process 1 file")
    expect(page.locator("#status")).to_contain_text("broken.png")
    expect(page.locator("#status")).to_contain_text("corrupt")
    expect(page.locator("#status")).not_to_contain_text("Restored")  # the upload was cleared
    assert "Traceback" not in page.content()

    huge = tmp_path / "huge.png"  # over --max-upload-mb 2: refused at upload time
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2_100_000))
    page.locator("#upload input[type=file]").set_input_files(str(huge))
    expect(page.get_by_text("exceed the maximum allowed size").first).to_be_visible()

    again = _restore_and_download(page, _photo(tmp_path / "second.jpg", (96, 200), 1))
    assert again.size == (96, 200)
    assert server.alive()
    _assert_request_folders_removed(server)


def _work_root(server: ServerProcess) -> Path:
    match = re.search(r"temporary outputs under (\S+)", server.log_path.read_text())
    assert match, server.log_tail()
    return Path(match.group(1))


def _assert_request_folders_removed(server: ServerProcess) -> None:
    """Each request's output folder is deleted once the page has the response."""
    root = _work_root(server)
    deadline = time.monotonic() + 10
    while list(root.glob("job-*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(root.glob("job-*")) == []


def test_page_offers_tasks_and_examples(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("tab", name="Restore")).to_be_visible()
    expect(page.get_by_role("tab", name="Age")).to_be_visible()
    expect(page.locator("#monochrome")).to_be_visible()  # a person's choices are in view
    expect(page.locator("#photo-type")).to_be_hidden()  # the expert ones are folded away
    page.locator("#advanced").get_by_text("Advanced").click()
    expect(page.locator("#photo-type")).to_be_visible()
    expect(page.locator("#network-colours")).to_be_visible()
    pytest.importorskip("skimage")  # the examples are made from scikit-image's astronaut
    expect(page.get_by_text("astronaut_old.png").first).to_be_visible()


def _choose_style(page: Any, label: str) -> None:
    """Pick ``label`` in the Stylize tab's style menu."""
    page.locator("#style input").click()
    page.get_by_role("option", name=label, exact=True).click()


def test_stylize_a_photo_and_a_bad_painting(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Stylize").click()
    photo = _photo(tmp_path / "tiny.png", (48, 32), 2)
    _upload(page, photo)
    _choose_style(page, "The Scream (Munch)")
    expect(page.locator("#painting")).to_be_hidden()  # only for "Your own painting"
    page.locator("#stylize-btn").click()
    expect(page.locator("#status")).to_contain_text("tiny_stylized.png", timeout=TIMEOUT_MS)
    page.wait_for_function(  # this result's preview (not the last test's) has the photo's size
        "() => [...document.querySelectorAll('#slider img')].some("
        "img => img.complete && img.naturalWidth === 48 && img.naturalHeight === 32)"
    )
    link = page.locator('#downloads a[download="tiny_stylized.png"]')
    response = page.request.get(link.get_attribute("href"))
    assert response.ok, response.status
    assert Image.open(io.BytesIO(response.body())).size == (48, 32)

    _choose_style(page, "Your own painting")
    expect(page.locator("#painting")).to_be_visible()
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"a shopping list, not a painting")
    page.locator("#painting input[type=file]").set_input_files(str(bad))
    page.locator('#painting td[aria-label="notes.png"]').wait_for()
    page.locator("#stylize-btn").click()
    one_line = re.compile(r"^\s*⚠️ the painting notes\.png: [^\n]*\S\s*$")
    expect(page.locator("#status")).to_have_text(one_line, use_inner_text=True, timeout=TIMEOUT_MS)
    assert "Traceback" not in page.content()
    page.get_by_role("tab", name="Restore").click()  # as the other tests expect the page


def test_stopping_the_server_removes_its_temporary_files(server: ServerProcess) -> None:
    """Last in this file on purpose: it stops the module's server (SIGTERM, as Ctrl-C would)."""
    root = _work_root(server)
    assert root.is_dir()
    server.stop()
    assert not root.exists()
