"""``daguerre detect`` end to end with a tiny random detector folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from daguerre.cli.app import app
from daguerre.cli.detect_cmd import tint
from daguerre.io.image import read_image, write_image
from tests.badfiles import BAD_KEYS, GOOD_KEYS, make_corpus
from tests.pipelines.models import save_identity_model
from tests.pipelines.test_scratches import save_detector_model

runner = CliRunner()


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_detector_model(tmp_path_factory.mktemp("detector")))


def _detect(*args: str | Path) -> object:
    return runner.invoke(app, ["detect", *map(str, args)])


@pytest.mark.filterwarnings("ignore:.*only the first is read")
def test_corpus_masks_and_overlays_at_input_size(tmp_path: Path, detector: str) -> None:
    corpus = make_corpus(tmp_path / "in")
    out = tmp_path / "out"
    args = ["--model", detector, "--overlay", "--tile", "16", "--overlap", "4"]
    result = _detect(tmp_path / "in", "-o", out, *args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for key in BAD_KEYS:
        if key != "truncated_jpeg":  # shares its stem with truncated_png: reported as collision
            assert corpus[key].name in result.output, key
    for key in GOOD_KEYS:
        size = read_image(corpus[key]).meta.size
        mask = read_image(out / f"{corpus[key].stem}.png")
        overlay = read_image(out / f"{corpus[key].stem}_overlay.png")
        assert mask.meta.size == size and overlay.meta.size == size, key
        assert mask.meta.is_gray and mask.meta.bit_depth == 8 and mask.alpha is None, key
        assert set(mask.rgb.unique().tolist()) <= {0.0, 1.0}, key
        assert overlay.meta.bit_depth == 8 and not overlay.meta.is_gray, key


def test_threshold_extremes_mark_everything_or_nothing(tmp_path: Path, detector: str) -> None:
    photo = write_image(tmp_path / "photo.png", torch.rand(3, 20, 30))
    _detect(photo, "-o", tmp_path / "all", "--model", detector, "--threshold", "0")
    result = _detect(photo, "-o", tmp_path / "none", "--model", detector, "--threshold", "1")
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "all" / "photo.png").rgb.min() == 1.0
    assert read_image(tmp_path / "none" / "photo.png").rgb.max() == 0.0


def test_overlay_tints_only_the_mask() -> None:
    photo = torch.full((3, 4, 6), 0.5)
    mask = torch.zeros(1, 4, 6)
    mask[:, 1:3, 2:5] = 1.0
    overlay = tint(photo, mask)
    inside = mask[0] > 0
    assert torch.equal(overlay[:, ~inside], photo[:, ~inside])
    assert (overlay[0, inside] > 0.7).all() and (overlay[1:, inside] < 0.3).all()


def test_bad_model_is_a_usage_error(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in")
    result = _detect(tmp_path / "in", "-o", tmp_path / "out", "--model", tmp_path / "nope")
    assert result.exit_code == 2 and not (tmp_path / "out").exists()
    restorer = save_identity_model(tmp_path / "restorer")
    result = _detect(tmp_path / "in", "-o", tmp_path / "out", "--model", restorer)
    assert result.exit_code == 2 and "not a scratch detector" in result.output


def test_scales_option_changes_the_mask_and_bad_scales_are_usage_errors(
    tmp_path: Path, detector: str
) -> None:
    photo = write_image(tmp_path / "photo.png", torch.rand(3, 40, 56))
    plain = _detect(photo, "-o", tmp_path / "one", "--model", detector)
    multi = _detect(photo, "-o", tmp_path / "two", "--model", detector, "--scales", "1,1.5")
    assert plain.exit_code == 0 and multi.exit_code == 0, multi.output
    one = read_image(tmp_path / "one" / "photo.png").rgb
    two = read_image(tmp_path / "two" / "photo.png").rgb
    assert one.shape == two.shape and not torch.equal(one, two)
    for bad in ["1,x", "1,1", "9"]:
        result = _detect(photo, "-o", tmp_path / "bad", "--model", detector, "--scales", bad)
        assert result.exit_code == 2 and "--scales" in result.output, bad
        assert "Traceback" not in result.output and not (tmp_path / "bad").exists()
