"""Web restore jobs (no Gradio): options checked by the restorer, worded for the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from daguerre.io.image import LoadedImage
from daguerre.io.meta import ImageMeta
from daguerre.pipelines.restore import RestoreOptions, RestoreOptionsError, restore_tensor
from daguerre.web.jobs import WebSettings
from daguerre.web.restore_jobs import model_problem, restore_problem, restore_task, scratch_problem
from tests.pipelines.models import save_identity_model, save_offset_model, save_random_model
from tests.pipelines.test_scratches import save_detector_model


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("web")
    return {
        "mask": str(save_random_model(root / "mask", mask_channel=True)),
        "plain": str(save_identity_model(root / "plain")),
        "detector": str(save_detector_model(root / "detector")),
    }


def _loaded(rgb: torch.Tensor) -> LoadedImage:
    meta = ImageMeta(path=None, format="PNG", mode="RGB", bit_depth=8, has_alpha=False,
                     is_gray=False, size=(rgb.shape[-1], rgb.shape[-2]))  # fmt: skip
    return LoadedImage(rgb, None, meta)


def test_a_restore_task_runs_the_restorer(models: dict[str, str]) -> None:
    settings = WebSettings(model=models["mask"], scratch_model=models["detector"], tile=64)
    task = restore_task(settings, 0.7, scratches=True, monochrome="off", photo_type="print")
    rgb = torch.rand(3, 24, 20, generator=torch.Generator().manual_seed(0))
    expected = RestoreOptions(
        strength=0.7, model=models["mask"], tile=64, scratches="auto",
        scratch_model=models["detector"], monochrome="off", photo_type="print",
    )  # fmt: skip
    out = task(_loaded(rgb), "photo", lambda fraction: None)
    assert torch.equal(out, restore_tensor(rgb, expected))


def test_a_bad_choice_is_worded_for_the_page(models: dict[str, str]) -> None:
    settings = WebSettings(model=models["plain"])
    with pytest.raises(RestoreOptionsError, match="^Photo type: photo_type must be one of"):
        restore_task(settings, 1.0, photo_type="film")
    with pytest.raises(ValueError, match="^Strength: strength must be in"):
        restore_task(settings, 2.0)
    missing = WebSettings(model=models["plain"] + "-gone")
    with pytest.raises(
        RestoreOptionsError, match=r"^Restoration model \(server setting\): model '.*' not found"
    ):
        restore_task(missing, 1.0)


def test_scratch_problem_comes_from_the_restorer(models: dict[str, str], tmp_path: Path) -> None:
    usable = WebSettings(model=models["mask"], scratch_model=models["detector"])
    assert scratch_problem(usable) is None
    maskless = WebSettings(model=models["plain"], scratch_model=models["detector"])
    assert "no mask input" in str(scratch_problem(maskless))
    no_detector = WebSettings(model=models["mask"], scratch_model=str(tmp_path / "none"))
    assert "not found" in str(scratch_problem(no_detector))


def test_model_problem_reads_the_manifest(tmp_path: Path) -> None:
    model = save_offset_model(tmp_path / "model", 0.1)
    assert model_problem(str(model)) is None
    config = json.loads((model / "config.json").read_text())
    config["extra"]["router"] = "router"  # a router with nothing to route to
    (model / "config.json").write_text(json.dumps(config))
    assert "extra.router" in str(model_problem(str(model)))
    assert "restoration model unavailable" in str(model_problem(str(tmp_path / "none")))


def test_restore_problem_names_the_control() -> None:
    err = RestoreOptionsError("scratch_threshold", "scratch_threshold must be in [0, 1]")
    assert (
        restore_problem(err) == "Scratch removal sensitivity: scratch_threshold must be in [0, 1]"
    )
