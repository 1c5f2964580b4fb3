"""read_image / write_image: formats, modes, bit depth, alpha, ICC, EXIF, bad files, atomicity."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageCms, ImageFile, ImageOps

from daguerre.errors import (
    ConfigError,
    DecompressionBombError,
    ImageReadError,
    ImageWriteError,
)
from daguerre.io import ImageMeta, from_array, from_pil, read_image, to_pil, write_image
from daguerre.io import image as image_module
from tests import badfiles


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return badfiles.make_corpus(tmp_path_factory.mktemp("corpus"))


def levels(tensor: torch.Tensor, depth: int = 8) -> np.ndarray:
    """(C, H, W) float [0, 1] -> (H, W, C) integer levels."""
    scale = 255 if depth == 8 else 65535
    return torch.round(tensor * scale).to(torch.int64).permute(1, 2, 0).numpy()


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def random_rgb(gen: torch.Generator, h: int = 9, w: int = 13) -> torch.Tensor:
    return torch.rand(3, h, w, generator=gen)


# ---------------------------------------------------------------- decoding the corpus


@pytest.mark.parametrize("key", ["good_rgb", "webp", "bmp"])
def test_lossless_rgb8_decodes_exactly(corpus: dict[str, Path], key: str) -> None:
    loaded = read_image(corpus[key])
    assert loaded.rgb.dtype == torch.float32 and loaded.rgb.shape == (3, 17, 24)
    assert loaded.alpha is None
    assert loaded.meta.bit_depth == 8 and not loaded.meta.is_gray
    assert loaded.meta.size == (24, 17)
    np.testing.assert_array_equal(levels(loaded.rgb), badfiles.rgb8_pixels())


def test_jpeg_decodes_close(corpus: dict[str, Path]) -> None:
    loaded = read_image(corpus["good_jpeg"])
    assert loaded.meta.format == "JPEG" and loaded.meta.path == corpus["good_jpeg"]
    with Image.open(corpus["good_jpeg"]) as reference:
        np.testing.assert_array_equal(levels(loaded.rgb), np.asarray(reference.convert("RGB")))
    smooth = badfiles.rgb8_pixels()[:, :, :2].astype(np.int64)  # gradients: roughly kept
    assert np.abs(levels(loaded.rgb)[:, :, :2] - smooth).mean() < 10.0


@pytest.mark.parametrize("key", ["png16", "tiff16"])
def test_16bit_colour_decodes_exactly_in_16_bits(
    corpus: dict[str, Path], key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = badfiles.rgb16_pixels()
    assert (expected % 257 != 0).any()  # 8-bit data scaled up would be multiples of 257

    def no_pillow_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("Pillow decoded a 16-bit colour file (it keeps only 8 bits)")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_pillow_decoding)
    loaded = read_image(corpus[key])
    assert loaded.meta.bit_depth == 16 and loaded.meta.mode == "RGB;16"
    np.testing.assert_array_equal(levels(loaded.rgb, 16), expected)


def test_dark_gray16_stays_16_bit(corpus: dict[str, Path]) -> None:
    loaded = read_image(corpus["gray16"])
    assert badfiles.gray16_pixels().max() < 256  # a max-value heuristic would say 8-bit
    assert loaded.meta.bit_depth == 16 and loaded.meta.is_gray
    expected = np.repeat(badfiles.gray16_pixels()[:, :, None], 3, axis=2)
    np.testing.assert_array_equal(levels(loaded.rgb, 16), expected)


def test_gray_tiff(corpus: dict[str, Path]) -> None:
    loaded = read_image(corpus["gray_tiff"])
    assert loaded.meta.is_gray and loaded.meta.format == "TIFF" and loaded.meta.mode == "L"
    np.testing.assert_array_equal(levels(loaded.rgb)[:, :, 1], badfiles.gray8_pixels())
    assert torch.equal(loaded.rgb[0], loaded.rgb[2])


def test_rgba_splits_alpha(corpus: dict[str, Path]) -> None:
    loaded = read_image(corpus["rgba"])
    assert loaded.meta.has_alpha and loaded.alpha is not None
    assert loaded.alpha.shape == (1, 17, 24)
    np.testing.assert_array_equal(levels(loaded.rgb), badfiles.rgb8_pixels())
    np.testing.assert_array_equal(levels(loaded.alpha)[:, :, 0], badfiles.alpha8_pixels())


def test_gray_alpha(corpus: dict[str, Path]) -> None:
    loaded = read_image(corpus["gray_alpha"])
    assert loaded.meta.is_gray and loaded.meta.has_alpha and loaded.alpha is not None
    np.testing.assert_array_equal(levels(loaded.rgb)[:, :, 0], badfiles.gray8_pixels())
    np.testing.assert_array_equal(levels(loaded.alpha)[:, :, 0], badfiles.alpha8_pixels())


def test_palette_transparency_becomes_alpha(corpus: dict[str, Path]) -> None:
    loaded = read_image(corpus["palette"])
    assert loaded.meta.mode == "P" and loaded.meta.has_alpha and loaded.alpha is not None
    indices = badfiles.palette_indices()
    expected = np.array(badfiles.PALETTE)[indices]
    np.testing.assert_array_equal(levels(loaded.rgb), expected)
    np.testing.assert_array_equal(levels(loaded.alpha)[:, :, 0], np.where(indices == 0, 0, 255))


def test_cmyk_converts_to_the_right_rgb(corpus: dict[str, Path]) -> None:
    loaded = read_image(corpus["cmyk"])
    assert loaded.meta.mode == "CMYK" and loaded.meta.icc_profile is None
    for stripe, colour in enumerate(badfiles.CMYK_AS_RGB):
        centre = loaded.rgb[:, 8, stripe * 8 + 4]
        assert torch.allclose(centre, torch.tensor(colour) / 255.0, atol=0.06), (stripe, centre)


def test_exif_orientation_is_applied(corpus: dict[str, Path]) -> None:
    loaded = read_image(corpus["exif_rotated"])
    stored_w, stored_h = badfiles.ROTATED_STORED_SIZE
    assert loaded.meta.size == (stored_h, stored_w)  # width and height swapped
    assert loaded.rgb.shape == (3, stored_w, stored_h)
    if loaded.meta.exif is not None:
        exif = Image.Exif()
        exif.load(loaded.meta.exif)
        assert 0x0112 not in exif
    # Orientation 6 shows the stored image turned 90 degrees clockwise.
    height, width = loaded.rgb.shape[1:]
    displayed = {
        "top_right": (height // 4, 3 * width // 4),
        "bottom_right": (3 * height // 4, 3 * width // 4),
        "top_left": (height // 4, width // 4),
        "bottom_left": (3 * height // 4, width // 4),
    }
    stored_to_displayed = {
        "top_left": "top_right",
        "top_right": "bottom_right",
        "bottom_right": "bottom_left",
        "bottom_left": "top_left",
    }
    for stored, shown in stored_to_displayed.items():
        y, x = displayed[shown]
        colour = torch.tensor(badfiles.QUADRANT_COLOURS[stored]) / 255.0
        assert torch.allclose(loaded.rgb[:, y, x], colour, atol=0.05), (stored, shown)


def test_multipage_tiff_reads_first_page_and_warns(corpus: dict[str, Path]) -> None:
    with pytest.warns(UserWarning, match="only the first"):
        loaded = read_image(corpus["multipage_tiff"])
    np.testing.assert_array_equal(levels(loaded.rgb), badfiles.rgb8_pixels())


@pytest.mark.parametrize("orientation", range(1, 9))
def test_numpy_orientation_matches_pillow(orientation: int) -> None:
    pixels = np.arange(5 * 3, dtype=np.uint8).reshape(3, 5)
    image = Image.fromarray(pixels)
    image.getexif()[0x0112] = orientation
    expected = np.asarray(ImageOps.exif_transpose(image))
    result = image_module._orient_array(pixels[:, :, None], orientation)[:, :, 0]
    np.testing.assert_array_equal(result, expected)


def test_16bit_png_with_exif_orientation_goes_through_opencv(tmp_path: Path) -> None:
    stored = badfiles.rgb16_pixels()
    exif = Image.Exif()
    exif[0x0112] = 8  # 90 degrees counter-clockwise
    data = image_module._png16_bytes(stored, icc=None, exif=exif.tobytes())
    (tmp_path / "rot16.png").write_bytes(data)
    loaded = read_image(tmp_path / "rot16.png")
    assert loaded.meta.bit_depth == 16 and loaded.meta.size == (17, 24)
    np.testing.assert_array_equal(levels(loaded.rgb, 16), np.rot90(stored, k=1))


# ---------------------------------------------------------------- bad files


@pytest.mark.parametrize("key", badfiles.BAD_KEYS)
def test_bad_files_raise_image_read_error_naming_the_file(
    corpus: dict[str, Path], key: str
) -> None:
    with pytest.raises(ImageReadError) as info:
        read_image(corpus[key])
    assert str(corpus[key]) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)


def test_unreadable_file(corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(image_module.Image, "open", denied)  # chmod 0 does not stop root
    with pytest.raises(ImageReadError, match="permission denied"):
        read_image(corpus["good_rgb"])


def test_truncated_16bit_png_is_detected(tmp_path: Path) -> None:
    data = image_module._png16_bytes(badfiles.rgb16_pixels(), icc=None, exif=None)
    (tmp_path / "cut16.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="cut16.png"):
        read_image(tmp_path / "cut16.png")


def test_bomb_is_refused_from_the_header_without_decoding(
    corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert corpus["bomb"].stat().st_size < 100_000

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded a bomb")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    start = time.perf_counter()
    with pytest.raises(DecompressionBombError, match="DAGUERRE_MAX_PIXELS") as info:
        read_image(corpus["bomb"])
    assert time.perf_counter() - start < 1.0
    assert "900,000,000" in str(info.value) and str(corpus["bomb"]) in str(info.value)


def test_pixel_limit_argument_and_environment(
    corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DecompressionBombError):
        read_image(corpus["good_rgb"], max_pixels=24 * 17 - 1)
    assert read_image(corpus["good_rgb"], max_pixels=24 * 17).meta.size == (24, 17)
    monkeypatch.setenv("DAGUERRE_MAX_PIXELS", "100")
    with pytest.raises(DecompressionBombError):
        read_image(corpus["png16"])  # the OpenCV path checks the header too
    monkeypatch.setenv("DAGUERRE_MAX_PIXELS", "lots")
    with pytest.raises(ConfigError, match="DAGUERRE_MAX_PIXELS"):
        read_image(corpus["good_rgb"])


def test_pillow_limit_does_not_fire_before_ours(
    corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)
    assert read_image(corpus["good_rgb"]).meta.size == (24, 17)
    assert Image.MAX_IMAGE_PIXELS == 10  # restored after the header read


# ---------------------------------------------------------------- writing


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_16bit_round_trip_is_exact(
    tmp_path: Path, gen: torch.Generator, suffix: str, with_alpha: bool
) -> None:
    rgb = torch.from_numpy(badfiles.rgb16_pixels()).permute(2, 0, 1).float() / 65535
    alpha = torch.rand(1, 17, 24, generator=gen) if with_alpha else None
    path = write_image(tmp_path / f"out{suffix}", rgb, alpha=alpha, bit_depth=16)
    loaded = read_image(path)
    assert loaded.meta.bit_depth == 16 and loaded.meta.has_alpha == with_alpha
    np.testing.assert_array_equal(levels(loaded.rgb, 16), badfiles.rgb16_pixels())
    if alpha is not None:
        assert loaded.alpha is not None
        np.testing.assert_array_equal(levels(loaded.alpha, 16), levels(alpha, 16))


@pytest.mark.parametrize("suffix", [".png", ".tif", ".webp"])
def test_8bit_alpha_round_trip(tmp_path: Path, gen: torch.Generator, suffix: str) -> None:
    rgb, alpha = random_rgb(gen), torch.rand(1, 9, 13, generator=gen)
    loaded = read_image(write_image(tmp_path / f"a{suffix}", rgb, alpha=alpha, quality=100))
    assert loaded.alpha is not None and loaded.meta.bit_depth == 8
    np.testing.assert_array_equal(levels(loaded.alpha), levels(alpha))
    visible = (levels(alpha)[:, :, 0] > 0)[:, :, None]  # WebP may drop colour under alpha 0
    np.testing.assert_array_equal(levels(loaded.rgb) * visible, levels(rgb) * visible)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp", ".webp", ".jpg"])
def test_8bit_rgb_round_trip(tmp_path: Path, gen: torch.Generator, suffix: str) -> None:
    small = random_rgb(gen, 4, 4)[None]
    rgb = torch.nn.functional.interpolate(small, size=(16, 24), mode="bilinear")[0]
    loaded = read_image(write_image(tmp_path / f"rgb{suffix}", rgb, quality=100))
    assert loaded.meta.bit_depth == 8 and loaded.alpha is None
    error = np.abs(levels(loaded.rgb) - levels(rgb))
    if suffix == ".jpg":  # lossy: chroma subsampling blurs colour edges a little
        assert error.mean() < 3.0
    else:
        assert error.max() == 0


@pytest.mark.parametrize(
    ("suffix", "depth"), [(".png", 8), (".png", 16), (".tif", 8), (".tif", 16)]
)
def test_gray_meta_writes_gray(
    tmp_path: Path, corpus: dict[str, Path], suffix: str, depth: int
) -> None:
    source = read_image(corpus["gray16"])
    path = write_image(tmp_path / f"g{suffix}", source.rgb, meta=source.meta, bit_depth=depth)
    with Image.open(path) as written:
        assert written.mode == ("L" if depth == 8 else "I;16")
    loaded = read_image(path)
    assert loaded.meta.is_gray and loaded.meta.bit_depth == depth
    if depth == 16:
        assert torch.equal(loaded.rgb, source.rgb)


def test_gray_alpha_16bit_png_round_trip(tmp_path: Path, gen: torch.Generator) -> None:
    gray = torch.rand(1, 9, 13, generator=gen).expand(3, -1, -1)
    alpha = torch.rand(1, 9, 13, generator=gen)
    meta = ImageMeta(None, "PNG", "LA", 16, True, True, (13, 9))
    loaded = read_image(write_image(tmp_path / "la16.png", gray, alpha=alpha, meta=meta))
    assert loaded.meta.mode == "LA;16" and loaded.meta.is_gray and loaded.meta.bit_depth == 16
    assert loaded.alpha is not None
    np.testing.assert_array_equal(levels(loaded.rgb, 16), levels(gray, 16))
    np.testing.assert_array_equal(levels(loaded.alpha, 16), levels(alpha, 16))


def test_meta_bit_depth_is_the_default(tmp_path: Path, corpus: dict[str, Path]) -> None:
    source = read_image(corpus["png16"])
    assert (
        read_image(write_image(tmp_path / "a.png", source.rgb, meta=source.meta)).meta.bit_depth
        == 16
    )
    assert read_image(write_image(tmp_path / "b.png", source.rgb)).meta.bit_depth == 8
    # JPEG holds 8 bits: a 16-bit source is written as 8-bit, not refused.
    assert (
        read_image(write_image(tmp_path / "c.jpg", source.rgb, meta=source.meta)).meta.bit_depth
        == 8
    )


@pytest.mark.parametrize(
    ("suffix", "depth"), [(".png", 8), (".png", 16), (".tif", 8), (".jpg", 8), (".webp", 8)]
)
def test_icc_profile_survives(
    tmp_path: Path, gen: torch.Generator, suffix: str, depth: int
) -> None:
    icc = srgb_icc()
    meta = ImageMeta(None, "PNG", "RGB", depth, False, False, (13, 9), icc_profile=icc)
    loaded = read_image(write_image(tmp_path / f"icc{suffix}", random_rgb(gen), meta=meta))
    assert loaded.meta.icc_profile == icc


def test_exif_is_written_without_orientation(tmp_path: Path, gen: torch.Generator) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Daguerre Camera Co."  # Make
    meta = ImageMeta(None, "JPEG", "RGB", 8, False, False, (13, 9), exif=exif.tobytes())
    path = write_image(tmp_path / "exif.jpg", random_rgb(gen), meta=meta)
    with Image.open(path) as written:
        assert written.getexif().get(0x010F) == "Daguerre Camera Co."
        assert 0x0112 not in written.getexif()
    assert read_image(path).meta.size == (13, 9)  # not rotated again


def test_rounding_and_clamping(tmp_path: Path) -> None:
    values = torch.tensor([-0.5, 0.0, 0.1 / 255, 0.6 / 255, 127.4 / 255, 1.0, 1.5])
    rgb = values.view(1, 1, -1).expand(3, 1, -1)
    loaded = read_image(write_image(tmp_path / "r.png", rgb))
    assert levels(loaded.rgb)[0, :, 0].tolist() == [0, 0, 0, 1, 127, 255, 255]


@pytest.mark.parametrize("suffix", [".jpg", ".bmp"])
def test_alpha_to_a_format_without_alpha_is_refused(
    tmp_path: Path, gen: torch.Generator, suffix: str
) -> None:
    with pytest.raises(ImageWriteError, match=r"\.png"):
        write_image(tmp_path / f"x{suffix}", random_rgb(gen), alpha=torch.ones(1, 9, 13))
    assert list(tmp_path.iterdir()) == []


def test_write_refusals(tmp_path: Path, gen: torch.Generator) -> None:
    rgb = random_rgb(gen)
    with pytest.raises(ImageWriteError, match="8 bits"):
        write_image(tmp_path / "x.jpg", rgb, bit_depth=16)
    with pytest.raises(ImageWriteError, match="extension"):
        write_image(tmp_path / "x.gif", rgb)
    with pytest.raises(ValueError, match="NaN"):
        write_image(tmp_path / "x.png", rgb * float("nan"))
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        write_image(tmp_path / "x.png", rgb[:2])
    with pytest.raises(ValueError, match="bit_depth"):
        write_image(tmp_path / "x.png", rgb, bit_depth=12)
    assert list(tmp_path.iterdir()) == []


def test_write_creates_parent_folders(tmp_path: Path, gen: torch.Generator) -> None:
    path = write_image(tmp_path / "a" / "b" / "c.png", random_rgb(gen))
    assert path.is_file()


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, gen: torch.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "keep.png"
    target.write_bytes(b"old contents")

    def broken_save(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        fp.write(b"partial")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(ImageWriteError, match="disk full") as info:
        write_image(target, random_rgb(gen))
    assert str(target) in str(info.value)
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_unexpected_errors_propagate_but_clean_up(
    tmp_path: Path, gen: torch.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("bug")

    monkeypatch.setattr(image_module, "_png16_bytes", boom)
    with pytest.raises(RuntimeError, match="bug"):
        write_image(tmp_path / "x.png", random_rgb(gen), bit_depth=16)
    assert list(tmp_path.iterdir()) == []


def test_successful_write_replaces_and_leaves_no_temp(tmp_path: Path, gen: torch.Generator) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    write_image(target, random_rgb(gen))
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
    assert read_image(target).meta.size == (13, 9)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_written_file_respects_umask(tmp_path: Path, gen: torch.Generator) -> None:
    previous = os.umask(0o022)
    try:
        path = write_image(tmp_path / "perm.png", random_rgb(gen))
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------- in-memory conversions


def test_from_pil_modes() -> None:
    rgb, alpha = from_pil(Image.new("1", (4, 3), 1))
    assert alpha is None and float(rgb.min()) == 1.0 and rgb.shape == (3, 3, 4)
    rgb, alpha = from_pil(Image.new("RGBA", (4, 3), (255, 0, 0, 51)))
    assert alpha is not None and torch.allclose(alpha, torch.full((1, 3, 4), 0.2))
    assert rgb[:, 0, 0].tolist() == [1.0, 0.0, 0.0]
    rgb, _ = from_pil(Image.fromarray(np.full((3, 4), 65535, np.uint16)))
    assert float(rgb.min()) == 1.0


def test_to_pil_is_8bit_and_inverts_from_pil(gen: torch.Generator) -> None:
    rgb, alpha = random_rgb(gen), torch.rand(1, 9, 13, generator=gen)
    image = to_pil(rgb, alpha)
    assert image.mode == "RGBA" and image.size == (13, 9)
    back_rgb, back_alpha = from_pil(image)
    np.testing.assert_array_equal(levels(back_rgb), levels(rgb))
    assert back_alpha is not None
    np.testing.assert_array_equal(levels(back_alpha), levels(alpha))
    assert to_pil(rgb).mode == "RGB"


def test_from_array() -> None:
    assert torch.equal(from_array(np.full((2, 3), 255, np.uint8)), torch.ones(3, 2, 3))
    assert torch.equal(from_array(np.full((2, 3, 4), 65535, np.uint16)), torch.ones(3, 2, 3))
    floats = np.linspace(0, 1, 18, dtype=np.float64).reshape(2, 3, 3)
    assert torch.allclose(from_array(floats), torch.from_numpy(floats).float().permute(2, 0, 1))
    for bad in (
        np.zeros((2, 3, 2), np.uint8),
        np.zeros((1, 2, 3, 3), np.uint8),
        np.zeros((2, 3), bool),
    ):
        with pytest.raises(ValueError):
            from_array(bad)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        from_array(np.full((2, 3), 255.0))


def test_loaded_image_meta_is_frozen(corpus: dict[str, Path]) -> None:
    meta = read_image(corpus["good_rgb"]).meta
    with pytest.raises(AttributeError):
        meta.bit_depth = 16  # type: ignore[misc]
    assert replace(meta, bit_depth=16).bit_depth == 16
    with pytest.raises(ValueError):
        replace(meta, bit_depth=12)
