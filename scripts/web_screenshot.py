"""Screenshot of the web page after restoring the demo photo: ``docs/web.png``.

Usage::

    .venv/bin/python scripts/web_screenshot.py [--model restore] [--out docs/web.png]

Starts ``daguerre serve`` on 127.0.0.1 and a free port, opens it in Debian's chromium
(``bash scripts/install_browser.sh``) through Playwright, clicks the aged astronaut example
(made at startup from scikit-image's public-domain photo), restores it and saves a 1280 px wide
screenshot. Without the shipped ``restore`` model it uses a tiny untrained one and says so:
regenerate the picture once the real model is in place.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from daguerre.web.devserver import CHROMIUM, CHROMIUM_ARGS, ServerProcess, tiny_model

LOG = logging.getLogger("web_screenshot")
ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1280, 900
TIMEOUT_MS = 120_000


def _pick_model(name: str, scratch: Path) -> str:
    """``name`` when it loads; else a tiny untrained model in ``scratch`` (with a warning)."""
    from daguerre.web.restore_jobs import model_problem

    problem = model_problem(name)
    if problem is None:
        return name
    LOG.warning("%s; using a tiny untrained model (the picture shows the page only)", problem)
    return str(tiny_model(scratch / "tiny-model"))


def take_screenshot(url: str, out: Path) -> None:
    """Restore the first example photo in the page at ``url`` and save a screenshot."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.get_by_text("astronaut_old.png").first.click()
        page.locator('#upload td[aria-label="astronaut_old.png"]').wait_for()
        page.locator("#restore-btn").click()
        expect(page.locator("#status")).to_contain_text("Restored", timeout=TIMEOUT_MS)
        page.locator("#slider img").first.wait_for()
        page.wait_for_timeout(500)  # let the slider images fade in
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
        browser.close()


def main() -> None:
    """Parse arguments, start the server, take the screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="restore", help="model name or folder")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "web.png")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if not CHROMIUM.is_file():
        raise SystemExit(f"{CHROMIUM} is missing: run `bash scripts/install_browser.sh`")
    with tempfile.TemporaryDirectory() as scratch:
        model = _pick_model(args.model, Path(scratch))
        with ServerProcess(model=model) as server:
            take_screenshot(server.url, args.out)
        server.close()
    LOG.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
