"""``daguerre restore`` end to end with a tiny identity model folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from daguerre.cli.app import app
from daguerre.io.image import read_image
from tests.badfiles import BAD_KEYS, make_corpus
from tests.pipelines.models import save_identity_model

runner = CliRunner()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_identity_model(tmp_path_factory.mktemp("model")))


def _restore(*args: str | Path, env: dict[str, str] | None = None) -> object:
    return runner.invoke(app, ["restore", *map(str, args)], env=env)


def test_corpus_good_files_restored_bad_files_reported(tmp_path: Path, model: str) -> None:
    corpus = make_corpus(tmp_path / "in")
    result = _restore(
        tmp_path / "in", "-o", tmp_path / "out", "--model", model, "--tile", "16", "--overlap", "4"
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for key in BAD_KEYS:
        if key != "truncated_jpeg":  # shares its stem with truncated_png: reported as collision
            assert corpus[key].name in result.output, key
    png16 = read_image(tmp_path / "out" / f"{corpus['png16'].stem}.png")
    src16 = read_image(corpus["png16"])
    assert png16.meta.bit_depth == 16 and png16.meta.size == src16.meta.size
    assert torch.allclose(png16.rgb, src16.rgb, atol=1e-4)  # identity model, 16-bit kept
    rgba = read_image(tmp_path / "out" / f"{corpus['rgba'].stem}.png")
    assert rgba.alpha is not None
    assert torch.equal(rgba.alpha, read_image(corpus["rgba"]).alpha)
    gray = read_image(tmp_path / "out" / f"{corpus['gray16'].stem}.png")
    assert gray.meta.is_gray
    rotated = read_image(tmp_path / "out" / f"{corpus['exif_rotated'].stem}.png")
    assert rotated.meta.size == read_image(corpus["exif_rotated"]).meta.size


def test_overlap_not_below_tile_is_a_usage_error(tmp_path: Path, model: str) -> None:
    make_corpus(tmp_path / "in")
    result = _restore(tmp_path / "in", "-o", tmp_path / "out", "--model", model, "--tile", "16")
    assert result.exit_code == 2 and "overlap" in result.output


def test_missing_model_is_a_usage_error(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in")
    result = _restore(tmp_path / "in", "-o", tmp_path / "out", "--model", tmp_path / "nope")
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_sharding_by_rank_and_skip_existing(tmp_path: Path, model: str) -> None:
    corpus = make_corpus(tmp_path / "in")
    good = [corpus[k] for k in ("good_rgb", "rgba", "bmp", "webp")]
    args = [*good, "-o", tmp_path / "out", "--model", model]
    _restore(*args, env={"RANK": "0", "WORLD_SIZE": "2"})
    first = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(first) == 2
    _restore(*args, env={"RANK": "1", "WORLD_SIZE": "2"})
    assert len(list((tmp_path / "out").iterdir())) == 4
    result = _restore(*args, "--skip-existing")
    assert result.exit_code == 0 and "4 skipped" in result.output
