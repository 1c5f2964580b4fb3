"""Named degradation presets: what a user ages a photo with, and the mixes models train on.

``PRESETS`` holds the user presets that ``daguerre presets``, ``daguerre degrade --preset``
and the web page's Age menu offer, each with a line in ``PRESET_DESCRIPTIONS``.
``TRAINING_MIXES`` holds the mixtures the shipped models were trained on; they are not
offered to users, but :func:`build_preset` resolves them by name for training configs
(``data.preset``) and ``daguerre eval restore --preset``. Both are explicit name -> factory
dicts (no registration side effects); each factory returns a fresh composite
:class:`~daguerre.degrade.base.Degradation`; run it with :func:`daguerre.degrade.chain.run`.

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
from daguerre.degrade.marks import Marks
from daguerre.degrade.noise import GaussianNoise, PoissonNoise, SaltPepper, SpeckleNoise
from daguerre.degrade.paper import PaperTexture
from daguerre.degrade.resize import DownUp, RandomResize
from daguerre.degrade.scratches import Scratches
from daguerre.degrade.stains import Foxing, Silvering, WaterStains
from daguerre.degrade.tears import Tears
from daguerre.degrade.tone import DyeFade, Fade, Sepia, Yellowing
from daguerre.degrade.vignette import Vignette
from daguerre.errors import UnknownNameError

__all__ = ["PRESETS", "PRESET_DESCRIPTIONS", "TRAINING_MIXES", "build_preset", "preset_names"]

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


def defects(craquelure: float = 0.0, flaking: float = 0.0) -> Op:
    """Detector training: an aged print with defects on nearly every image (~98 %), scanned.

    The look comes from :func:`aged` so the detector learns defects on old-looking photos,
    grain and paper texture included, rather than on clean ones. Silvering, vignetting and
    uneven exposure carry no mask: the detector must learn to leave them alone.

    ``craquelure``: probability of a cracked-emulsion net (:class:`Craquelure`) before the
    scan; ``flaking``: probability of chips of lost emulsion (:class:`Flaking`) after it. At 0
    an op is left out, so the preset draws exactly the random stream it always did.
    """
    nets = [Maybe(Craquelure(), craquelure)] if craquelure > 0 else []
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
    return OneOf([defects(), scratches_only(bright=0.8)], probs=(0.6, 0.4))


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
    """The first restoration model's training mixture: every recipe it must undo."""
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


# --- inpainting (issue 26) -----------------------------------------------------------------------


def restore_inpaint() -> Op:
    """``restore-mix2`` with opaque and translucent marks to fill (the print expert's inpainting).

    ``restore-mix2`` 50 %, :class:`Marks` on clean photos 30 % and on aged prints 20 %: marks
    0.6-16 px wide of every geometry, profile and tone, opacity 0.35-1, with their masks. The
    shipped experts were trained to fill only our scratches, which are translucent; given the
    exact mask of an opaque 15 px band they leave a veil (12.4 dB inside it, OpenCV Telea 18.6).
    """
    return OneOf([restore_mix2(), Marks(), Sequential([aged(), Marks()])], probs=(0.5, 0.3, 0.2))


def restore_digital_inpaint() -> Op:
    """``restore-digital`` 60 % and :class:`Marks` on clean photos 40 % (the digital expert's)."""
    return OneOf([restore_digital(), Marks()], probs=(0.6, 0.4))


# --- registry -----------------------------------------------------------------------------

PRESETS: dict[str, Callable[[], Op]] = {
    "aged": aged,
    "heavy": heavy,
    "colorfade": colorfade,
    "scratches-only": scratches_only,
    "unstructured": unstructured,
    "realesrgan": realesrgan,
}
"""User preset name -> factory of a fresh degradation (what ``daguerre presets`` lists)."""

PRESET_DESCRIPTIONS: dict[str, str] = {
    "aged": "an old print: faded, sepia or black-and-white, grainy, a few scratches and dust",
    "heavy": "a badly kept print: strongly faded and stained, scratched, cracked and torn",
    "colorfade": "a 1960s-80s colour print whose dyes faded to a pink-red cast",
    "scratches-only": "scratches, dust and creases on an otherwise untouched photo",
    "unstructured": "digital damage: blur, noise, downsizing and JPEG (Bringing-Old-Photos)",
    "realesrgan": "web and camera damage twice over: blur, resizing, noise, JPEG (Real-ESRGAN)",
}
"""One line per user preset, in a user's words, for ``--help`` texts and menus."""

TRAINING_MIXES: dict[str, Callable[[], Op]] = {
    "restore-mix": restore_mix,
    "restore-mix2": restore_mix2,
    "restore-digital": restore_digital,
    "defects": defects,
    "detector-mix": detector_mix,
    "restore-inpaint": restore_inpaint,
    "restore-digital-inpaint": restore_digital_inpaint,
}
"""Training mixture name -> factory; resolved by :func:`build_preset`, never listed to users.

``restore-mix2`` trained the shipped print expert (``restore``), ``restore-digital`` the
digital expert and ``detector-mix`` the scratch detector; ``restore-mix`` trained the print
expert's first two stages (and is the colour grade's default), ``defects`` the first detector
(it is the aged-print half of ``detector-mix``). ``restore-inpaint`` and
``restore-digital-inpaint`` train the two experts to refine a Telea fill of marked damage
(``data.prefill``; docs/experiments.md, 2026-12-07).
"""


def preset_names(*, training: bool = False) -> list[str]:
    """The user preset names, in registry order; with ``training`` the training mixes after them.

    Example:
        >>> preset_names()[:2]
        ['aged', 'heavy']
        >>> preset_names(training=True)[-1]
        'restore-digital-inpaint'
    """
    return [*PRESETS, *TRAINING_MIXES] if training else list(PRESETS)


def build_preset(name: str) -> Op:
    """Build the preset ``name``.

    Args:
        name: a key of ``PRESETS`` or of ``TRAINING_MIXES``.

    Returns:
        A fresh degradation (composite).

    Raises:
        UnknownNameError: ``name`` is neither; the message lists both kinds of name.
    """
    factory = PRESETS.get(name) or TRAINING_MIXES.get(name)
    if factory is None:
        raise UnknownNameError("preset", name, preset_names(training=True))
    return factory()
