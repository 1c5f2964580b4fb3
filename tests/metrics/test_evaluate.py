"""Paired and no-reference evaluation tables: scores, ordering, failures, serialisation."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from daguerre.degrade.chain import Maybe
from daguerre.degrade.noise import GaussianNoise
from daguerre.errors import DaguerreError
from daguerre.metrics.evaluate import (
    FD_METRIC,
    GROUND_TRUTH,
    INPUT,
    UNCHANGED,
    EvalTable,
    FDSettings,
    ImageEvent,
    evaluate_paired,
    evaluate_real,
    fit_max_side,
    image_seed,
)
from daguerre.metrics.exam import degrade_exam
from daguerre.metrics.fidelity import psnr
from daguerre.nn.generators.unet import UNetGenerator
from daguerre.nn.mobilenet import MobileNetV2Features
from daguerre.pipelines.age import file_seed
from daguerre.pipelines.restore import RestoreOptions, restore_tensor
from daguerre.weights.checkpoint import ModelConfig, save_model

TINY_UNET = {"base_channels": 8, "depth": 2, "max_channels": 16, "bottleneck_blocks": 1}


def _smooth(gen: torch.Generator, h: int, w: int) -> torch.Tensor:
    """(3,h,w) smooth image in [0,1]: upsampled random colours."""
    base = torch.rand(1, 3, 6, 8, generator=gen)
    return F.interpolate(base, size=(h, w), mode="bicubic", align_corners=False)[0].clamp(0, 1)


def _images(gen: torch.Generator, sizes: tuple[tuple[int, int], ...]) -> list:
    return [(f"img{i}", _smooth(gen, h, w)) for i, (h, w) in enumerate(sizes)]


def _blur(img: torch.Tensor) -> torch.Tensor:
    """5x5 box blur, replicate padding: a crude denoiser that helps on smooth images."""
    padded = F.pad(img[None], (2, 2, 2, 2), mode="replicate")
    return F.avg_pool2d(padded, 5, stride=1)[0]


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    net = UNetGenerator(**TINY_UNET)
    return save_model(tmp_path / "model", net, ModelConfig("unet", TINY_UNET, pad_multiple=4))


def test_identity_equals_input_and_model_runs(gen: torch.Generator, model_dir: Path) -> None:
    images = _images(gen, ((40, 56), (48, 48), (33, 45)))
    options = RestoreOptions(model=str(model_dir), tile=32, overlap=8, device="cpu")
    restorers = {"same": lambda x: x, "ours": lambda x: restore_tensor(x, options)}
    events: list[ImageEvent] = []
    table = evaluate_paired(images, "unstructured", restorers, seed=3, on_image=events.append)
    assert table.methods == (INPUT, "same", "ours") and table.kind == "paired"
    assert [row.image for row in table.rows] == ["img0", "img1", "img2"]
    for row in table.rows:
        assert row.scores["same"] == row.scores[INPUT]
        assert 0.0 < row.scores["ours"]["ssim"] <= 1.0 and row.scores["ours"]["psnr"] > 5.0
    assert (table.rows[2].height, table.rows[2].width) == (33, 45)
    assert [e.status for e in events] == ["ok"] * 3
    assert set(events[0].images) == {INPUT, "same", "ours", GROUND_TRUTH}
    assert table.summary()["same"]["improved"] == 0  # equal is not better
    assert table.settings == {"preset": "unstructured", "seed": 3}


def test_psnr_ordering_on_noise(gen: torch.Generator) -> None:
    noise = GaussianNoise(sigma=(40.0, 40.0))
    restorers = {"blur": _blur, "inverted": lambda x: 1.0 - x}
    table = evaluate_paired(_images(gen, ((48, 64), (64, 48))), noise, restorers)
    # sigma 40/255 -> about 16 dB; a blur of a smooth image removes most of it.
    assert 14.0 < table.mean(INPUT, "psnr") < 18.5
    assert table.mean("blur", "psnr") > table.mean(INPUT, "psnr") + 3.0
    assert table.mean("inverted", "psnr") < table.mean(INPUT, "psnr") - 5.0
    assert table.mean("inverted", "ssim") < table.mean(INPUT, "ssim") < table.mean("blur", "ssim")
    assert table.improved("blur") == 2 and table.improved("inverted") == 0


def test_ground_truth_and_seed_per_name(gen: torch.Generator) -> None:
    clean = _smooth(gen, 40, 40)
    seen: dict[str, dict[str, torch.Tensor]] = {}

    def keep(event: ImageEvent) -> None:
        seen[event.image] = dict(event.images)

    noise = GaussianNoise(sigma=(20.0, 20.0))
    first = evaluate_paired([("a", clean), ("b", clean)], noise, {}, seed=1, on_image=keep)
    again = evaluate_paired([("b", clean)], noise, {}, seed=1)
    assert torch.equal(seen["a"][GROUND_TRUTH], clean)  # noise does not apply to the target
    assert not torch.equal(seen["a"][INPUT], seen["b"][INPUT])  # seeds differ by name
    assert again.rows[0].scores == first.rows[1].scores  # b alone gives b's scores
    expected = psnr(seen["a"][INPUT], clean).item()
    assert first.rows[0].scores[INPUT]["psnr"] == pytest.approx(expected)


def test_failures_and_small_images_do_not_stop_the_run(gen: torch.Generator) -> None:
    def picky(x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == 50:
            raise DaguerreError("tile out of memory")
        return x

    images = [*_images(gen, ((40, 50), (40, 40))), ("tiny", torch.rand(3, 8, 30, generator=gen))]
    events: list[ImageEvent] = []
    table = evaluate_paired(images, "unstructured", {"picky": picky}, on_image=events.append)
    assert [row.image for row in table.rows] == ["img1"]
    assert table.failed == (("img0", "tile out of memory"),)
    assert table.skipped[0][0] == "tiny" and "11px" in table.skipped[0][1]
    assert [e.status for e in events] == ["failed", "ok", "skipped"]


def test_an_image_the_preset_leaves_unchanged_is_skipped_not_scored(gen: torch.Generator) -> None:
    calls: list[str] = []

    def counting(x: torch.Tensor) -> torch.Tensor:
        calls.append("run")
        return x

    noise = GaussianNoise(sigma=(20.0, 20.0))
    images = _images(gen, ((40, 40), (40, 48)))
    ops = {"noisy": noise, "nothing": Maybe(noise, 0.0)}  # p 0: never applied
    tables = {k: evaluate_paired(images, op, {"same": counting}) for k, op in ops.items()}
    assert len(tables["noisy"].rows) == 2 and not tables["noisy"].skipped
    assert tables["nothing"].rows == ()
    assert [n for n, _ in tables["nothing"].skipped] == ["img0", "img1"]
    assert all(reason == UNCHANGED for _, reason in tables["nothing"].skipped)
    assert len(calls) == 2  # the unchanged images were never restored
    assert math.isnan(tables["nothing"].mean(INPUT, "psnr"))


def test_wrong_output_shape_is_a_failure(gen: torch.Generator) -> None:
    table = evaluate_paired(_images(gen, ((32, 32),)), "unstructured", {"crop": lambda x: x[:, 1:]})
    assert not table.rows and "returned (3, 31, 32)" in table.failed[0][1]


def test_reserved_names_and_unknown_preset(gen: torch.Generator) -> None:
    with pytest.raises(ValueError, match="reserved"):
        evaluate_paired([], "unstructured", {INPUT: lambda x: x})
    with pytest.raises(DaguerreError, match="unstructured"):
        evaluate_paired([], "unstructurd", {})


def test_json_and_csv_round_trip(gen: torch.Generator) -> None:
    table = evaluate_paired(_images(gen, ((32, 40), (36, 36))), "unstructured", {"b": _blur})
    record = json.loads(table.to_json())
    assert record["methods"] == ["input", "b"] and len(record["images"]) == 2
    assert record["summary"]["b"]["psnr"] == pytest.approx(table.mean("b", "psnr"))
    assert record["higher_is_better"] == {"psnr": True, "ssim": True}
    lines = list(csv.reader(io.StringIO(table.to_csv())))
    assert lines[0] == ["image", "height", "width", "input_psnr", "input_ssim", "b_psnr", "b_ssim"]
    assert lines[1][:3] == ["img0", "32", "40"]
    assert float(lines[2][5]) == pytest.approx(table.rows[1].scores["b"]["psnr"], abs=1e-6)


def test_empty_table_writes_null_means() -> None:
    table = EvalTable(kind="real", metrics=("niqe",), methods=(INPUT,))
    assert math.isnan(table.mean(INPUT, "niqe"))
    assert json.loads(table.to_json())["summary"][INPUT] == {"count": 0, "niqe": None}


def test_fd_streamed_per_method(gen: torch.Generator) -> None:
    backbone = MobileNetV2Features().eval()  # random weights: enough to test the plumbing
    fd = FDSettings(backbone=backbone, patches=3, patch_size=32)
    images = [*_images(gen, ((40, 48), (48, 40))), ("small", _smooth(gen, 24, 40))]
    table = evaluate_paired(images, "unstructured", {"same": lambda x: x}, fd=fd)
    scores = table.set_scores[FD_METRIC]
    assert set(scores) == {INPUT, "same"} and scores[INPUT] >= 0.0
    assert scores["same"] == pytest.approx(scores[INPUT])
    assert table.summary()["same"][FD_METRIC] == scores["same"]
    assert any("left out 1 image" in note for note in table.notes)


def test_evaluate_real_niqe(gen: torch.Generator, niqe_params: None) -> None:
    textured = [(f"r{i}", torch.rand(3, 200, 200, generator=gen)) for i in range(2)]
    images = [*textured, ("small", torch.rand(3, 150, 300, generator=gen))]
    table = evaluate_real(images, {"same": lambda x: x, "blur": _blur})
    assert table.kind == "real" and table.metrics == ("niqe",)
    assert [row.image for row in table.rows] == ["r0", "r1"]
    assert table.skipped[0][0] == "small" and "192" in table.skipped[0][1]
    for row in table.rows:
        assert row.scores["same"] == row.scores[INPUT]
        assert row.scores["blur"]["niqe"] != row.scores[INPUT]["niqe"]
    summary = table.summary()
    assert summary["same"]["improved"] == 0 and summary[INPUT]["count"] == 2


def test_fit_max_side_and_image_seed() -> None:
    img = torch.rand(3, 90, 30, generator=torch.Generator().manual_seed(0))
    assert fit_max_side(img, 45).shape == (3, 45, 15)
    assert fit_max_side(img, 0) is img and fit_max_side(img, 200) is img
    assert image_seed(5, "photo") == file_seed(5, "photo")  # same file, same damage as `degrade`


@pytest.mark.parametrize("name", ["exam", "exam-scratches"])
def test_exams_are_presets_with_the_clean_photo_as_ground_truth(
    gen: torch.Generator, name: str
) -> None:
    images = _images(gen, ((40, 48), (36, 36)))
    events: list[ImageEvent] = []
    table = evaluate_paired(images, name, {"same": lambda x: x}, seed=5, on_image=events.append)
    assert len(table.rows) == 2 and table.settings == {"preset": name, "seed": 5}
    for (image_name, clean), event in zip(images, events, strict=True):
        assert torch.equal(event.images[GROUND_TRUTH], clean)
        expected = degrade_exam(name, clean, image_seed(5, image_name))[0]
        assert torch.equal(event.images[INPUT], expected)
    assert table.mean("same", "psnr") == table.mean(INPUT, "psnr") < 40
    again = evaluate_paired(images, name, {}, seed=5)
    other = evaluate_paired(images, name, {}, seed=6)
    assert again.mean(INPUT, "psnr") == table.mean(INPUT, "psnr")
    assert other.mean(INPUT, "psnr") != table.mean(INPUT, "psnr")


def test_unknown_preset_lists_presets_and_exams() -> None:
    with pytest.raises(DaguerreError, match="exam-scratches") as info:
        evaluate_paired([], "exma", {})
    assert "unstructured" in str(info.value)
