"""``daguerre eval restore`` end to end on tiny folders, with a tiny model folder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from daguerre.cli.app import app
from daguerre.io.image import read_image, write_image
from daguerre.nn.generators.unet import UNetGenerator
from daguerre.weights.backbone import BACKBONE_ENV_VAR
from daguerre.weights.checkpoint import ModelConfig, save_model

runner = CliRunner()
TINY_UNET = {"base_channels": 8, "depth": 2, "max_channels": 16, "bottleneck_blocks": 1}


@pytest.fixture
def model(tmp_path: Path) -> Path:
    net = UNetGenerator(**TINY_UNET)
    return save_model(tmp_path / "model", net, ModelConfig("unet", TINY_UNET, pad_multiple=4))


def _photos(folder: Path, sizes: dict[str, tuple[int, int]]) -> None:
    gen = torch.Generator().manual_seed(0)
    for name, size in sizes.items():
        base = torch.rand(1, 3, 8, 8, generator=gen)
        img = F.interpolate(base, size=size, mode="bicubic", align_corners=False)[0]
        detail = 0.1 * torch.rand(3, *size, generator=gen)  # texture, so NIQE is defined
        write_image(folder / f"{name}.png", (img + detail).clamp(0, 1))


def _eval(*args: str | Path) -> object:
    return runner.invoke(app, ["eval", "restore", *map(str, args)])


def test_clean_mode_writes_reports_and_reports_a_bad_file(tmp_path: Path, model: Path) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    _photos(clean, {"a": (48, 64), "b": (64, 40), "c": (300, 200)})
    (clean / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    out = tmp_path / "report"
    result = _eval("--clean", clean, "--preset", "unstructured", "--model", model, "-o", out,
                   "--max-side", "100", "--tile", "64")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "error:" in result.output and "broken.png" in result.output
    assert "3 scored, 0 skipped, 1 failed" in result.output
    assert "Mean over 3 image(s)" in result.output and "baseline" in result.output
    record = json.loads((out / "results.json").read_text())
    assert [row["image"] for row in record["images"]] == ["a", "b", "c"]
    assert record["methods"] == ["input", "baseline", "autolevels_median", "ours"]
    assert record["failed"][0]["image"] == "broken"
    assert record["settings"]["preset"] == "unstructured" and record["settings"]["max_side"] == 100
    assert record["images"][2]["height"] == 100 and record["images"][2]["width"] == 67
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 3 and float(rows[0]["ours_ssim"]) <= 1.0
    sheet = read_image(out / "sheet.png")
    assert sheet.meta.size[0] == 1600 and sheet.meta.size[1] > 300


def test_same_seed_same_scores(tmp_path: Path, model: Path) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    _photos(clean, {"a": (40, 48)})
    base = ("--clean", clean, "--preset", "aged", "--model", model, "--sheet-count", "0", "-q")
    assert _eval(*base, "-o", tmp_path / "one").exit_code == 0
    assert _eval(*base, "-o", tmp_path / "two").exit_code == 0
    assert _eval(*base, "--seed", "9", "-o", tmp_path / "three").exit_code == 0
    csvs = [(tmp_path / n / "results.csv").read_text() for n in ("one", "two", "three")]
    assert csvs[0] == csvs[1] != csvs[2]
    assert not (tmp_path / "one" / "sheet.png").exists()


def test_real_mode_niqe_and_small_photo_skipped(
    tmp_path: Path, model: Path, niqe_params: None
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    _photos(real, {"old1": (200, 220), "old2": (210, 200), "thumb": (120, 160)})
    out = tmp_path / "report"
    result = _eval("--real", real, "--model", model, "-o", out, "--sheet-count", "1")
    assert result.exit_code == 0, result.output
    assert "skip:" in result.output and "thumb" in result.output and "192" in result.output
    assert "NIQE (lower is better)" in result.output
    record = json.loads((out / "results.json").read_text())
    assert record["kind"] == "real" and len(record["images"]) == 2
    assert record["summary"]["ours"]["count"] == 2 and "improved" in record["summary"]["ours"]
    assert record["methods"] == ["input", "baseline", "autolevels_median", "ours"]
    assert record["skipped"][0]["image"] == "thumb"
    assert read_image(out / "sheet.png").meta.size[0] == 1600


def test_fd_without_backbone_is_skipped_with_a_note(
    tmp_path: Path, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BACKBONE_ENV_VAR, str(tmp_path / "missing.pth"))
    clean = tmp_path / "clean"
    clean.mkdir()
    _photos(clean, {"a": (40, 40)})
    result = _eval(
        "--clean", clean, "-p", "unstructured", "-m", model, "--fd", "-o", tmp_path / "r"
    )
    assert result.exit_code == 0, result.output
    assert "FD-MobileNetV2 skipped" in result.output
    notes = json.loads((tmp_path / "r" / "results.json").read_text())["notes"]
    assert any("backbone not found" in note for note in notes)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--preset", "unstructured"), "exactly one of"),
        (("--clean", "{dir}"), "preset"),
        (("--clean", "{dir}", "--preset", "unstructurd"), "unstructured"),
        (("--clean", "{dir}", "--preset", "exams"), "exam-scratches"),
        (("--real", "{dir}", "--fd"), "--clean only"),
        (("--real", "{dir}", "--max-side", "100"), "192"),
        (("--clean", "{dir}", "-p", "aged", "--model", "{dir}/nope"), "not found"),
        (("--clean", "{dir}", "-p", "aged", "--grade", "{dir}/nope"), "not found"),
        (("--clean", "{dir}", "-p", "aged", "--ensemble", "3"), "ensemble must be one of"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, model: Path, args: tuple, message: str) -> None:
    _photos(tmp_path, {"a": (40, 40)})
    filled = [arg.replace("{dir}", str(tmp_path)) for arg in args]
    if "--model" not in filled:
        filled += ["--model", str(model)]
    result = _eval(*filled, "-o", tmp_path / "r")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.replace("│", " ").split())  # unwrap Rich's box


def _unstructured_args(tmp_path: Path, model: Path) -> tuple:
    """``eval restore`` arguments scoring ``model`` on one 40x48 photo under ``unstructured``."""
    clean = tmp_path / "clean"
    clean.mkdir()
    _photos(clean, {"a": (40, 48)})
    return ("--clean", clean, "--preset", "unstructured", "--model", model, "-q")


def test_photo_type_scores_each_expert_and_a_missing_one_is_a_usage_error(
    tmp_path: Path,
) -> None:
    from tests.pipelines.models import (
        forget_loaded_models,
        save_identity_model,
        save_offset_model,
    )

    primary = save_identity_model(tmp_path / "print")
    config = json.loads((primary / "config.json").read_text())
    config["extra"]["experts"] = {"digital": str(save_offset_model(tmp_path / "digital", -0.2))}
    (primary / "config.json").write_text(json.dumps(config))
    base = _unstructured_args(tmp_path, primary)
    scores = {}
    for photo_type in ("print", "digital"):
        out = tmp_path / photo_type
        result = _eval(*base, "--photo-type", photo_type, "--sheet-count", "0", "-o", out)
        assert result.exit_code == 0, result.output
        row = next(csv.DictReader((out / "results.csv").open()))
        scores[photo_type] = float(row["ours_psnr"]), float(row["input_psnr"])
        settings = json.loads((out / "results.json").read_text())["settings"]
        assert settings["photo_type"] == photo_type
    assert scores["print"][0] == pytest.approx(scores["print"][1], abs=0.05)  # the identity
    assert scores["digital"][0] < scores["print"][0] - 3  # everything 0.2 darker
    config["extra"]["experts"] = {"digital": str(tmp_path / "gone")}
    (primary / "config.json").write_text(json.dumps(config))
    forget_loaded_models()
    result = _eval(*base, "--photo-type", "digital", "-o", tmp_path / "x")
    assert result.exit_code == 2 and "--photo-type" in result.output


def test_ensemble_is_run_and_recorded(tmp_path: Path) -> None:
    from tests.pipelines.models import save_random_model

    model = save_random_model(tmp_path / "random")
    base = _unstructured_args(tmp_path, model)
    scores = {}
    for size in ("1", "8"):
        out = tmp_path / size
        result = _eval(*base, "--ensemble", size, "--sheet-count", "0", "-o", out)
        assert result.exit_code == 0, result.output
        assert json.loads((out / "results.json").read_text())["settings"]["ensemble"] == int(size)
        scores[size] = next(csv.DictReader((out / "results.csv").open()))["ours_psnr"]
    assert scores["1"] != scores["8"]  # a random net is not flip-invariant: the runs differ


@pytest.mark.parametrize("preset", ["exam", "exam-scratches"])
def test_exam_presets_score_every_baseline_reproducibly(
    tmp_path: Path, model: Path, preset: str
) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    _photos(clean, {"a": (48, 64), "b": (56, 40)})
    base = ("--clean", clean, "--preset", preset, "--model", model, "--tile", "64")
    result = _eval(*base, "-o", tmp_path / "one")
    assert result.exit_code == 0, result.output
    assert "2 scored, 0 skipped, 0 failed" in result.output
    summary = result.output[result.output.index("Mean over 2 image(s)") :]
    assert "autolevels_median" in summary and "baseline" in summary and "ours" in summary
    record = json.loads((tmp_path / "one" / "results.json").read_text())
    assert record["methods"] == ["input", "baseline", "autolevels_median", "ours"]
    assert record["settings"]["preset"] == preset
    for method in record["methods"]:
        assert 0 < record["summary"][method]["psnr"] < 100  # damaged: input PSNR is finite
    assert "improved" in record["summary"]["autolevels_median"]
    sheet = read_image(tmp_path / "one" / "sheet.png")  # five columns: input, 3 methods, truth
    assert sheet.meta.size[0] == 1600
    assert _eval(*base, "-q", "--sheet-count", "0", "-o", tmp_path / "two").exit_code == 0
    csvs = [(tmp_path / n / "results.csv").read_text() for n in ("one", "two")]
    assert csvs[0] == csvs[1] and "autolevels_median_psnr" in csvs[0]
