"""Named degradation presets: the published recipes and our old-photo ageing chains.

``PRESETS`` is an explicit name -> factory dict (no registration side effects). Each factory
returns a fresh composite :class:`~daguerre.degrade.base.Degradation`; run it with
:func:`daguerre.degrade.chain.run`.

The old-photo presets follow the physical order of FIELD.md section 3.5: optics -> film ->
print -> ageing -> physical damage -> scan. Scan-time blur, noise and JPEG come last.

Example:
    >>> import torch
    >>> from daguerre.degrade.chain import run
    >>> result = run(build_preset("unstructured"), torch.rand(2, 3, 32, 32), torch.Generator())
    >>> tuple(result.image.shape), tuple(result.mask.shape)
    ((2, 3, 32, 32), (2, 1, 32, 32))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from daguerre.degrade.base import Degradation
from daguerre.degrade.blur import GaussianBlur, RealESRGANBlur
from daguerre.degrade.chain import Maybe, OneOf, Sequential, Shuffle
from daguerre.degrade.color import Grayscale
from daguerre.degrade.cracks import Cracks
from daguerre.degrade.craquelure import Craquelure
from daguerre.degrade.creases import Creases
from daguerre.degrade.dust import Dust
from daguerre.degrade.exposure import UnevenExposure
from daguerre.degrade.flaking import Flaking
from daguerre.degrade.grain import FilmGrain
from daguerre.degrade.jpeg import JPEG
from daguerre.degrade.noise import GaussianNoise, PoissonNoise, SaltPepper, SpeckleNoise
from daguerre.degrade.paper import PaperTexture
from daguerre.degrade.resize import DownUp, RandomResize
from daguerre.degrade.scratches import Scratches
from daguerre.degrade.stains import Foxing, Silvering, WaterStains
from daguerre.degrade.tears import Tears
from daguerre.degrade.tone import DyeFade, Fade, Sepia, Yellowing
from daguerre.degrade.vignette import Vignette
from daguerre.errors import UnknownNameError

__all__ = ["PRESETS", "PRESET_DESCRIPTIONS", "build_preset", "preset_names"]

Op = Degradation[Any]

# --- published recipes --------------------------------------------------------------------


def unstructured() -> Op:
    """BOPBTL ``online_add_degradation_v2``: 4 ops shuffled, each p 0.7, then gray p 0.1."""
    noise = OneOf([GaussianNoise(sigma=(5, 50)), SpeckleNoise(sigma=(5, 50)), SaltPepper()])
    return Sequential(
        [
            Shuffle(
                [
                    Maybe(GaussianBlur(sizes=(3, 5, 7), sigma=(1.0, 5.0)), 0.7),
                    Maybe(noise, 0.7),
                    Maybe(DownUp(scale=(0.5, 1.0)), 0.7),
                    Maybe(JPEG(quality=(40, 100)), 0.7),
                ]
            ),
            Maybe(Grayscale(), 0.1),
        ]
    )


def _realesrgan_noise(sigma: tuple[float, float], scale: tuple[float, float]) -> Op:
    """Gaussian (p 0.5) or Poisson noise, either gray with p 0.4."""
    return OneOf(
        [GaussianNoise(sigma=sigma, gray_prob=0.4), PoissonNoise(scale=scale, gray_prob=0.4)]
    )


def realesrgan() -> Op:
    """Real-ESRGAN second-order degradation, same-size variant (resizes return to the input)."""
    final_sinc = Maybe(RealESRGANBlur(sinc_prob=1.0, omega_large=(math.pi / 3, math.pi)), 0.8)
    return Sequential(
        [
            # first order
            RealESRGANBlur(sigma=(0.2, 3.0)),
            RandomResize(probs=(0.2, 0.7, 0.1), up=(1.0, 1.5), down=(0.15, 1.0)),
            _realesrgan_noise((1.0, 30.0), (0.05, 3.0)),
            JPEG(quality=(30, 95)),
            # second order
            Maybe(RealESRGANBlur(sigma=(0.2, 1.5)), 0.8),
            RandomResize(probs=(0.3, 0.4, 0.3), up=(1.0, 1.2), down=(0.3, 1.0)),
            _realesrgan_noise((1.0, 25.0), (0.05, 2.5)),
            # final sinc + JPEG, in either order
            OneOf(
                [
                    Sequential([final_sinc, JPEG(quality=(30, 95))]),
                    Sequential([JPEG(quality=(30, 95)), final_sinc]),
                ]
            ),
        ]
    )


# --- old-photo chains ---------------------------------------------------------------------


def _scan(blur: float, noise: float, quality: tuple[int, int], p: float) -> list[Op]:
    """Mild scanner softness, sensor noise and JPEG storage (the last steps of every chain)."""
    return [
        Maybe(GaussianBlur(sizes=(3, 5), sigma=(0.3, blur)), p),
        Maybe(GaussianNoise(sigma=(1.0, noise), gray_prob=0.5), p),
        Maybe(JPEG(quality=quality), p),
    ]


def aged() -> Op:
    """A convincing old print at moderate strength: toned, faded, lightly damaged, scanned."""
    return Sequential(
        [
            Maybe(Grayscale(), 0.6),  # most surviving old photos are black-and-white
            Maybe(GaussianBlur(sizes=(3, 5), sigma=(0.4, 1.2)), 0.4),  # soft period lens
            Maybe(FilmGrain(), 0.8),
            Maybe(Sepia(), 0.55),  # most surviving prints are warm-toned
            Maybe(Yellowing(), 0.6),
            Maybe(Fade(), 0.75),
            Maybe(Vignette(), 0.3),
            Maybe(UnevenExposure(), 0.3),
            Maybe(PaperTexture(), 0.4),
            Maybe(OneOf([Foxing(), Silvering()], probs=(0.6, 0.4)), 0.25),
            Maybe(Scratches(count=(1, 4)), 0.45),  # moderate: a few scratches, not a web
            Maybe(Dust(), 0.5),
            Maybe(Creases(), 0.1),
            *_scan(blur=1.0, noise=6.0, quality=(60, 95), p=0.5),
        ]
    )


def heavy() -> Op:
    """A badly kept print: strong fading and staining, tears, then the unstructured recipe."""
    return Sequential(
        [
            Maybe(Grayscale(), 0.6),
            Maybe(GaussianBlur(sizes=(3, 5, 7), sigma=(0.5, 2.0)), 0.6),
            Maybe(FilmGrain(strength=(0.03, 0.07)), 0.9),
            Maybe(Sepia(), 0.5),
            Maybe(Yellowing(strength=(0.3, 0.7)), 0.7),
            Maybe(Fade(strength=(0.3, 0.7)), 0.9),
            Maybe(Vignette(), 0.5),
            Maybe(UnevenExposure(), 0.5),
            Maybe(PaperTexture(strength=(0.01, 0.03)), 0.6),  # stronger shows a weave
            Maybe(Foxing(), 0.4),
            Maybe(Silvering(), 0.3),
            Maybe(WaterStains(), 0.3),
            Maybe(Scratches(count=(2, 12)), 0.8),
            Maybe(Dust(density=(40.0, 300.0)), 0.8),
            Maybe(Creases(count=(1, 3)), 0.35),
            Maybe(Cracks(), 0.25),  # a dried-out emulsion's crack web
            Maybe(Tears(), 0.2),
            unstructured(),
        ]
    )


def scratches_only(bright: float = 0.8) -> Op:
    """Scratches on every image, dust and creases sometimes: labels for the scratch detector.

    ``bright``: the probability that a scratch is light (else dark); see :class:`Scratches`.
    """
    return Sequential([Scratches(bright=bright), Maybe(Dust(), 0.7), Maybe(Creases(), 0.2)])


def defects(craquelure: float = 0.0, flaking: float = 0.0, net: Craquelure | None = None) -> Op:
    """Detector training: an aged print with defects on nearly every image (~98 %), scanned.

    The look comes from :func:`aged` so the detector learns defects on old-looking photos,
    grain and paper texture included, rather than on clean ones. Silvering, vignetting and
    uneven exposure carry no mask: the detector must learn to leave them alone.

    ``craquelure``: probability of a cracked-emulsion net (:class:`Craquelure`) before the
    scan; ``flaking``: probability of chips of lost emulsion (:class:`Flaking`) after it. At 0
    an op is left out, so the preset draws exactly the random stream it always did. ``net``:
    the crack-net op to use (default ``Craquelure()``).
    """
    nets = [Maybe(net or Craquelure(), craquelure)] if craquelure > 0 else []
    nets += [Maybe(Flaking(), flaking)] if flaking > 0 else []
    return Sequential(
        [
            Maybe(Grayscale(), 0.6),
            Maybe(GaussianBlur(sizes=(3, 5), sigma=(0.4, 1.2)), 0.4),
            Maybe(FilmGrain(), 0.7),
            Maybe(Sepia(), 0.4),
            Maybe(Yellowing(), 0.5),
            Maybe(Fade(), 0.6),
            Maybe(Vignette(), 0.3),
            Maybe(UnevenExposure(), 0.3),
            Maybe(PaperTexture(), 0.4),
            Maybe(Silvering(), 0.1),
            Maybe(Scratches(count=(1, 10), width=(0.5, 2.0)), 0.85),  # thin hairlines to thick
            Maybe(Dust(density=(10.0, 300.0)), 0.7),
            Maybe(Creases(count=(1, 3)), 0.25),
            Maybe(Cracks(), 0.3),
            Maybe(Tears(), 0.15),
            Maybe(Foxing(), 0.2),
            Maybe(WaterStains(), 0.15),
            *nets,
            *_scan(blur=1.0, noise=6.0, quality=(50, 95), p=0.6),
        ]
    )


def detector_mix() -> Op:
    """Detector training mixture: defects on aged prints (60 %) and on clean photos (40 %).

    ``defects`` alone taught the detector that every crisp edge of a clean photo is damage
    (precision 0.28 on ``scratches-only``); the clean-photo half shows it sharp, unaged
    content next to the same kinds of scratches, dust and creases.
    """
    return _aged_or_clean(aged=0.6, bright=0.8)


def _aged_or_clean(
    *,
    aged: float,
    bright: float,
    craquelure: float = 0.0,
    flaking: float = 0.0,
    net: Craquelure | None = None,
) -> Op:
    """Aged prints (``defects(craquelure, flaking, net)``) with probability ``aged``, else clean."""
    prints = defects(craquelure=craquelure, flaking=flaking, net=net)
    return OneOf([prints, scratches_only(bright=bright)], probs=(aged, 1.0 - aged))


def detector_mix2() -> Op:
    """``detector-mix`` with thick scratch bands oversampled (a probe, not the shipped mix).

    Defects 50 %, scratches-only 35 %, thick scratches (width multiplier 1.5-3) with dust
    sometimes 15 %. Thick translucent bands (wider than about 6 px) are the largest block of
    pixels the shipped detector misses on ``scratches-only`` (15.3k of 37.7k missed pixels on
    40 val photos), at every input scale; this mix shows more of them. It did not help
    (``configs/train/scratch-thick.yaml``).
    """
    thick = Sequential([Scratches(count=(1, 6), width=(1.5, 3.0)), Maybe(Dust(), 0.5)])
    return OneOf([defects(), scratches_only(), thick], probs=(0.5, 0.35, 0.15))


def detector_mix3() -> Op:
    """``detector-mix`` weighted towards clean photos: defects 30 %, scratches-only 70 % (a probe).

    The held-out detection score is taken on ``scratches-only`` damage of clean photos; this
    mix asks how much of the gap to it is the 60 % of aged prints in ``detector-mix``
    (``configs/train/scratch-clean70.yaml``).
    """
    return _aged_or_clean(aged=0.3, bright=0.8)


def detector_mix4() -> Op:
    """``detector-mix3`` with as many dark scratches as light ones on the clean photos.

    Defects on aged prints 30 % (light scratches 80 %, as drawn), ``scratches-only`` with
    ``bright=0.5`` on clean photos 70 %. Why: the shipped detector finds light scratches on
    clean photos at recall 0.77 and dark ones at 0.14 (20 train photos, ``Scratches`` alone);
    dark damage is about 10 % of the labelled pixels of ``scratches-only``, and the dark
    components hold a quarter of the pixels it misses on held-out photos.
    """
    return _aged_or_clean(aged=0.3, bright=0.5)


def detector_mix5() -> Op:
    """``detector-mix`` (defects 60 %) with half the clean photos' scratches dark (a probe).

    ``detector-mix4`` found more dark scratches but, with aged prints cut to 30 %, less of the
    real scans' crack webs; this keeps the aged half at 60 % (``configs/train/scratch-dark2.yaml``).
    """
    return _aged_or_clean(aged=0.6, bright=0.5)


def detector_mix6() -> Op:
    """``detector-mix`` with a cracked-emulsion net on 40 % of the aged prints.

    The real scans' dense crack nets (``bopb__old_w_scratch__d``: closed polygonal cells of
    bright hairlines) reach detector probabilities of only 0.3-0.8, under the inpainting
    threshold, because ``Cracks`` draws open branching webs; :class:`Craquelure` draws the
    closed net. Aged prints 60 %, clean photos with ``scratches-only`` 40 %, as before.
    """
    return _aged_or_clean(aged=0.6, bright=0.8, craquelure=0.4)


def detector_mix7() -> Op:
    """``detector-mix6`` with more crack nets (60 %) and flaked emulsion on half the aged prints.

    The real scan ``bopb__old_w_scratch__d`` has, besides its crack net, patches where the
    emulsion flaked off along the cracks and the border (paper colour, ragged); the shipped
    detector gives them about 0. ``detector-mix6`` (nets on 40 %) moved the detector too little
    in 4200 steps (``configs/train/scratch-craq.yaml``). Aged prints 60 %, clean photos 40 %.
    """
    return _aged_or_clean(aged=0.6, bright=0.8, craquelure=0.6, flaking=0.5)


def detector_mix8() -> Op:
    """``detector-mix`` with split-emulsion nets on half the aged prints, flakes on 30 % (a probe).

    In the real scan ``bopb__old_w_scratch__d`` the emulsion split into small islands: the
    gaps are 1-8 px of cream card, often darker and yellower than the print's whites, and each
    island's lifted edge is a dark line. ``Craquelure``'s defaults draw thinner, larger-celled
    nets in white or the print's whites; the shipped detector leaves d's gaps at about 0.
    Here the net has smaller cells (3-20 % of the short side), wider gaps (0.6-2.5 px mean),
    cream paper on 60 % and dark rims on 50 % of the light nets. Aged prints 60 %, clean
    photos 40 %, as in ``detector-mix``. It did not help (``configs/train/scratch-emulsion.yaml``:
    lower F1, and white cloth on toned prints marked as damage).
    """
    net = Craquelure(
        cell=(0.03, 0.2), keep=(0.5, 0.95), width=(0.6, 2.5), bright=0.9, cream=0.6, rim=0.5
    )
    return _aged_or_clean(aged=0.6, bright=0.8, craquelure=0.5, flaking=0.3, net=net)


def colorfade() -> Op:
    """A 1960s-80s colour print: dye fading (cyan first, pink cast), mild grain, soft scan."""
    return Sequential(
        [
            Maybe(FilmGrain(strength=(0.01, 0.03)), 0.7),
            DyeFade(),
            Maybe(Fade(strength=(0.1, 0.35)), 0.5),  # the print fades as a whole too
            Maybe(Vignette(), 0.3),
            Maybe(Dust(), 0.3),
            *_scan(blur=0.8, noise=4.0, quality=(70, 95), p=0.4),
        ]
    )


def restore_mix() -> Op:
    """The training mixture of the shipped restoration model: every recipe it must undo."""
    return OneOf(
        [unstructured(), aged(), heavy(), realesrgan(), colorfade()],
        probs=(0.45, 0.4, 0.05, 0.05, 0.05),
    )


def restore_mix2() -> Op:
    """``restore-mix`` plus undamaged photos (8 %) and scratched clean photos (7 %).

    Measured on 20 val photos (384 px), the ``restore-mix`` model changes an undamaged photo
    to 30.2 dB (baseline 33.1) and lowers JPEG q50 inputs from 30.3 to 28.2 dB: it never saw
    a photo it should leave alone, so it smooths real texture as if it were noise. Undamaged
    samples teach it to keep texture; scratched clean photos (with their mask) train the
    inpainting on sharp content.
    """
    return OneOf(
        [unstructured(), aged(), heavy(), realesrgan(), colorfade(), scratches_only(),
         Sequential([])],
        probs=(0.40, 0.30, 0.05, 0.05, 0.05, 0.07, 0.08),
    )  # fmt: skip


def restore_digital() -> Op:
    """Training mix of the digital-damage restorer: BOPBTL damage on photos that were not aged.

    ``unstructured`` 75 %, ``realesrgan`` 10 %, scratched clean photos 7 % (with their mask),
    undamaged photos 8 %. One small network trained on ``restore-mix2`` must hedge between
    undoing an old print's fading and toning and leaving a digital photo's tone alone; a
    2000-step fine-tune of it on ``unstructured`` alone rose from 26.39 to 27.00 dB on 50
    ``unstructured`` val photos while falling from 22.67 to 21.33 on ``aged``: two experts,
    chosen per photo, beat one compromise.
    """
    return OneOf(
        [unstructured(), realesrgan(), scratches_only(), Sequential([])],
        probs=(0.75, 0.10, 0.07, 0.08),
    )


# --- registry -----------------------------------------------------------------------------

PRESETS: dict[str, Callable[[], Op]] = {
    "unstructured": unstructured,
    "realesrgan": realesrgan,
    "aged": aged,
    "heavy": heavy,
    "scratches-only": scratches_only,
    "colorfade": colorfade,
    "restore-mix": restore_mix,
    "restore-mix2": restore_mix2,
    "restore-digital": restore_digital,
    "defects": defects,
    "detector-mix": detector_mix,
    "detector-mix2": detector_mix2,
    "detector-mix3": detector_mix3,
    "detector-mix4": detector_mix4,
    "detector-mix5": detector_mix5,
    "detector-mix6": detector_mix6,
    "detector-mix7": detector_mix7,
    "detector-mix8": detector_mix8,
}
"""Preset name -> factory of a fresh degradation."""

PRESET_DESCRIPTIONS: dict[str, str] = {
    "unstructured": "BOPBTL v2: blur, noise, down-up, JPEG shuffled (each p 0.7), gray p 0.1",
    "realesrgan": "Real-ESRGAN second-order blur/resize/noise/JPEG, same-size variant",
    "aged": "old print: gray/sepia, grain, yellowing, fading, light defects, scan",
    "heavy": "badly kept print: strong fading, stains, scratches, cracks, tears + unstructured",
    "scratches-only": "scratches on every image, dust and creases sometimes (detector labels)",
    "colorfade": "faded colour print: dye loss with a red-pink cast, mild grain",
    "restore-mix": "training mix: unstructured 45%, aged 40%, heavy/realesrgan/colorfade 5% each",
    "restore-mix2": "restore-mix 85% + undamaged photos 8% + scratched clean photos 7%",
    "restore-digital": "digital expert: unstructured 75%, realesrgan 10%, scratched 7%, clean 8%",
    "defects": "aged print with scratches, dust, creases, cracks, tears, stains (detector labels)",
    "detector-mix": "detector training mix: defects 60%, scratches-only 40%",
    "detector-mix2": "detector-mix with thick scratch bands: defects 50%, scratches 35%, thick 15%",
    "detector-mix3": "detector-mix weighted to clean photos: defects 30%, scratches-only 70%",
    "detector-mix4": "detector-mix3 with half the clean photos' scratches dark",
    "detector-mix5": "detector-mix with half the clean photos' scratches dark",
    "detector-mix6": "detector-mix with a cracked-emulsion net on 40% of the aged prints",
    "detector-mix7": "detector-mix with crack nets on 60%, flaked emulsion on 50% of aged prints",
    "detector-mix8": "detector-mix, split-emulsion nets (cream, dark rims) on 50%, flakes 30%",
}
"""One line per preset, for ``--help`` texts and logs."""


def preset_names() -> list[str]:
    """The preset names, in registry order.

    Example:
        >>> preset_names()[:2]
        ['unstructured', 'realesrgan']
    """
    return list(PRESETS)


def build_preset(name: str) -> Op:
    """Build the preset ``name``.

    Args:
        name: a key of ``PRESETS``.

    Returns:
        A fresh degradation (composite).

    Raises:
        UnknownNameError: ``name`` is not a preset; the message lists the valid names.
    """
    if name not in PRESETS:
        raise UnknownNameError("preset", name, list(PRESETS))
    return PRESETS[name]()
