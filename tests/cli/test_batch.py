"""The shared batch loop: planning, guards, metadata, sharding, reporting, interruption,
files not read, and a folder of real-world files (broken metadata, phone formats)."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import pytest
import torch
import typer
from rich.console import Console

from daguerre.cli.batch import (
    BatchItem,
    BatchReport,
    ImageOutput,
    Reporter,
    RichReporter,
    TextOutput,
    describe_error,
    error_line,
    exit_with,
    plan_outputs,
    run_batch,
    shard_from_env,
    summary_lines,
)
from daguerre.errors import ConfigError, ImageReadError, ImageWriteError
from daguerre.io.image import LoadedImage, read_image, write_image
from daguerre.io.meta import ImageMeta
from tests.io import corpus
from tests.io import corpus_parts as parts


def _image(path: Path, h: int = 20, w: int = 28, **kwargs: object) -> Path:
    gen = torch.Generator().manual_seed(len(path.name))
    return write_image(path, torch.rand(3, h, w, generator=gen), **kwargs)  # type: ignore[arg-type]


def identity(item: BatchItem, loaded: LoadedImage) -> list[ImageOutput]:
    return [ImageOutput(rgb=loaded.rgb, alpha=loaded.alpha)]


def _quiet() -> Reporter:
    return Reporter(quiet=True, stream=io.StringIO())


def _run(inputs: list[Path], out: Path, process=identity, **kwargs: object) -> BatchReport:
    kwargs.setdefault("reporter", _quiet())
    return run_batch(inputs, out, process, **kwargs)  # type: ignore[arg-type]


# --- sharding ---------------------------------------------------------------------------------


def test_shard_from_env() -> None:
    assert shard_from_env({}) is None
    assert shard_from_env({"RANK": "2", "WORLD_SIZE": "3"}) == (2, 3)
    assert shard_from_env({"WORLD_SIZE": "1"}) == (0, 1)
    for bad in ({"RANK": "3", "WORLD_SIZE": "3"}, {"RANK": "x", "WORLD_SIZE": "2"}):
        with pytest.raises(ConfigError):
            shard_from_env(bad)


def test_shards_split_the_work_without_overlap(tmp_path: Path) -> None:
    for name in "abcde":
        _image(tmp_path / "in" / f"{name}.png")
    reports = [_run([tmp_path / "in"], tmp_path / "out", shard=(rank, 2)) for rank in (0, 1)]
    done = [sorted(path.name for path, _ in report.done) for report in reports]
    assert done == [["a.png", "c.png", "e.png"], ["b.png", "d.png"]]


# --- planning ---------------------------------------------------------------------------------


def test_plan_flags_collisions_and_input_overwrites(tmp_path: Path) -> None:
    first, second = _image(tmp_path / "x" / "a.png"), _image(tmp_path / "y" / "a.jpg")
    other = _image(tmp_path / "x" / "b.jpg")
    sources = [(first, None), (second, None), (other, None)]
    plan = plan_outputs(sources, tmp_path / "out", fmt="png", recursive=False)
    assert plan[0].error is None and plan[2].error is None
    assert plan[1].error == f"output {tmp_path / 'out' / 'a.png'} collides with input {first}"
    plan = plan_outputs(sources, tmp_path / "x", fmt="png", recursive=False)
    assert [entry.error is None for entry in plan] == [False, False, True]
    assert "refusing to overwrite input" in (plan[0].error or "")
    assert plan[2].item.output == tmp_path / "x" / "b.png" and plan[2].item.key == "b"


def test_recursive_keys_keep_subfolders(tmp_path: Path) -> None:
    root = tmp_path / "in"
    _image(root / "a.png")
    _image(root / "sub" / "a.png", h=12, w=10)
    report = _run([root], tmp_path / "out", recursive=True)
    assert report.exit_code == 0 and not report.failed
    assert read_image(tmp_path / "out" / "sub" / "a.png").meta.size == (10, 12)
    assert read_image(tmp_path / "out" / "a.png").meta.size == (28, 20)


def test_same_stem_from_two_folders_is_a_collision(tmp_path: Path) -> None:
    _image(tmp_path / "d1" / "a.png")
    _image(tmp_path / "d2" / "a.png", h=8, w=8)
    report = _run([tmp_path / "d1", tmp_path / "d2"], tmp_path / "out")
    assert [path for path, _ in report.done] == [tmp_path / "d1" / "a.png"]
    assert report.failed[0][0] == tmp_path / "d2" / "a.png"
    assert "collides" in report.failed[0][1] and report.exit_code == 1
    assert read_image(tmp_path / "out" / "a.png").meta.size == (28, 20)  # not overwritten


def test_out_dir_equal_to_input_dir_never_overwrites_inputs(tmp_path: Path) -> None:
    png, jpg = _image(tmp_path / "a.png"), _image(tmp_path / "b.jpg")
    before = png.read_bytes()
    report = _run([tmp_path], tmp_path)
    assert png.read_bytes() == before
    assert [path for path, _ in report.failed] == [png]
    assert [path for path, _ in report.done] == [jpg] and (tmp_path / "b.png").is_file()


def test_extra_output_over_an_input_is_refused(tmp_path: Path) -> None:
    photo, other_input = _image(tmp_path / "in" / "p.png"), _image(tmp_path / "out" / "p_mask.png")
    before = other_input.read_bytes()

    def with_mask(item: BatchItem, loaded: LoadedImage) -> list[ImageOutput]:
        return [ImageOutput(rgb=loaded.rgb), ImageOutput(rgb=loaded.rgb[:1], suffix="_mask")]

    report = _run([photo, other_input], tmp_path / "out", with_mask)
    assert other_input.read_bytes() == before
    assert not (tmp_path / "out" / "p.png").exists()  # checked before anything is written
    reasons = dict(report.failed)
    assert reasons[photo] == f"cannot write {other_input}: refusing to overwrite an input file"
    assert reasons[other_input].startswith("refusing to overwrite input file")


def test_out_dir_inside_input_folder_is_not_walked(tmp_path: Path) -> None:
    _image(tmp_path / "a.png")
    out = tmp_path / "out"
    assert len(_run([tmp_path], out, recursive=True).done) == 1
    again = _run([tmp_path], out, recursive=True)
    assert len(again.done) == 1 and not again.failed


def test_nothing_to_do_and_bad_out_dir_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(typer.BadParameter, match="no images"):
        _run([tmp_path / "empty"], tmp_path / "out")
    (tmp_path / "file").write_text("x")
    _image(tmp_path / "a.png")
    with pytest.raises(typer.BadParameter, match="not a folder"):
        _run([tmp_path / "a.png"], tmp_path / "file")


# --- writing ----------------------------------------------------------------------------------


def test_metadata_survives_and_extras_are_written(tmp_path: Path) -> None:
    deep = _image(tmp_path / "in" / "deep.png", bit_depth=16)
    gray_meta = ImageMeta(None, "PNG", "L", 8, has_alpha=False, is_gray=True, size=(7, 9))
    gray = write_image(tmp_path / "in" / "gray.png", torch.rand(3, 9, 7), meta=gray_meta)
    rgba = write_image(tmp_path / "in" / "rgba.png", torch.rand(3, 6, 5), alpha=torch.rand(1, 6, 5))

    def process(item: BatchItem, loaded: LoadedImage) -> list[ImageOutput | TextOutput]:
        mask = (loaded.rgb[:1] > 0.5).float()
        return [
            ImageOutput(rgb=loaded.rgb, alpha=loaded.alpha),
            ImageOutput(rgb=mask, suffix="_mask", fmt="png"),
            TextOutput(json.dumps({"key": item.key}), suffix="_params"),
        ]

    report = _run([deep, gray, rgba], tmp_path / "out", process, fmt="png")
    assert report.exit_code == 0, report.failed
    out = tmp_path / "out"
    assert read_image(out / "deep.png").meta.bit_depth == 16
    assert read_image(out / "gray.png").meta.is_gray
    assert read_image(out / "rgba.png").alpha is not None
    mask = read_image(out / "deep_mask.png")
    assert mask.meta.is_gray and mask.meta.bit_depth == 8 and mask.meta.size == (28, 20)
    assert json.loads((out / "rgba_params.json").read_text()) == {"key": "rgba"}
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]


def test_skip_existing(tmp_path: Path) -> None:
    _image(tmp_path / "in" / "a.png")
    _image(tmp_path / "in" / "b.png")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_bytes(b"old")
    report = _run([tmp_path / "in"], tmp_path / "out", skip_existing=True)
    assert [p.name for p, _ in report.skipped] == ["a.png"] and len(report.done) == 1
    assert (tmp_path / "out" / "a.png").read_bytes() == b"old"
    report = _run([tmp_path / "in"], tmp_path / "out")  # default: overwrite outputs
    assert len(report.done) == 2 and (tmp_path / "out" / "a.png").read_bytes() != b"old"


# --- failures ---------------------------------------------------------------------------------


def test_bad_and_missing_files_fail_alone(tmp_path: Path) -> None:
    good = _image(tmp_path / "good.png")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    stream = io.StringIO()
    report = _run(
        [tmp_path / "missing.png", tmp_path / "bad.png", good],
        tmp_path / "out",
        reporter=Reporter(stream=stream),
    )
    assert report.exit_code == 1 and len(report.done) == 1
    assert [p.name for p, _ in report.failed] == ["missing.png", "bad.png"]
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith(f"error: {tmp_path / 'missing.png'}: ")
    assert lines[1].startswith(f"error: {tmp_path / 'bad.png'}: ")
    assert lines[2].startswith(f"ok: {good} -> ")


def test_memory_error_fails_one_file_but_bugs_propagate(tmp_path: Path) -> None:
    _image(tmp_path / "in" / "a.png")
    _image(tmp_path / "in" / "b.png")

    def picky(item: BatchItem, loaded: LoadedImage) -> list[ImageOutput]:
        if item.key == "a":
            raise MemoryError
        return identity(item, loaded)

    report = _run([tmp_path / "in"], tmp_path / "out", picky)
    assert report.failed == [(tmp_path / "in" / "a.png", "out of memory (image too large?)")]

    def buggy(item: BatchItem, loaded: LoadedImage) -> list[ImageOutput]:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        _run([tmp_path / "in"], tmp_path / "out2", buggy)


def test_ctrl_c_stops_and_reports(tmp_path: Path) -> None:
    for name in "abcd":
        _image(tmp_path / "in" / f"{name}.png")

    def interrupt_on_c(item: BatchItem, loaded: LoadedImage) -> list[ImageOutput]:
        if item.key == "c":
            raise KeyboardInterrupt
        return identity(item, loaded)

    report = _run([tmp_path / "in"], tmp_path / "out", interrupt_on_c)
    assert report.interrupted and report.exit_code == 130
    assert len(report.done) == 2 and report.not_started == 2
    assert "interrupted: 2 file(s) not processed" in summary_lines(report)


def test_warnings_become_one_line_notes(tmp_path: Path) -> None:
    photo = _image(tmp_path / "a.png")

    def warns(item: BatchItem, loaded: LoadedImage) -> list[ImageOutput]:
        warnings.warn(f"{item.path}: something odd\nhere", UserWarning, stacklevel=1)
        return identity(item, loaded)

    for quiet, expected in ((False, [f"warning: {photo}: something odd here"]), (True, [])):
        stream = io.StringIO()
        reporter = Reporter(quiet=quiet, stream=stream)
        report = _run([photo], tmp_path / f"out{quiet}", warns, reporter=reporter)
        assert report.exit_code == 0
        assert [
            ln for ln in stream.getvalue().splitlines() if ln.startswith("warning:")
        ] == expected


def test_describe_error_is_one_line() -> None:
    assert describe_error(ImageReadError("x.png", "truncated")) == "truncated"
    assert describe_error(ImageWriteError("o.png", "disk full")) == "cannot write o.png: disk full"
    assert describe_error(PermissionError(13, "Permission denied", "o.png")) == (
        "Permission denied (o.png)"
    )
    assert error_line(Path("a.png"), "two\nlines") == "error: a.png: two lines"


# --- reporting --------------------------------------------------------------------------------


def test_quiet_reporter_prints_only_errors() -> None:
    stream = io.StringIO()
    reporter = Reporter(quiet=True, stream=stream)
    reporter.start(2)
    reporter.done(Path("a.png"), [Path("out/a.png")])
    reporter.skipped(Path("b.png"), "output exists")
    reporter.failed(Path("c.png"), "broken")
    reporter.close()
    assert stream.getvalue() == "error: c.png: broken\n"


def test_rich_reporter_prints_errors_above_the_bar() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    reporter = RichReporter("degrade", console=console)
    reporter.start(2)
    reporter.done(Path("a.png"), [Path("out/a.png")])
    reporter.failed(Path("[b].png"), "broken")
    reporter.close()
    text = buffer.getvalue()
    assert "error: [b].png: broken" in text and "degrade" in text and "2/2" in text


def test_summary_and_exit_code() -> None:
    report = BatchReport(done=[(Path("a.png"), [Path("o/a.png")])])
    report.failed.append((Path("b.png"), "corrupt"))
    report.skipped.append((Path("c.png"), "output exists"))
    stream = io.StringIO()
    with pytest.raises(typer.Exit) as exit_info:
        exit_with(report, stream=stream)
    assert exit_info.value.exit_code == 1
    assert stream.getvalue().splitlines() == [
        "1 done, 1 failed, 1 skipped",
        "failed:",
        "  b.png: corrupt",
    ]
    assert BatchReport().exit_code == 0


# --- files not read and real-world folders ----------------------------------------------------


def test_folder_files_not_read_are_skipped_with_a_reason(tmp_path: Path) -> None:
    _image(tmp_path / "in" / "a.png")
    (tmp_path / "in" / "anim.gif").write_bytes(corpus.animated_gif())
    (tmp_path / "in" / "notes.txt").write_text("scanned 1998")
    (tmp_path / "in" / "sub").mkdir()
    (tmp_path / "in" / "sub" / "raw.cr2").write_bytes(b"raw")
    stream = io.StringIO()
    report = _run([tmp_path / "in"], tmp_path / "out", reporter=Reporter(stream=stream))
    assert sorted(path.name for path, _ in report.done) == ["a.png", "anim.gif"]
    assert report.skipped == [(tmp_path / "in" / "notes.txt", "not read: unknown extension '.txt'")]
    assert report.exit_code == 0  # nothing failed; the summary counts what was left out
    assert summary_lines(report)[0] == "2 done, 0 failed, 1 skipped"
    lines = stream.getvalue().splitlines()
    assert f"skip: {tmp_path / 'in' / 'notes.txt'}: not read: unknown extension '.txt'" in lines
    assert (
        f"warning: {tmp_path / 'in' / 'anim.gif'}: 3 pages/frames; only the first is read" in lines
    )
    recursive = _run([tmp_path / "in"], tmp_path / "out2", recursive=True)
    assert (tmp_path / "in" / "sub" / "raw.cr2") in [path for path, _ in recursive.skipped]


def test_files_named_directly_are_never_skipped_for_their_extension(tmp_path: Path) -> None:
    note = tmp_path / "notes.txt"
    note.write_text("not an image")
    report = _run([note, _image(tmp_path / "a.png")], tmp_path / "out")
    assert report.skipped == [] and [path for path, _ in report.failed] == [note]


def test_a_folder_without_images_names_what_it_holds(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("x")
    with pytest.raises(typer.BadParameter, match="no images found; not read: notes.txt"):
        _run([tmp_path / "in"], tmp_path / "out")


def test_unread_files_are_reported_once_across_shards(tmp_path: Path) -> None:
    for name in "ab":
        _image(tmp_path / "in" / f"{name}.png")
    (tmp_path / "in" / "notes.txt").write_text("x")
    reports = [_run([tmp_path / "in"], tmp_path / "out", shard=(rank, 2)) for rank in (0, 1)]
    assert [len(report.skipped) for report in reports] == [1, 0]


def test_realworld_folder_reads_every_readable_file_and_reports_the_rest(tmp_path: Path) -> None:
    files = corpus.make_realworld(tmp_path / "in")
    (tmp_path / "in" / "README.txt").write_text("archive notes")
    stream = io.StringIO()
    report = _run([tmp_path / "in"], tmp_path / "out", reporter=Reporter(stream=stream))
    readable = {key: path for key, path in files.items() if key in corpus.READABLE}
    refused = {key: path for key, path in files.items() if key in corpus.REFUSED}
    assert sorted(path for path, _ in report.done) == sorted(readable.values())
    assert sorted(path for path, _ in report.failed) == sorted(refused.values())
    assert report.skipped == [
        (tmp_path / "in" / "README.txt", "not read: unknown extension '.txt'")
    ]
    assert report.exit_code == 1
    lines = stream.getvalue().splitlines()
    for key, path in readable.items():
        out = read_image(tmp_path / "out" / f"{path.stem}.png")
        assert out.meta.size == corpus.READABLE[key].size, key  # full size
        warned = [line for line in lines if line.startswith(f"warning: {path}: ")]
        assert len(warned) == (0 if corpus.READABLE[key].warns is None else 1), (key, warned)
    for path in refused.values():
        assert len([line for line in lines if line.startswith(f"error: {path}: ")]) == 1


def test_restore_cli_on_a_realworld_folder_with_a_heic_photo(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from daguerre.cli.app import app
    from tests.pipelines.models import save_identity_model

    files = corpus.make_realworld(tmp_path / "in")
    (tmp_path / "in" / "notes.txt").write_text("archive notes")
    model = save_identity_model(tmp_path / "model")
    args = ["restore", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", str(model)]
    result = CliRunner().invoke(app, [*args, "--tile", "16", "--overlap", "4"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    readable = [key for key in files if key in corpus.READABLE]
    refused = [key for key in files if key in corpus.REFUSED]
    assert f"{len(readable)} done, {len(refused)} failed, 1 skipped" in result.output
    for key in refused:
        assert f"  {files[key]}: " in result.output  # named in the summary's failed list
    assert f"skip: {tmp_path / 'in' / 'notes.txt'}: not read" in result.output
    summary = result.output[result.output.index("not read:\n") :]  # the summary's own list
    assert f"  {tmp_path / 'in' / 'notes.txt'}: unknown extension '.txt'" in summary
    bicycles = files["exif_broken_tiff_header"]
    assert f"warning: {bicycles}: ignored broken metadata: EXIF (not a TIFF file" in result.output
    for key in readable:
        assert read_image(tmp_path / "out" / f"{files[key].stem}.png").meta.size == (32, 24)
    if parts.heif_available():
        restored = read_image(tmp_path / "out" / "heic.png")
        assert torch.allclose(restored.rgb, read_image(files["heic"]).rgb, atol=2 / 255)
        again = CliRunner().invoke(app, ["restore", str(files["heic"]), "-o", str(tmp_path / "j"),
                                         "--model", str(model), "--format", "jpg"])  # fmt: skip
        assert (
            again.exit_code == 0 and read_image(tmp_path / "j" / "heic.jpg").meta.format == "JPEG"
        )
        kept = CliRunner().invoke(app, ["restore", str(files["heic"]), "-o", str(tmp_path / "h"),
                                        "--model", str(model), "--format", "heic"])  # fmt: skip
        assert kept.exit_code == 0 and read_image(tmp_path / "h" / "heic.heic").meta.size == (
            32,
            24,
        )
