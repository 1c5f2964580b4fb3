"""Is this photo a monochrome print (neutral, sepia-toned, yellowed), whatever its cast?

A black-and-white print carries no colour information: the cast of a toned or yellowed print
is a function of brightness (the toner's curve, the paper's tint), not of what was in front of
the camera. So in such a print, colour at one luminance is the same everywhere, up to grain.
:func:`chroma_residual` measures how far the photo departs from that: chroma minus its median
at the same luminance, on a small thumbnail (which averages grain, dust and scan noise away).
A colour photo, even a faded one or a hand-tinted print, has different colours at the same
brightness and scores higher.

The restorer turns a print it judges monochrome into a neutral one
(``RestoreOptions.monochrome="auto"``): its network, seeing only a tile, otherwise invents
colour on warm prints (blue-gray faces, blotchy half-cream skies). With ``"tone"`` it then
gives the neutral restoration the print's own tone back (:func:`retone_in_place`): the tint
the original had at the same brightness rank, relative to its brightness, so a sepia print
stays sepia (and a yellowed one stays yellowed: the cast is kept, whatever caused it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from daguerre.pipelines.convert import LUMA, looks_gray

THUMBNAIL = 64  # side of the square thumbnail the score is computed on
BINS = 16  # luminance bins
MAX_CAST = 0.3  # a stronger cast than any toner's (sepia ~0.2) is a colour subject, not a print
TINTED = 0.02  # chroma above which a thumbnail pixel counts as tinted
# degrees of atan2(Cr, -Cb): yellowed paper ~10, sepia ~30, red-brown toners ~60
TONER_HUES = (-15.0, 65.0)
TONER_SHARE = 0.9  # share of tinted pixels whose hue must be a toner's or a yellowed paper's
TONE_ROWS = 256  # rows re-toned at a time: bounds the temporaries on a huge photo
MONOCHROME_TOLERANCE = (0.004, 0.012)
"""Largest (median, 90th percentile) :func:`chroma_residual` of a monochrome print.

When unsure, colour is kept: a colour photo turned gray is a far worse failure than a print
left slightly tinted. Measured with ``python scripts/eval_colour.py`` (a warm toner mixed into
the 82 colour photos of ``clean/val``, with grain in the silver and scan noise): these limits
take 0, 0 and 23 of the 82 for prints at toner fractions 0.3, 0.6 and 0.9, and 1 of the 81
damaged by the ``exam`` preset (at 512 px); the (0.008, 0.025) used until 2026-12-07 took 0, 0,
64 and 15. They take 157 of the 251 real scans in ``../shared/data/old`` for prints (130 of them
plain gray), the old limits 191: 34 lightly toned scans now keep the network's colours, which
are faint invented tints on some (a blue-gray backdrop on the 1867 musician). A residual alone
cannot tell a toned print with stains from a colour photo under heavy toning (both sit near
0.003-0.006 at 64 px)."""


def chroma_residual(rgb: torch.Tensor, quantile: float = 0.5) -> torch.Tensor:
    """How colourful a photo is beyond a cast that depends only on brightness.

    Args:
        rgb: ``(3,H,W)`` or ``(B,3,H,W)`` float32 in [0, 1].
        quantile: which quantile over the thumbnail's pixels (0.5: the median).

    Returns:
        ``()`` or ``(B,)`` float32: the quantile over thumbnail pixels of the chroma distance
        (Cb = B - Y, Cr = R - Y) to the chroma expected at their luminance (the median per
        luminance bin, interpolated); 0 for a gray or uniformly toned image, ~0.02-0.05 for
        colour photos.

    Example:
        >>> gray = torch.linspace(0, 1, 64).repeat(3, 64, 1)
        >>> toned = gray * torch.tensor([1.0, 0.85, 0.6]).view(3, 1, 1)
        >>> float(chroma_residual(toned)) < 0.005 < float(chroma_residual(torch.rand(3, 64, 64)))
        True
    """
    thumbs = _thumbnails(rgb)
    out = torch.stack([_residual(*_luma_chroma(t)).quantile(quantile) for t in thumbs])
    return out if rgb.ndim == 4 else out[0]


def looks_monochrome(
    rgb: torch.Tensor, tolerance: tuple[float, float] = MONOCHROME_TOLERANCE
) -> torch.Tensor:
    """Bool per image (``()`` for 3-D, ``(B,)`` for 4-D input): a neutral or toned print.

    Median and 90th-percentile :func:`chroma_residual` within ``tolerance``; a cast no
    stronger than a toner's (median chroma at most ``MAX_CAST``); and, where the print is
    tinted, a warm hue (``TONER_HUES``: yellowed paper, sepia, red-brown toners), so a colour
    photo whose hue happens to follow its brightness (a blue-gray sea, a pink sky over brown
    sand) is not taken for a print. A cyanotype therefore keeps the network's colour. All of
    it is judged on one small thumbnail per image, so the cost does not grow with the photo.

    Example:
        >>> gen = torch.Generator().manual_seed(0)
        >>> bool(looks_monochrome(torch.rand(3, 32, 32, generator=gen)))
        False
    """
    out = torch.stack([_judge(thumb, tolerance) for thumb in _thumbnails(rgb)])
    return out if rgb.ndim == 4 else out[0]


def retone_in_place(restored: torch.Tensor, original: torch.Tensor, flags: torch.Tensor) -> None:
    """Give each flagged neutral restoration the tone of its original print, in place.

    The tint is matched by brightness rank: the pixels of the restoration's thumbnail in the
    k-th of ``BINS`` equal-count brightness bins get the median tint of the original's k-th
    bin, as chroma relative to luminance (Cb / Y, Cr / Y), so the restored, usually
    wider, tonal range is toned like the print's and black stays black. Between bin centres
    the tint is interpolated linearly in the restoration's luminance. The luminance of each
    pixel is kept, up to clipping at 0 and 1.

    Args:
        restored: ``(3,H,W)`` or ``(B,3,H,W)`` float32 in [0, 1], the neutral (R = G = B)
            restorations; the flagged images are overwritten.
        original: same shape, the photos they were restored from.
        flags: ``()`` or ``(B,)`` bool, which images to re-tone.

    Example:
        >>> ramp = torch.linspace(0, 1, 32).repeat(3, 32, 1)
        >>> sepia = ramp * torch.tensor([1.0, 0.8, 0.55]).view(3, 1, 1)
        >>> gray = ramp.clone()
        >>> retone_in_place(gray, sepia, torch.tensor(True))
        >>> bool(gray[0].mean() > gray[1].mean() > gray[2].mean())
        True
    """
    images = restored if restored.ndim == 4 else restored[None]
    sources = original if original.ndim == 4 else original[None]
    for index, flag in enumerate(flags.reshape(-1).tolist()):
        if flag:
            knots = _tone_knots(_thumbnails(sources[index])[0], _thumbnails(images[index])[0])
            for top in range(0, images.shape[-2], TONE_ROWS):
                _tone_rows(images[index, :, top : top + TONE_ROWS], knots)


def neutral_flags(rgb: torch.Tensor, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: (must its restoration come out gray, is it then toned back).

    Gray: a gray input (:func:`~daguerre.pipelines.convert.looks_gray`) always; with ``mode``
    "auto" or "tone" also a monochrome print (:func:`looks_monochrome`); with "gray" every
    photo. Toned back: with "tone", the monochrome prints that are not gray inputs.

    Args:
        rgb: ``(3,H,W)`` or ``(B,3,H,W)`` float32 in [0, 1], the photos to restore.
        mode: :attr:`~daguerre.pipelines.restore.RestoreOptions.monochrome`: "auto",
            "tone", "gray" or "off".

    Returns:
        Two bool tensors, ``()`` for 3-D and ``(B,)`` for 4-D input.

    Example:
        >>> gray, toned = neutral_flags(torch.rand(2, 3, 16, 16), "gray")
        >>> gray.tolist(), toned.tolist()
        ([True, True], [False, False])
    """
    gray = looks_gray(rgb)
    if mode == "off":
        return gray, torch.zeros_like(gray)
    if mode == "gray":
        return torch.ones_like(gray), torch.zeros_like(gray)
    prints = looks_monochrome(rgb)
    toned = prints & ~gray if mode == "tone" else torch.zeros_like(gray)
    return gray | prints, toned


def gray_in_place(restored: torch.Tensor, gray: torch.Tensor) -> None:
    """Replace each image flagged in ``gray`` by its luma, with one HxW temporary at a time.

    Args:
        restored: ``(3,H,W)`` or ``(B,3,H,W)`` float32, modified in place.
        gray: ``()`` or ``(B,)`` bool, which images to make neutral.
    """
    images = restored if restored.ndim == 4 else restored[None]
    flags = gray.reshape(-1)
    for index in range(images.shape[0]):
        if bool(flags[index]):
            luma = torch.zeros_like(images[index, 0])
            for channel, weight in enumerate(LUMA):
                luma.add_(images[index, channel], alpha=weight)
            images[index].copy_(luma.expand_as(images[index]))


def _tone_knots(
    source: torch.Tensor, target: torch.Tensor
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(target luminance, source tint (2,)) at the centre of each brightness-rank bin."""
    luma, chroma = _luma_chroma(source)
    tint = chroma / luma.clamp_min(TINTED)
    order = luma.argsort()
    target_luma = _luma_chroma(target)[0].sort().values
    knots = []
    ranks = torch.arange(luma.numel()).chunk(BINS)
    for part, where in zip(order.chunk(BINS), ranks, strict=True):
        centre = target_luma[where].median()
        knots.append((centre, tint[:, part].median(dim=1).values))
    return knots


def _tone_rows(rows: torch.Tensor, knots: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Tint a ``(3,h,W)`` slice of a neutral image in place, keeping its luminance."""
    luma = LUMA[0] * rows[0] + LUMA[1] * rows[1] + LUMA[2] * rows[2]
    tint = _interpolate(luma.flatten(), knots).view(2, *luma.shape)
    blue, red = luma + tint[0] * luma, luma + tint[1] * luma
    green = (luma - LUMA[0] * red - LUMA[2] * blue) / LUMA[1]
    rows.copy_(torch.stack([red, green, blue]).clamp_(0.0, 1.0))


def _thumbnails(rgb: torch.Tensor) -> torch.Tensor:
    """``(B,3,h,w)`` float32 area-averaged thumbnails (at most ``THUMBNAIL`` a side)."""
    x = rgb if rgb.ndim == 4 else rgb[None]
    size = (min(THUMBNAIL, x.shape[-2]), min(THUMBNAIL, x.shape[-1]))
    return F.adaptive_avg_pool2d(x.float(), size)


def _luma_chroma(thumb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Luminance ``(N,)`` and chroma ``(2,N)`` (Cb = B - Y, Cr = R - Y) of a ``(3,h,w)``."""
    red, green, blue = thumb.flatten(1)
    luma = LUMA[0] * red + LUMA[1] * green + LUMA[2] * blue
    return luma, torch.stack([blue - luma, red - luma])


def _judge(thumb: torch.Tensor, tolerance: tuple[float, float]) -> torch.Tensor:
    """:func:`looks_monochrome` of one ``(3,h,w)`` thumbnail, a bool ``()`` tensor."""
    luma, chroma = _luma_chroma(thumb)
    median, high = _residual(luma, chroma).quantile(torch.tensor([0.5, 0.9]))
    cast = chroma.norm(dim=0)
    tinted = cast > TINTED
    hue = torch.rad2deg(torch.atan2(chroma[1], -chroma[0]))
    warm = (hue >= TONER_HUES[0]) & (hue <= TONER_HUES[1]) & tinted
    toner = warm.sum() >= TONER_SHARE * tinted.sum()
    return (median <= tolerance[0]) & (high <= tolerance[1]) & (cast.median() <= MAX_CAST) & toner


def _residual(luma: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """Per-pixel chroma distances ``(N,)`` to the chroma expected at each pixel's luminance.

    The expected chroma is interpolated linearly between the (median luminance, median
    chroma) points of the occupied bins, so a cast that grows with brightness (any toner's)
    leaves no residual.
    """
    bins = (luma * BINS).long().clamp(0, BINS - 1)
    # quantile averages the two middle values of an even count (median takes the lower), so
    # on a cast that falls with brightness the luma and chroma medians stay one point
    knots = [
        (luma[bins == k].quantile(0.5), chroma[:, bins == k].quantile(0.5, dim=1))
        for k in bins.unique().tolist()
    ]
    return (chroma - _interpolate(luma, knots, extend=True)).norm(dim=0)


def _interpolate(
    luma: torch.Tensor, knots: list[tuple[torch.Tensor, torch.Tensor]], *, extend: bool = False
) -> torch.Tensor:
    """Piecewise-linear chroma ``(2,N)`` at ``luma`` ``(N,)`` through sorted ``knots``.

    Beyond the first and last knot the chroma stays at the end knot's, or with ``extend``
    continues the end segment's slope (a toner's cast keeps growing with brightness there).
    """
    if len(knots) == 1:
        return knots[0][1][:, None].expand(2, luma.numel())
    xs = torch.stack([x for x, _ in knots])
    ys = torch.stack([y for _, y in knots], dim=1)  # (2, K)
    right = torch.searchsorted(xs, luma).clamp(1, len(knots) - 1)
    x0, x1 = xs[right - 1], xs[right]
    t = (luma - x0) / (x1 - x0).clamp_min(1e-6)
    t = t if extend else t.clamp(0.0, 1.0)
    return ys[:, right - 1] + t * (ys[:, right] - ys[:, right - 1])
