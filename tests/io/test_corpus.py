"""The real-world corpus: readable photos are never refused, broken pixel data always is."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms, UnidentifiedImageError

from daguerre.errors import ImageReadError
from daguerre.io import (
    ImageMetadataWarning,
    LoadedImage,
    _metadata,
    _repair,
    read_image,
    write_image,
)
from daguerre.io import image as image_module
from tests.io import corpus
from tests.io import corpus_parts as parts


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return corpus.make_realworld(tmp_path_factory.mktemp("realworld"))


def _case_file(files: dict[str, Path], key: str) -> Path:
    if key not in files:
        pytest.skip(f"{corpus.CASES[key].needs} codec not installed")
    return files[key]


def read_recording(path: Path) -> tuple[LoadedImage, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = read_image(path)
    return loaded, list(caught)


def levels(tensor: torch.Tensor, depth: int) -> np.ndarray:
    scale = 65535 if depth == 16 else 255
    return torch.round(tensor * scale).to(torch.int64).permute(1, 2, 0).numpy()


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# ---------------------------------------------------------------- the corpus


@pytest.mark.parametrize("key", list(corpus.READABLE))
def test_readable_file_is_read_at_full_size_with_one_warning_line(
    files: dict[str, Path], key: str
) -> None:
    case, path = corpus.READABLE[key], _case_file(files, key)
    loaded, caught = read_recording(path)
    assert loaded.meta.size == case.size and loaded.rgb.shape == (3, case.size[1], case.size[0])
    assert case.expected is not None
    expected = case.expected()
    depth = 16 if expected.dtype == np.uint16 else 8
    assert loaded.meta.bit_depth == depth
    error = np.abs(levels(loaded.rgb, depth) - expected.astype(np.int64)) / (
        257 if depth == 16 else 1
    )
    assert error.mean() <= case.tolerance, (key, error.mean())
    if case.warns is None:
        assert [str(w.message) for w in caught] == []
        return
    assert len(caught) == 1, [str(w.message) for w in caught]
    message = str(caught[0].message)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert case.warns in message.lower(), message
    metadata = case.warns != "frames"
    assert (caught[0].category is ImageMetadataWarning) == metadata


@pytest.mark.parametrize("key", list(corpus.REFUSED))
def test_broken_pixel_data_is_refused_in_one_line(files: dict[str, Path], key: str) -> None:
    path = _case_file(files, key)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_refusals_say_what_the_file_claims_to_be(files: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match=r"corrupt PNG file \(its header does not parse\)"):
        read_image(files["png_bad_ihdr_crc"])
    with pytest.raises(ImageReadError, match=r"corrupt GIF file"):
        read_image(files["gif_truncated"])
    (tmp_path / "notes.jpg").write_text("not a photo")
    with pytest.raises(ImageReadError, match=r"not an image file \(unknown or corrupt format\)"):
        read_image(tmp_path / "notes.jpg")


def test_the_archive_error_is_gone(files: dict[str, Path]) -> None:
    """The issue's bicycles.jpg: gray JFIF + Photoshop APP13 + EXIF with a broken TIFF header."""
    with Image.open(files["exif_broken_tiff_header"]) as image:
        with pytest.raises(SyntaxError, match="not a TIFF file"):
            image.getexif()  # what made read_image refuse the photo
    loaded, caught = read_recording(files["exif_broken_tiff_header"])
    assert loaded.meta.is_gray and loaded.meta.exif is None
    assert "EXIF (not a TIFF file" in str(caught[0].message)


# ---------------------------------------------------------------- what is kept


def test_what_can_be_kept_is_kept(tmp_path: Path) -> None:
    icc = srgb_icc()
    png = parts.encoded(Image.fromarray(parts.rgb_pixels()), "PNG", icc_profile=icc)
    bad_text = parts.png_chunk(b"tEXt", b"Comment\x00damaged", crc=1)
    (tmp_path / "crc.png").write_bytes(parts.png_with_chunks(png, bad_text))
    loaded, caught = read_recording(tmp_path / "crc.png")
    assert loaded.meta.icc_profile == icc  # the good iCCP chunk survives the bad tEXt
    assert "tEXt" in str(caught[0].message) and "iCCP" not in str(caught[0].message)

    garbage_icc = parts.encoded(
        Image.fromarray(parts.rgb_pixels()), "JPEG", icc_profile=b"junk" * 40,
        exif=parts.scanner_exif(),
    )  # fmt: skip
    (tmp_path / "icc.jpg").write_bytes(garbage_icc)
    loaded, caught = read_recording(tmp_path / "icc.jpg")
    assert loaded.meta.icc_profile is None and loaded.meta.exif is not None
    exif = Image.Exif()
    exif.load(loaded.meta.exif)
    assert exif[0x010F] == parts.SCANNER_MAKE and "ICC profile" in str(caught[0].message)


def test_a_repaired_file_keeps_its_sound_exif(files: dict[str, Path]) -> None:
    loaded, caught = read_recording(files["photoshop_broken_block"])
    assert "Photoshop/IPTC block (unreadable)" in str(caught[0].message)
    assert loaded.meta.exif is not None
    exif = Image.Exif()
    exif.load(loaded.meta.exif)
    assert exif[0x010F] == parts.SCANNER_MAKE


def test_valid_orientation_applies_when_a_sub_ifd_pointer_dangles(tmp_path: Path) -> None:
    tiff = parts.tiff_ifd(
        [
            (0x0112, 3, 1, (6).to_bytes(2, "little")),  # orientation 6: 90 degrees clockwise
            (0x8769, 4, 1, (0x7FFF0000).to_bytes(4, "little")),  # ExifIFD far outside the block
        ]
    )
    stored = Image.fromarray(parts.rgb_pixels())
    data = parts.encoded(stored, "JPEG", quality=95, dpi=(300, 300), exif=b"Exif\x00\x00" + tiff)
    (tmp_path / "rot.jpg").write_bytes(data)
    loaded, _ = read_recording(tmp_path / "rot.jpg")
    assert loaded.meta.size == (parts.HEIGHT, parts.WIDTH)  # turned upright
    assert loaded.meta.exif is not None  # kept, minus orientation and the dangling sub-IFD
    kept = Image.Exif()
    kept.load(loaded.meta.exif)
    assert 0x0112 not in kept and not kept.get_ifd(0x8769)


@pytest.mark.parametrize("key", ["exif_broken_tiff_header", "icc_garbage_png", "text_bad_crc_png"])
@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_read_then_written_without_a_new_warning(
    files: dict[str, Path], tmp_path: Path, key: str, suffix: str
) -> None:
    loaded, _ = read_recording(files[key])
    out = write_image(tmp_path / f"out{suffix}", loaded.rgb, meta=loaded.meta)
    again, caught = read_recording(out)
    assert again.meta.size == loaded.meta.size and caught == []


# ---------------------------------------------------------------- phone formats


@pytest.mark.skipif(not parts.heif_available(), reason="pillow-heif not installed")
def test_heic_is_read_and_written_when_asked(files: dict[str, Path], tmp_path: Path) -> None:
    loaded = read_image(files["heic"])
    assert loaded.meta.format == "HEIF" and loaded.meta.exif is not None
    kept = read_image(write_image(tmp_path / "kept.heic", loaded.rgb, meta=loaded.meta))
    assert kept.meta.format == "HEIF" and kept.meta.size == loaded.meta.size
    assert float((kept.rgb - loaded.rgb).abs().mean()) < 0.03
    as_png = read_image(write_image(tmp_path / "x.png", loaded.rgb, meta=loaded.meta))
    assert as_png.meta.size == loaded.meta.size and as_png.meta.exif is not None
    with pytest.warns(ImageMetadataWarning, match="EXIF"):
        gray = read_image(files["exif_broken_tiff_header"])  # gray: written as RGB HEIC
    written = read_image(write_image(tmp_path / "gray.heic", gray.rgb, meta=gray.meta))
    assert written.meta.size == gray.meta.size
    assert float((written.rgb - gray.rgb).abs().mean()) < 0.03


@pytest.mark.skipif(not parts.avif_available(), reason="Pillow without AVIF")
def test_avif_is_written_when_asked(files: dict[str, Path], tmp_path: Path) -> None:
    loaded = read_image(files["avif"])
    written = read_image(write_image(tmp_path / "kept.avif", loaded.rgb, meta=loaded.meta))
    assert written.meta.format == "AVIF" and written.meta.size == loaded.meta.size


def test_missing_heif_decoder_is_named(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    heic = tmp_path / "phone.heic"
    heic.write_bytes(bytes(4) + b"ftypheic" + bytes(4) + b"mif1heic" + bytes(40))

    def unknown(*args: object, **kwargs: object) -> None:
        raise UnidentifiedImageError("cannot identify image file")  # Pillow without the plugin

    monkeypatch.setattr(Image, "open", unknown)
    monkeypatch.setattr(image_module, "heif_support", lambda: False)
    with pytest.raises(ImageReadError, match="pillow-heif is not installed"):
        read_image(heic)


# ---------------------------------------------------------------- helpers


def test_pillow_notes_keep_only_pillow_warnings() -> None:
    notes: list[str] = []
    with pytest.warns(UserWarning, match="not from Pillow"):
        with _metadata.pillow_notes(notes):
            warnings.warn("not from Pillow", UserWarning, stacklevel=1)
    assert notes == []
    with _metadata.pillow_notes(notes):
        Image.Exif().load(b"Exif\x00\x00II*\x00" + (8).to_bytes(4, "little") + b"\x01\x00")
    assert notes and notes[0].startswith("EXIF/TIFF tags (")


def test_repairs_never_touch_pixel_parts() -> None:
    jpeg = corpus.photoshop_broken_block()
    for copy, left_out in _repair.repairs(jpeg):
        assert copy.endswith(jpeg[jpeg.index(b"\xff\xda") :])  # scan data byte for byte
        assert left_out
    png = corpus.text_bad_crc_png()
    first, names = next(_repair.repairs(png))
    assert names == ["PNG tEXt chunk (bad CRC)"]
    assert first == png.replace(png[33 : png.index(b"IDAT") - 4], b"")
    assert list(_repair.repairs(corpus.png_bad_ihdr_crc())) == []  # critical: never dropped
    assert list(_repair.repairs(b"GIF89a" + bytes(20))) == []
    assert list(_repair.repairs(b"\xff\xd8\xff\xe1\xff\xff")) == []  # length past the end


def test_warning_line_is_capped() -> None:
    notes = [f"note {index}" for index in range(7)]
    with pytest.warns(ImageMetadataWarning) as caught:
        _metadata.warn_ignored(Path("a.jpg"), notes, stacklevel=1)
    assert str(caught[0].message) == (
        "a.jpg: ignored broken metadata: note 0; note 1; note 2; note 3; 3 more; pixels read"
    )


def test_corpus_builds_the_same_bytes_twice() -> None:
    """Deterministic: the fuzzer's seeds and regression files must not drift between runs."""
    for key, case in corpus.CASES.items():
        if corpus.available(case) and case.needs is None:
            assert case.build() == case.build(), key
