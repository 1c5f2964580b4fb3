"""A real-world corpus: files as archives and phones make them, built by code.

Archive scans carry every kind of broken metadata (EXIF with a broken TIFF header behind a
Photoshop block, garbage ICC profiles, ancillary PNG chunks with a bad CRC) around sound
pixels, and come in every format variant (CMYK and YCCK JPEG with an Adobe marker,
progressive JPEG, 16-bit LZW TIFF, JPEG-in-TIFF, 1-bit and palette PNG, animated GIF and
WebP, MPO, HEIC). ``make_realworld(folder)`` writes them all and returns ``{key: path}``.

The building blocks (reference pixels, byte surgery) are in ``tests/io/corpus_parts.py``.
Every case is a :class:`Case`: readable ones say what warning (if any) reading must give and
how to get their reference pixels independently of ``daguerre.io``; refused ones have broken
pixel data, so ``read_image`` must raise ``ImageReadError``. Files are written with Pillow,
OpenCV, pillow-heif and byte surgery, never with ``daguerre.io``. Sizes are small (32x24
unless noted) so the whole corpus builds in well under a second.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms

from tests.io.corpus_parts import (
    BROKEN_TIFF_HEADER,
    HEIGHT,
    WIDTH,
    as_rgb,
    avif_available,
    cmyk_as_rgb_pixels,
    cmyk_image,
    encoded,
    frame_pixels,
    gray16_lzw_pixels,
    gray_pixels,
    heif_available,
    jpeg_segment,
    jpeg_with_segments,
    one_bit_pixels,
    palette_pixels,
    photoshop_block,
    png_chunk,
    png_with_chunks,
    rgb16_pixels,
    rgb_pixels,
    scanner_exif,
    tiff_ifd,
)


@dataclass(frozen=True)
class Case:
    """One corpus file.

    Attributes:
        name: file name (its extension picks the format on purpose).
        build: returns the file's bytes.
        warns: ``None``: reading gives no warning. Else a lower-case word the one warning
            line must contain ("exif", "icc", "text", "frames"). Ignored for refused cases.
        refused: the pixel data is broken: reading raises ``ImageReadError``.
        size: ``(width, height)`` the reader must return (full size).
        needs: ``"heif"`` / ``"avif"`` when the case needs that optional codec.
        expected: the (H, W, 3) pixels a correct reader returns (uint16 for 16-bit files),
            made without decoding the file through ``daguerre.io``.
        tolerance: allowed mean absolute error in 8-bit levels (0: exact, lossless files).
    """

    name: str
    build: Callable[[], bytes]
    warns: str | None = None
    refused: bool = False
    size: tuple[int, int] = (WIDTH, HEIGHT)
    needs: str | None = None
    expected: Callable[[], np.ndarray] | None = None
    tolerance: float = 0.0


# ---------------------------------------------------------------- readable files


def _gray_jpeg() -> bytes:
    return encoded(Image.fromarray(gray_pixels()), "JPEG", quality=95, dpi=(300, 300))


def _rgb_jpeg(**options: object) -> bytes:
    """JFIF with a resolution, as scanners write it (Pillow then leaves EXIF unparsed)."""
    options = {"quality": 95, "dpi": (300, 300), **options}
    return encoded(Image.fromarray(rgb_pixels()), "JPEG", **options)


def exif_broken_tiff_header() -> bytes:
    """The archive case: gray JFIF + Photoshop APP13 + EXIF whose TIFF header is broken."""
    exif = b"Exif\x00\x00" + BROKEN_TIFF_HEADER + bytes(range(40))
    return jpeg_with_segments(
        _gray_jpeg(), jpeg_segment(0xED, photoshop_block()), jpeg_segment(0xE1, exif)
    )


def exif_truncated_ifd() -> bytes:
    """EXIF whose valid header points its first IFD far past the end of the block."""
    exif = b"Exif\x00\x00II*\x00" + struct.pack("<I", 60000) + b"\x00" * 6
    return jpeg_with_segments(_rgb_jpeg(), jpeg_segment(0xE1, exif))


def exif_entries_out_of_range() -> bytes:
    """EXIF whose IFD claims 4000 entries and whose values point outside the block."""
    entries = [(0x010F, 2, 400, struct.pack("<I", 0x7FFF0000))]  # Make: 400 chars, far away
    tiff = bytearray(tiff_ifd(entries))
    tiff[8:10] = struct.pack("<H", 4000)  # entry count much larger than the data
    return jpeg_with_segments(_rgb_jpeg(), jpeg_segment(0xE1, b"Exif\x00\x00" + bytes(tiff)))


def exif_bad_orientation() -> bytes:
    """A well-formed EXIF whose orientation is 99 (no such orientation)."""
    tiff = tiff_ifd([(0x0112, 3, 1, struct.pack("<H", 99))])
    return jpeg_with_segments(_rgb_jpeg(), jpeg_segment(0xE1, b"Exif\x00\x00" + tiff))


def exif_garbage_in_png() -> bytes:
    """PNG with an eXIf chunk (good CRC) holding random bytes."""
    garbage = np.random.default_rng(7).bytes(64)
    return png_with_chunks(
        encoded(Image.fromarray(rgb_pixels()), "PNG"), png_chunk(b"eXIf", garbage)
    )


def icc_garbage_jpeg() -> bytes:
    """JPEG whose APP2 ICC_PROFILE segment holds text, not a profile."""
    profile = b"this is not an ICC profile " * 8
    return encoded(Image.fromarray(rgb_pixels()), "JPEG", quality=95, icc_profile=profile)


def icc_garbage_png() -> bytes:
    """PNG whose iCCP chunk (good CRC, valid zlib) decompresses to garbage."""
    payload = b"Broken\x00\x00" + zlib.compress(np.random.default_rng(8).bytes(300))
    return png_with_chunks(
        encoded(Image.fromarray(rgb_pixels()), "PNG"), png_chunk(b"iCCP", payload)
    )


def text_bad_crc_png() -> bytes:
    """PNG whose only fault is a bad CRC on a tEXt comment chunk (libpng warns and reads)."""
    comment = png_chunk(b"tEXt", b"Comment\x00Scanned 1998 from a glass negative", crc=0x12345678)
    return png_with_chunks(encoded(Image.fromarray(rgb_pixels()), "PNG"), comment)


def photoshop_broken_block() -> bytes:
    """Sound EXIF, a good APP13 ``Photoshop 3.0`` block, then one ending inside its resource.

    Pillow refuses the whole file ("cannot identify image file"); the EXIF can be kept.
    """
    broken = b"Photoshop 3.0\x008BIM\x04\x04"  # resource name length and size missing
    return jpeg_with_segments(
        _rgb_jpeg(),
        jpeg_segment(0xE1, scanner_exif()),
        jpeg_segment(0xED, photoshop_block()),
        jpeg_segment(0xED, broken),
    )


def xmp_not_xml() -> bytes:
    """APP1 XMP packet that is neither UTF-8 nor XML (daguerre does not read XMP)."""
    packet = b"http://ns.adobe.com/xap/1.0/\x00" + b"<x:xmpmeta \xff\xfe\x00 broken"
    return jpeg_with_segments(_rgb_jpeg(), jpeg_segment(0xE1, packet))


def cmyk_adobe_jpeg() -> bytes:
    """Adobe CMYK JPEG (APP14 transform 0, inverted samples, as Photoshop writes them)."""
    data = encoded(cmyk_image(), "JPEG", quality=95)
    assert b"Adobe" in data
    return data


def cmyk_with_rgb_profile() -> bytes:
    """Adobe CMYK JPEG carrying an sRGB profile (a valid profile, of the wrong colour space)."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encoded(cmyk_image(), "JPEG", quality=95, icc_profile=srgb)


def ycck_adobe_jpeg() -> bytes:
    """Adobe YCCK JPEG (APP14 transform 2) showing the same stripes as ``cmyk_adobe_jpeg``.

    Pillow cannot encode YCCK, so the YCC transform is applied here and the Adobe marker's
    transform byte patched from 0 (CMYK) to 2 (YCCK): a decoder that honours the marker
    shows ``CMYK_STRIPES``; one that ignores it shows different colours.
    """
    cmyk = np.asarray(cmyk_image()).astype(np.float64)
    r, g, b = cmyk[..., 0], cmyk[..., 1], cmyk[..., 2]  # YCCK carries C, M, Y as "RGB"
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    stored = np.stack([y, cb, cr, 255 - cmyk[..., 3]], axis=-1)  # K is stored inverted
    planes = np.clip(np.rint(255 - stored), 0, 255).astype(np.uint8)  # Pillow inverts CMYK
    data = bytearray(encoded(Image.fromarray(planes, mode="CMYK"), "JPEG", quality=95))
    adobe = data.index(b"Adobe")
    assert data[adobe + 11] == 0, "expected Pillow's CMYK Adobe marker (transform 0)"
    data[adobe + 11] = 2
    return bytes(data)


def progressive_jpeg() -> bytes:
    """Progressive (Huffman-coded, no arithmetic coding) JPEG with optimised tables."""
    return _rgb_jpeg(progressive=True, optimize=True)


def restart_markers_jpeg() -> bytes:
    """Baseline JPEG with restart markers after every MCU row (scanner firmware does this)."""
    return _rgb_jpeg(restart_marker_rows=1)


def tiff16_lzw_rgb() -> bytes:
    """16-bit RGB TIFF, LZW-compressed (OpenCV/libtiff writer)."""
    bgr = np.ascontiguousarray(rgb16_pixels()[:, :, ::-1])
    ok, buffer = cv2.imencode(".tiff", bgr, [cv2.IMWRITE_TIFF_COMPRESSION, 5])  # 5 = LZW
    assert ok
    return buffer.tobytes()


def tiff16_lzw_gray() -> bytes:
    """16-bit gray TIFF, LZW-compressed (Pillow writer)."""
    return encoded(Image.fromarray(gray16_lzw_pixels()), "TIFF", compression="tiff_lzw")


def jpeg_in_tiff() -> bytes:
    """TIFF whose strips are JPEG-compressed (compression 7)."""
    return encoded(Image.fromarray(rgb_pixels()), "TIFF", compression="jpeg", quality=95)


def png_1bit() -> bytes:
    """1-bit black-and-white PNG (a line-art scan)."""
    return encoded(Image.fromarray(gray_pixels() > 100).convert("1"), "PNG")


def png_palette() -> bytes:
    """8-bit palette PNG without transparency."""
    return encoded(Image.fromarray(rgb_pixels()).quantize(16), "PNG")


def _frames() -> list[Image.Image]:
    return [Image.fromarray(frame_pixels(index)) for index in range(3)]


def animated_gif() -> bytes:
    """Three-frame GIF; reading takes frame 0 and warns."""
    first, *rest = _frames()
    return encoded(first, "GIF", save_all=True, append_images=rest, duration=100, loop=0)


def animated_webp() -> bytes:
    """Three-frame lossless WebP; reading takes frame 0 and warns."""
    first, *rest = _frames()
    return encoded(first, "WEBP", save_all=True, append_images=rest, lossless=True, duration=100)


def mpo() -> bytes:
    """Two-frame MPO (stereo camera / phone depth shot); reading takes frame 0 and warns."""
    first, second, _ = _frames()
    return encoded(first, "MPO", save_all=True, append_images=[second], quality=95)


def heic() -> bytes:
    """HEIC phone photo (HEVC still) with EXIF, written by pillow-heif."""
    import pillow_heif

    exif = Image.Exif()
    exif[0x010F] = "Phone"  # Make
    heif_file = pillow_heif.from_pillow(Image.fromarray(rgb_pixels()))
    buffer = io.BytesIO()
    heif_file.save(buffer, quality=92, exif=exif.tobytes())
    return buffer.getvalue()


def avif() -> bytes:
    """AVIF (AV1 still), written by Pillow."""
    return encoded(Image.fromarray(rgb_pixels()), "AVIF", quality=90)


def heic_broken_exif() -> bytes:
    """HEIC whose EXIF item holds the archive's broken TIFF header."""
    import pillow_heif

    heif_file = pillow_heif.from_pillow(Image.fromarray(rgb_pixels()))
    buffer = io.BytesIO()
    heif_file.save(buffer, quality=92, exif=b"Exif\x00\x00" + BROKEN_TIFF_HEADER + bytes(32))
    return buffer.getvalue()


def avif_broken_exif() -> bytes:
    """AVIF whose EXIF item's TIFF header is broken (libavif: "Invalid Exif payload")."""
    data = encoded(Image.fromarray(rgb_pixels()), "AVIF", quality=90, exif=scanner_exif())
    header = data.index(b"MM\x00*")
    return data[:header] + BROKEN_TIFF_HEADER[:4] + data[header + 4 :]


# ---------------------------------------------------------------- refused files


def exif_broken_and_truncated() -> bytes:
    """Broken EXIF *and* scan data cut in half: the pixels are gone, so it is refused."""
    noise = np.random.default_rng(5).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    data = encoded(Image.fromarray(noise), "JPEG", quality=95)
    exif = b"Exif\x00\x00" + BROKEN_TIFF_HEADER
    data = jpeg_with_segments(data, jpeg_segment(0xE1, exif))
    return data[: len(data) * 2 // 3]


def png_bad_ihdr_crc() -> bytes:
    """PNG whose IHDR (a critical chunk) fails its CRC."""
    data = bytearray(encoded(Image.fromarray(rgb_pixels()), "PNG"))
    data[29:33] = b"\x00\x00\x00\x00"
    return bytes(data)


def png_broken_idat() -> bytes:
    """PNG whose IDAT zlib stream is overwritten in the middle (CRC fixed to match)."""
    data = bytearray(encoded(Image.fromarray(rgb_pixels()), "PNG", compress_level=0))
    start = data.index(b"IDAT")
    length = struct.unpack(">I", data[start - 4 : start])[0]
    data[start + 4 : start + 4 + length] = b"\xff" * length  # zlib header and data ruined
    crc = zlib.crc32(bytes(data[start : start + 4 + length])) & 0xFFFFFFFF
    data[start + 4 + length : start + 8 + length] = struct.pack(">I", crc)
    return bytes(data)


def tiff_strips_past_end() -> bytes:
    """TIFF whose strip offsets point past the end of the file."""
    data = bytearray(encoded(Image.fromarray(rgb_pixels()), "TIFF"))
    return bytes(data[: len(data) // 3]) + bytes(data[-200:])


def gif_truncated() -> bytes:
    """Animated GIF cut inside the first frame's image data."""
    return animated_gif()[:60]


def heic_truncated() -> bytes:
    """HEIC cut in half (the HEVC data is gone)."""
    data = heic()
    return data[: len(data) // 2]


# ---------------------------------------------------------------- the corpus


_JPEG_ERROR = 2.5  # mean error of a quality-95 JPEG of the gradients, in 8-bit levels


def _gray_rgb() -> np.ndarray:
    return as_rgb(gray_pixels())


def _frame0() -> np.ndarray:
    return frame_pixels(0)


def _jpeg(name: str, build: Callable[[], bytes], warns: str | None = None) -> Case:
    """A lossy case showing ``rgb_pixels`` (``gray_pixels`` for the gray archive scan)."""
    expected = _gray_rgb if name.startswith("exif_broken_tiff") else rgb_pixels
    return Case(name, build, warns, expected=expected, tolerance=_JPEG_ERROR)


READABLE: dict[str, Case] = {
    case.name.split(".")[0]: case
    for case in (
        _jpeg("exif_broken_tiff_header.jpg", exif_broken_tiff_header, "exif"),
        _jpeg("exif_truncated_ifd.jpg", exif_truncated_ifd, "exif"),
        _jpeg("exif_entries_out_of_range.jpg", exif_entries_out_of_range, "exif"),
        _jpeg("exif_bad_orientation.jpg", exif_bad_orientation, "orientation"),
        Case("exif_garbage_in_png.png", exif_garbage_in_png, "exif", expected=rgb_pixels),
        _jpeg("icc_garbage_jpeg.jpg", icc_garbage_jpeg, "icc"),
        Case("icc_garbage_png.png", icc_garbage_png, "icc", expected=rgb_pixels),
        Case("text_bad_crc_png.png", text_bad_crc_png, "text", expected=rgb_pixels),
        _jpeg("photoshop_broken_block.jpg", photoshop_broken_block, "photoshop"),
        _jpeg("xmp_not_xml.jpg", xmp_not_xml),
        Case("cmyk_adobe_jpeg.jpg", cmyk_adobe_jpeg, expected=cmyk_as_rgb_pixels, tolerance=3),
        Case("ycck_adobe_jpeg.jpg", ycck_adobe_jpeg, expected=cmyk_as_rgb_pixels, tolerance=3),
        Case(
            "cmyk_with_rgb_profile.jpg",
            cmyk_with_rgb_profile,
            "icc",
            expected=cmyk_as_rgb_pixels,
            tolerance=3,
        ),
        _jpeg("progressive_jpeg.jpg", progressive_jpeg),
        _jpeg("restart_markers_jpeg.jpg", restart_markers_jpeg),
        Case("tiff16_lzw_rgb.tif", tiff16_lzw_rgb, expected=rgb16_pixels),
        Case("tiff16_lzw_gray.tif", tiff16_lzw_gray, expected=lambda: as_rgb(gray16_lzw_pixels())),
        _jpeg("jpeg_in_tiff.tif", jpeg_in_tiff),
        Case("png_1bit.png", png_1bit, expected=one_bit_pixels),
        Case("png_palette.png", png_palette, expected=palette_pixels),
        Case("animated_gif.gif", animated_gif, "frames", expected=_frame0),
        Case("animated_webp.webp", animated_webp, "frames", expected=_frame0),
        Case("mpo.mpo", mpo, "frames", expected=_frame0, tolerance=4),
        Case("heic.heic", heic, needs="heif", expected=rgb_pixels, tolerance=6),
        Case("avif.avif", avif, needs="avif", expected=rgb_pixels, tolerance=6),
        Case(
            "heic_broken_exif.heic",
            heic_broken_exif,
            "exif",
            needs="heif",
            expected=rgb_pixels,
            tolerance=6,
        ),
        Case(
            "avif_broken_exif.avif",
            avif_broken_exif,
            "exif",
            needs="avif",
            expected=rgb_pixels,
            tolerance=6,
        ),
    )
}
REFUSED: dict[str, Case] = {
    case.name.split(".")[0]: case
    for case in (
        Case("exif_broken_and_truncated.jpg", exif_broken_and_truncated, refused=True),
        Case("png_bad_ihdr_crc.png", png_bad_ihdr_crc, refused=True),
        Case("png_broken_idat.png", png_broken_idat, refused=True),
        Case("tiff_strips_past_end.tif", tiff_strips_past_end, refused=True),
        Case("gif_truncated.gif", gif_truncated, refused=True),
        Case("heic_truncated.heic", heic_truncated, refused=True, needs="heif"),
    )
}
CASES: dict[str, Case] = {**READABLE, **REFUSED}


def available(case: Case) -> bool:
    """Whether this Python can build (and so should read) ``case``."""
    if case.needs == "heif":
        return heif_available()
    if case.needs == "avif":
        return avif_available()
    return True


def make_realworld(folder: Path, keys: list[str] | None = None) -> dict[str, Path]:
    """Write the corpus (or just ``keys``) into ``folder``; return ``{key: path}``.

    Cases whose codec is missing here (HEIC without pillow-heif) are left out.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for key in keys or list(CASES):
        case = CASES[key]
        if available(case):
            path = folder / case.name
            path.write_bytes(case.build())
            written[key] = path
    return written
