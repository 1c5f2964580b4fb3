"""``daguerre stylize`` and ``daguerre styles`` end to end with tiny model folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from daguerre.cli.app import app
from daguerre.io.image import read_image
from tests.badfiles import BAD_KEYS, make_corpus
from tests.pipelines.test_stylize import save_tiny_adain, save_tiny_style

runner = CliRunner()


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models on a busy 2-core machine: one thread avoids OpenMP stalls; restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package weights folder with one installed style and no AdaIN decoder."""
    root = tmp_path / "weights"
    save_tiny_style(root / "styles" / "sepia_dream")
    monkeypatch.setattr("daguerre.weights.package_dir", lambda: root)
    return root


def _run(*args: str | Path) -> object:
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "500"})  # no wrapped paths


def _stylize(*args: str | Path) -> object:
    return _run("stylize", *args)


def test_corpus_good_files_stylized_bad_files_reported(tmp_path: Path, shipped: Path) -> None:
    corpus = make_corpus(tmp_path / "in")
    result = _stylize(tmp_path / "in", "-o", tmp_path / "out", "--style", "sepia_dream",
                  "--tile", "16", "--overlap", "4")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for key in BAD_KEYS:
        if key != "truncated_jpeg":  # shares its stem with truncated_png: reported as collision
            assert corpus[key].name in result.output, key
    png16 = read_image(tmp_path / "out" / f"{corpus['png16'].stem}.png")
    assert png16.meta.bit_depth == 16 and png16.meta.size == read_image(corpus["png16"]).meta.size
    rgba = read_image(tmp_path / "out" / f"{corpus['rgba'].stem}.png")
    assert rgba.alpha is not None and torch.equal(rgba.alpha, read_image(corpus["rgba"]).alpha)
    gray = read_image(tmp_path / "out" / f"{corpus['gray16'].stem}.png")
    assert not gray.meta.is_gray and gray.meta.size == read_image(corpus["gray16"]).meta.size
    rotated = read_image(tmp_path / "out" / f"{corpus['exif_rotated'].stem}.png")
    assert rotated.meta.size == read_image(corpus["exif_rotated"]).meta.size


def test_strength_zero_writes_the_input(tmp_path: Path, shipped: Path) -> None:
    corpus = make_corpus(tmp_path / "in")
    result = _stylize(corpus["good_rgb"], "-o", tmp_path / "out", "--style", "sepia_dream",
                  "--strength", "0")  # fmt: skip
    assert result.exit_code == 0, result.output
    out = read_image(tmp_path / "out" / f"{corpus['good_rgb'].stem}.png").rgb
    assert torch.equal(out, read_image(corpus["good_rgb"]).rgb)


def test_unknown_style_is_a_usage_error_naming_what_is_installed(
    tmp_path: Path, shipped: Path
) -> None:
    corpus = make_corpus(tmp_path / "in")
    result = _stylize(corpus["good_rgb"], "-o", tmp_path / "out", "--style", "monet")
    assert result.exit_code == 2
    assert "sepia_dream" in result.output and "monet" in result.output
    assert not (tmp_path / "out").exists()


def test_painting_mode_needs_the_decoder_then_works(tmp_path: Path, shipped: Path) -> None:
    corpus = make_corpus(tmp_path / "in")
    painting = corpus["good_jpeg"]
    args = [corpus["good_rgb"], corpus["rgba"], "-o", tmp_path / "out", "--style", painting]
    missing = _stylize(*args)
    assert missing.exit_code == 2 and "AdaIN" in missing.output
    decoder = save_tiny_adain(tmp_path / "adain")
    result = _stylize(*args, "--adain-model", decoder, "--alpha", "0.5", "--preserve-color")
    assert result.exit_code == 0, result.output
    out = read_image(tmp_path / "out" / f"{corpus['good_rgb'].stem}.png")
    assert out.meta.size == read_image(corpus["good_rgb"]).meta.size


def test_preserve_color_keeps_a_gray_scan_gray(tmp_path: Path, shipped: Path) -> None:
    corpus = make_corpus(tmp_path / "in")
    result = _stylize(corpus["gray16"], "-o", tmp_path / "out", "--style", "sepia_dream",
                      "--preserve-color")  # fmt: skip
    assert result.exit_code == 0, result.output
    out = read_image(tmp_path / "out" / f"{corpus['gray16'].stem}.png")
    assert out.meta.is_gray and out.meta.bit_depth == 16


def test_bad_painting_file_is_a_usage_error(tmp_path: Path, shipped: Path) -> None:
    corpus = make_corpus(tmp_path / "in")
    decoder = save_tiny_adain(tmp_path / "adain")
    result = _stylize(corpus["good_rgb"], "-o", tmp_path / "out", "--style", corpus["corrupt"],
                  "--adain-model", decoder)  # fmt: skip
    assert result.exit_code == 2 and corpus["corrupt"].name in result.output


def test_bad_tiling_and_strength_are_usage_errors(tmp_path: Path, shipped: Path) -> None:
    corpus = make_corpus(tmp_path / "in")
    base = [corpus["good_rgb"], "-o", tmp_path / "out", "--style", "sepia_dream"]
    assert _stylize(*base, "--tile", "32", "--overlap", "64").exit_code == 2
    assert _stylize(*base, "--strength", "1.5").exit_code == 2


def test_styles_lists_installed_styles_and_painting_mode(shipped: Path) -> None:
    result = _run("styles")
    assert result.exit_code == 0
    assert "sepia_dream" in result.output and "resnet" in result.output
    assert "not installed" in result.output
    save_tiny_adain(shipped / "adain")
    result = _run("styles")
    assert "available" in result.output and str(shipped / "adain") in result.output


def test_styles_with_nothing_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("daguerre.weights.package_dir", lambda: tmp_path)
    result = _run("styles")
    assert result.exit_code == 0 and "installed styles: none" in result.output


def test_cli_tile_defaults_are_the_pipeline_defaults() -> None:
    import inspect

    from daguerre.cli.stylize_cmd import stylize
    from daguerre.pipelines.stylize import StylizeOptions

    params = inspect.signature(stylize).parameters
    defaults = StylizeOptions()  # None: the mode decides (MODE_TILES)
    assert params["tile"].default is defaults.tile is None
    assert params["overlap"].default is defaults.overlap is None
    assert defaults.tiles("adain").overlap > defaults.tiles("cyclegan").overlap
