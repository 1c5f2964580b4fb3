"""The web page's handlers, called directly (no server, no browser)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from daguerre.degrade.base import generator_for
from daguerre.degrade.presets import build_preset
from daguerre.io.image import read_image
from daguerre.pipelines.age import age_tensor, file_seed
from daguerre.web.age_jobs import age_task
from daguerre.web.jobs import WebSettings, WorkDirs, run_job, sanitize_stem
from daguerre.web.restore_jobs import model_problem
from tests.badfiles import BAD_KEYS, GOOD_KEYS

gr = pytest.importorskip("gradio")
from daguerre.web.app import NO_FILES, Handlers, build_app  # noqa: E402


def _photo(path: Path, size: tuple[int, int] = (40, 28)) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)).save(path)
    return path


@pytest.mark.filterwarnings("ignore:.*pages/frames")  # the multipage TIFF: first page only
def test_restore_writes_full_size_in_original_format(
    handlers: Handlers, corpus: dict[str, Path]
) -> None:
    files = [str(corpus[key]) for key in GOOD_KEYS]
    slider, downloads, status, _, previews, workdir = handlers.restore(files, 1.0)
    assert downloads is not None and len(downloads) == len(GOOD_KEYS)
    assert f"Restored {len(GOOD_KEYS)} of {len(GOOD_KEYS)}" in status
    for key, output in zip(GOOD_KEYS, downloads, strict=True):
        source, result = read_image(corpus[key]), read_image(output)
        assert Path(output).parent == Path(workdir)
        assert result.meta.size == source.meta.size, key
        assert result.meta.format == source.meta.format, key
        assert result.meta.bit_depth == source.meta.bit_depth, key
        assert (result.alpha is None) == (source.alpha is None), key
        assert result.meta.is_gray == source.meta.is_gray, key
    before, after = slider
    assert before.size == after.size == read_image(corpus[GOOD_KEYS[0]]).meta.size
    assert [name for name, _, _ in previews] == [Path(p).name for p in downloads]
    chosen = handlers.compare(previews[3][0], previews)
    assert chosen is not None and chosen[0] is previews[3][1] and chosen[1] is previews[3][2]


def test_every_bad_file_gives_its_one_line_reason(
    handlers: Handlers, corpus: dict[str, Path]
) -> None:
    files = [str(corpus[key]) for key in BAD_KEYS]
    with pytest.warns(UserWarning) as toasts:
        slider, downloads, status, _, previews, _ = handlers.restore(files, 1.0)
    assert slider is None and downloads is None and previews == []
    assert f"Could not process {len(BAD_KEYS)} file(s)" in status
    assert "exceeds the limit" in status  # the decompression bomb, refused from its header
    assert "Traceback" not in status and "/tmp" not in status  # names, not server paths
    assert "bomb.png" in str(toasts[0].message)


def test_good_and_bad_files_together(handlers: Handlers, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff garbage")
    with pytest.warns(UserWarning, match="broken.jpg"):
        _, downloads, status, *_ = handlers.restore([str(_photo(tmp_path / "a.png")), broken], 1)
    assert downloads is not None and [Path(p).name for p in downloads] == ["a_restored.png"]
    assert "Restored 1 of 2" in status and "broken" in status


def test_oversize_upload_is_refused(model: Path, workdirs: WorkDirs, tmp_path: Path) -> None:
    handlers = Handlers(WebSettings(model=str(model), max_upload_mb=0.001), workdirs)
    big = _photo(tmp_path / "big.png", (64, 64))  # about 12 kB of noise > 1 kB
    with pytest.warns(UserWarning, match="upload limit"):
        _, downloads, status, *_ = handlers.restore([str(big)], 1.0)
    assert downloads is None
    size_mb = f"{big.stat().st_size / 1e6:.3g}"
    assert f"file is {size_mb} MB, over the upload limit of 0.001 MB" in status


def test_pixel_limit_is_enforced(model: Path, workdirs: WorkDirs, tmp_path: Path) -> None:
    handlers = Handlers(WebSettings(model=str(model), max_pixels=1000), workdirs)
    with pytest.warns(UserWarning, match="exceeds the limit"):
        _, downloads, status, *_ = handlers.restore([str(_photo(tmp_path / "p.png"))], 1.0)
    assert downloads is None and "40x28 = 1,120 pixels exceeds the limit of 1,000" in status


def test_age_matches_the_cli_seeding(handlers: Handlers, tmp_path: Path) -> None:
    photo = _photo(tmp_path / "family.png")
    _, downloads, status, *_ = handlers.age([str(photo)], "aged", 3, 1.0)
    assert downloads is not None and "Aged 1 of 1" in status
    expected = age_tensor(
        read_image(photo).rgb[None], build_preset("aged"), generator_for(file_seed(3, "family"))
    ).image[0]
    got = read_image(downloads[0]).rgb
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1 / 255 + 1e-6)  # 8-bit rounding only


def test_age_unknown_preset_is_a_message(handlers: Handlers, tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="choose from"):
        _, downloads, status, *_ = handlers.age([str(_photo(tmp_path / "x.png"))], "nope", 0, 1)
    assert downloads is None and "nope" in status


def test_no_files_and_missing_model(workdirs: WorkDirs, handlers: Handlers) -> None:
    with pytest.warns(UserWarning, match="Upload one or more photos"):
        status = handlers.restore(None, 1.0)[2]
    assert "Upload one or more photos" in status and NO_FILES.startswith("Upload")
    missing = Handlers(WebSettings(model="/no/such/model"), workdirs)
    with pytest.warns(UserWarning, match="restoration model unavailable"):
        slider, downloads, status, *_ = missing.restore(["/dev/null"], 1.0)
    assert slider is None and downloads is None and "not found" in status
    assert model_problem("/no/such/model") is not None


def test_output_names_are_sanitized_and_unique(model: Path, tmp_path: Path) -> None:
    first = _photo(tmp_path / "photo (1).png")
    (tmp_path / "sub").mkdir()
    second = _photo(tmp_path / "sub" / "photo (1).png")
    workdir = tmp_path / "out"
    workdir.mkdir()
    report = run_job(
        [first, second], age_task("aged", 0, 0.5), WebSettings(), suffix="aged", workdir=workdir
    )
    names = sorted(p.name for p in workdir.iterdir())
    assert names == ["photo_1_2_aged.png", "photo_1_aged.png"]
    assert all(r.output is not None and r.output.parent == workdir for r in report.results)
    assert sanitize_stem("../../etc/passwd") == "passwd"
    assert sanitize_stem("C:\\Users\\x\\évènement.TIF") == "evenement"
    assert sanitize_stem("<script>.png") == "script"


def test_request_folders_are_removed(
    workdirs: WorkDirs, handlers: Handlers, tmp_path: Path
) -> None:
    workdir = handlers.restore([str(_photo(tmp_path / "a.png"))], 0.5)[5]
    assert workdir is not None and Path(workdir).is_dir()
    handlers.cleanup(workdir)
    assert not Path(workdir).exists()
    outside = tmp_path / "job-keep"
    outside.mkdir()
    workdirs.remove(outside)  # never removes anything outside its own root
    assert outside.is_dir()
    stale = workdirs.new()
    workdirs.max_age_s = 0.0
    time.sleep(0.01)
    workdirs.sweep()
    assert not stale.exists()
    workdirs.close()
    assert not workdirs.root.exists()


def test_page_builds_with_every_task(handlers: Handlers, tmp_path: Path) -> None:
    demo = build_app(handlers.settings, handlers.workdirs, examples=[_photo(tmp_path / "e.png")])
    names = {dep.get("api_name") for dep in demo.config["dependencies"]}
    assert {"restore", "age", "stylize"} <= names
    jobs = {fn.name: fn.concurrency_id for fn in demo.fns.values() if fn.name in names}
    # one queue: one job at a time across the tabs
    assert jobs["restore"] == jobs["age"] == jobs["stylize"]


def _ancestors(layout: dict, types: dict[int, str], path: tuple[str, ...] = ()) -> dict:
    """Component id -> the types of the layout blocks around it, outermost first."""
    found = {layout["id"]: path}
    for child in layout.get("children", []):
        found |= _ancestors(child, types, (*path, types.get(layout["id"], "")))
    return found


def test_restore_tab_shows_a_persons_choices_and_folds_the_expert_ones(
    handlers: Handlers,
) -> None:
    from daguerre.degrade.presets import preset_names

    config = build_app(handlers.settings, handlers.workdirs).config
    components = {c["id"]: c for c in config["components"]}
    by_elem = {c["props"].get("elem_id"): c for c in config["components"]}
    advanced = by_elem["advanced"]
    assert advanced["type"] == "accordion"
    assert advanced["props"]["label"] == "Advanced" and advanced["props"]["open"] is False
    inside = _ancestors(config["layout"], {i: c["type"] for i, c in components.items()})
    for elem in ("photo-type", "best", "network-colours"):
        assert "accordion" in inside[by_elem[elem]["id"]], elem
    for elem in ("monochrome", "scratch-sensitivity"):
        assert "accordion" not in inside[by_elem[elem]["id"]], elem
    modes = [value for _, value in by_elem["monochrome"]["props"]["choices"]]
    assert modes == ["auto", "tone", "gray"]  # "off" is the Advanced box
    presets = [value for _, value in by_elem["preset"]["props"]["choices"]]
    assert presets == preset_names() and "detector-mix" not in presets  # no training mixes


def test_bad_strength_from_an_api_caller_is_a_message(handlers: Handlers, tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="strength"):
        _, downloads, status, *_ = handlers.restore([str(_photo(tmp_path / "a.png"))], 2.0)
    assert downloads is None and "strength must be in" in status


def test_cli_stays_light_and_serve_is_registered() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from daguerre.cli.app import app;"
        "out = CliRunner().invoke(app, ['serve', '--help']).output;"
        "assert '--max-upload-mb' in out and '--max-pixels' in out, out;"
        "assert 'gradio' not in sys.modules and 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_print_colour_choice_reaches_the_restorer(handlers: Handlers, tmp_path: Path) -> None:
    ramp = np.linspace(0.1, 0.9, 48)[None, :, None] * np.ones((40, 48, 1))
    texture = 0.05 * np.random.default_rng(1).standard_normal((40, 48, 1))
    sepia = (ramp + texture).clip(0, 1) * np.array([1.0, 0.82, 0.58])
    path = tmp_path / "print.png"
    Image.fromarray((sepia * 255).round().astype(np.uint8)).save(path)
    colours = {}
    for mode in ("auto", "tone"):
        _, downloads, status, *_ = handlers.restore([str(path)], 1.0, False, mode)
        assert downloads is not None, status
        colours[mode] = read_image(downloads[0]).rgb
    neutral, toned = colours["auto"], colours["tone"]
    assert float((neutral[0] - neutral[2]).abs().max()) < 1 / 255 + 1e-6
    assert float((toned[0] - toned[2]).mean()) > 0.05
    with pytest.warns(UserWarning, match="monochrome"):
        _, downloads, status, *_ = handlers.restore([str(path)], 1.0, False, "sepia")
    assert downloads is None and "monochrome must be one of" in status


def test_network_colours_box_overrides_the_print_colour_choice(
    handlers: Handlers, tmp_path: Path
) -> None:
    ramp = np.linspace(0.1, 0.9, 48)[None, :, None] * np.ones((40, 48, 1))
    sepia = ramp * np.array([1.0, 0.82, 0.58])  # a toned print: "tone" and "off" differ
    path = tmp_path / "print.png"
    Image.fromarray((sepia * 255).round().astype(np.uint8)).save(path)
    off = handlers.restore([str(path)], 1.0, False, "off")[1]
    toned = handlers.restore([str(path)], 1.0, False, "tone")[1]
    forced = handlers.restore([str(path)], 1.0, False, "tone", "auto", False, "sure", True)[1]
    assert off is not None and toned is not None and forced is not None
    assert torch.equal(read_image(forced[0]).rgb, read_image(off[0]).rgb)
    assert not torch.equal(read_image(toned[0]).rgb, read_image(off[0]).rgb)


def test_photo_type_choice_reaches_the_restorer(tmp_path: Path, workdirs: WorkDirs) -> None:
    import json

    from tests.pipelines.models import save_brightness_router, save_offset_model

    primary = save_offset_model(tmp_path / "print", 0.0)
    digital = save_offset_model(tmp_path / "digital", -0.2)
    config = json.loads((primary / "config.json").read_text())
    config["extra"].update(
        experts={"digital": str(digital)}, router=str(save_brightness_router(tmp_path / "r"))
    )
    (primary / "config.json").write_text(json.dumps(config))
    handlers = Handlers(WebSettings(model=str(primary), max_upload_mb=1.0), workdirs)
    bright = (0.6 + 0.3 * np.random.default_rng(2).random((24, 32, 3))) * 255
    path = tmp_path / "photo.png"
    Image.fromarray(bright.round().astype(np.uint8)).save(path)
    source = read_image(path).rgb
    shift = {}
    for kind in ("auto", "print", "digital"):
        _, downloads, status, *_ = handlers.restore([str(path)], 1.0, False, "off", kind)
        assert downloads is not None, status
        shift[kind] = float((read_image(downloads[0]).rgb - source).mean())
    assert abs(shift["auto"]) < 0.01 and abs(shift["print"]) < 0.01  # bright: "a print"
    assert abs(shift["digital"] + 0.2) < 0.01
    with pytest.warns(UserWarning, match="(kind|photo_type) must be one of"):
        _, downloads, status, *_ = handlers.restore([str(path)], 1.0, False, "off", "film")
    assert downloads is None and "must be one of" in status and "film" in status


def test_best_quality_averages_flipped_runs(tmp_path: Path, workdirs: WorkDirs) -> None:
    from daguerre.pipelines.restore import RestoreOptions, restore_tensor
    from tests.pipelines.models import save_random_model

    model = str(save_random_model(tmp_path / "random"))
    handlers = Handlers(WebSettings(model=model, max_upload_mb=1.0), workdirs)
    path = _photo(tmp_path / "a.png")
    outs = {}
    for best in (False, True):
        _, downloads, status, *_ = handlers.restore([str(path)], 1.0, False, "off", "auto", best)
        assert downloads is not None, status
        outs[best] = read_image(downloads[0]).rgb
    source = read_image(path).rgb
    expected = restore_tensor(source, RestoreOptions(model=model, monochrome="off", ensemble=4))
    assert (outs[True] - expected).abs().max() <= 1 / 255 + 1e-6
    assert (outs[True] - outs[False]).abs().max() > 2 / 255


def test_scratch_sensitivity_sets_the_inpainting_threshold(
    tmp_path: Path, workdirs: WorkDirs
) -> None:
    from daguerre.pipelines.restore import RestoreOptions, restore_tensor
    from daguerre.web.restore_tab import SCRATCH_CHOICES, SCRATCH_THRESHOLDS
    from tests.pipelines.models import save_random_model
    from tests.pipelines.test_scratches import save_detector_model

    model = str(save_random_model(tmp_path / "restorer", mask_channel=True))
    detector = str(save_detector_model(tmp_path / "det", extra={"restore_threshold": 0.9}))
    settings = WebSettings(model=model, scratch_model=detector, max_upload_mb=1.0)
    handlers = Handlers(settings, workdirs)
    path = _photo(tmp_path / "a.png")
    source = read_image(path).rgb
    assert set(SCRATCH_CHOICES.values()) == set(SCRATCH_THRESHOLDS)
    outs = {}
    for key, threshold in SCRATCH_THRESHOLDS.items():
        _, downloads, status, *_ = handlers.restore(
            [str(path)], 1.0, True, "off", "auto", False, key
        )
        assert downloads is not None, status
        outs[key] = read_image(downloads[0]).rgb
        options = RestoreOptions(model=model, monochrome="off", scratches="auto",
                                 scratch_model=detector, scratch_threshold=threshold)  # fmt: skip
        assert (outs[key] - restore_tensor(source, options)).abs().max() <= 1 / 255 + 1e-6
    assert (outs["all"] - outs["sure"]).abs().max() > 2 / 255  # more pixels inpainted
    _, downloads, status, *_ = handlers.restore([str(path)], 1.0, True, "off", "auto", False, "x")
    assert downloads is None and "sensitivity must be one of sure, more, all" in status


def _touchup_handlers(tmp_path: Path, workdirs: WorkDirs) -> tuple[Handlers, str, str]:
    from tests.pipelines.models import save_random_model
    from tests.pipelines.test_scratches import save_detector_model

    model = str(save_random_model(tmp_path / "restorer", mask_channel=True))
    detector = str(save_detector_model(tmp_path / "det", extra={"restore_threshold": 0.9}))
    settings = WebSettings(model=model, scratch_model=detector, preview_side=24)
    return Handlers(settings, workdirs), model, detector


def _no_progress(*_: object, **__: object) -> None:
    return None


def test_touch_up_finds_then_restores_with_the_edited_mask(
    tmp_path: Path, workdirs: WorkDirs
) -> None:
    from daguerre.pipelines.restore import RestoreOptions, restore_tensor
    from daguerre.pipelines.scratches import DetectOptions, defect_mask, detect_defects

    handlers, model, detector = _touchup_handlers(tmp_path, workdirs)
    path = str(_photo(tmp_path / "a.png", (40, 28)))
    source = read_image(path).rgb
    value, detected, status = handlers.find_scratches([path], "more", _no_progress)
    expected = defect_mask(detect_defects(source, DetectOptions(model=detector)), 0.65, 2)
    assert detected is not None and torch.equal(detected.mask, expected > 0.5)
    assert 0.05 < float(expected.mean()) < 0.95
    assert value["background"].shape == (17, 24, 3) and value["layers"] == []
    assert "a.png" in status and "%" in status

    def restored(layers: list[np.ndarray], found: object) -> torch.Tensor:
        edited = {**value, "layers": layers}
        _, downloads, status, *_ = handlers.restore_touched(
            [path], edited, found, 1.0, _no_progress
        )
        assert downloads is not None, status
        return read_image(downloads[0]).rgb

    def reference(mask: torch.Tensor) -> torch.Tensor:
        return restore_tensor(source, RestoreOptions(model=model), mask=mask)

    same = restored([], detected)  # no strokes: exactly the detector's mask
    assert (same - reference(expected)).abs().max() <= 1 / 255 + 1e-6
    green = np.zeros((17, 24, 4), dtype=np.uint8)
    green[...] = (0, 192, 0, 255)  # everything is real detail
    kept = restored([green], detected)
    assert (kept - reference(torch.zeros(1, 28, 40))).abs().max() <= 1 / 255 + 1e-6
    red = np.zeros((17, 24, 4), dtype=np.uint8)
    red[...] = (255, 0, 0, 255)  # everything is damage
    assert (restored([red], None) - reference(torch.ones(1, 28, 40))).abs().max() <= 1 / 255 + 1e-6
    assert (same - kept).abs().max() > 2 / 255


def test_touch_up_needs_a_mask_and_an_upload(tmp_path: Path, workdirs: WorkDirs) -> None:
    handlers, _, _ = _touchup_handlers(tmp_path, workdirs)
    path = str(_photo(tmp_path / "a.png"))
    assert handlers.find_scratches(None, "sure", _no_progress)[2] == NO_FILES.replace("_", "\\_")
    status = handlers.restore_touched([path], None, None, 1.0, _no_progress)[2]
    assert "Find scratches" in status
    _, found, _ = handlers.find_scratches([path], "sure", _no_progress)
    other = str(_photo(tmp_path / "b.png"))  # a mask found on another upload is not used
    status = handlers.restore_touched([other], None, found, 1.0, _no_progress)[2]
    assert "Find scratches" in status
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    value, found, status = handlers.find_scratches([str(broken)], "sure", _no_progress)
    assert found is None and "broken.png" in status and "⚠️" in status


@pytest.mark.filterwarnings("ignore:.*pages/frames")  # the multipage TIFF: first page only
@pytest.mark.parametrize("key", [*GOOD_KEYS, *BAD_KEYS])
def test_touch_up_reads_every_kind_of_upload(
    key: str, tmp_path: Path, workdirs: WorkDirs, corpus: dict[str, Path]
) -> None:
    """16-bit, alpha, palette, CMYK, EXIF: found and restored at full size in their format;
    corrupt, truncated, empty, not an image, a bomb: a one-line message naming the file."""
    handlers, _, _ = _touchup_handlers(tmp_path, workdirs)
    path = corpus[key]
    value, detected, status = handlers.find_scratches([str(path)], "more", _no_progress)
    if key in BAD_KEYS:
        assert detected is None and "⚠️" in status and "\n" not in status
        assert path.name.replace("_", "\\_") in status
        return
    source = read_image(path)
    assert detected is not None, status
    assert detected.mask.shape[-2:] == source.rgb.shape[-2:]
    _, downloads, status, *_ = handlers.restore_touched(
        [str(path)], value, detected, 1.0, _no_progress
    )
    assert downloads is not None, status
    result = read_image(downloads[0])
    assert result.meta.size == source.meta.size and result.meta.format == source.meta.format
    assert result.meta.bit_depth == source.meta.bit_depth
    assert (result.alpha is None) == (source.alpha is None)
