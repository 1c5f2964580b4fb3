"""What a user may ask of the restorer (:class:`RestoreOptions`), and the error naming a bad one.

Each field is checked on its own when the options are made; whether the models they name
exist and fit together is checked once, by :func:`daguerre.pipelines.restorer.load_restorer`.
Both raise :class:`RestoreOptionsError`, whose ``option`` says which field is at fault, so
the CLI, the web page and ``eval`` can word it their own way.
"""

from __future__ import annotations

import warnings
from dataclasses import InitVar, dataclass

from daguerre.errors import ConfigError, DaguerreError
from daguerre.infer.ensemble import ENSEMBLE_SIZES
from daguerre.infer.tiling import TileConfig
from daguerre.pipelines.scratches import DetectOptions, tile_config

DEFAULT_MODEL = "restore"
MONOCHROME_MODES = ("auto", "tone", "gray", "off")
PHOTO_TYPES = ("auto", "print", "digital")
FUSION_MODES = ("auto", "off")


class RestoreOptionsError(DaguerreError, ValueError):
    """A restore option that cannot be used: a bad value, or a model that is missing or unfit.

    A :class:`ValueError` too, so code that checked option values with ``except ValueError``
    keeps working.

    Attributes:
        option: the :class:`RestoreOptions` field at fault (``"model"``, ``"photo_type"``,
            ``"scratches"``, ...; ``"mask"`` for a defect mask given to a model without a
            mask input).
        reason: what is wrong, in one line (also the error's message).

    Example:
        >>> err = RestoreOptionsError("ensemble", "ensemble must be one of (1, 2, 4, 8), got 3")
        >>> err.option, str(err)
        ('ensemble', 'ensemble must be one of (1, 2, 4, 8), got 3')
    """

    def __init__(self, option: str, reason: str) -> None:
        self.option, self.reason = option, reason
        super().__init__(reason)


@dataclass(frozen=True)
class RestoreOptions:
    """How to restore.

    Args:
        strength: 0 returns the input, 1 the full restoration; in between a linear blend.
        model: a shipped model name or a model folder (e.g. a training run's ``best/``).
        tile: tile side in pixels (0 = whole image at once).
        overlap: pixels shared by neighbouring tiles (blended).
        device: "auto", "cpu", "cuda", "cuda:1", "mps".
        precision: "auto" (fp16 on CUDA, bf16 on a CPU with native bf16, else fp32), "fp32",
            "fp16", "bf16".
        scratches: where the defect mask comes from when none is passed to
            :func:`~daguerre.pipelines.restore.restore_tensor`: "off", "auto" (the scratch
            detector) or a mask file or folder of masks (white = damaged); see
            :func:`daguerre.pipelines.scratches.resolve_scratch_mask`.
        scratch_model: the detector used by ``scratches="auto"``.
        scratch_threshold: with ``scratches="auto"`` only, the damage probability in [0, 1]
            above which a pixel is inpainted; ``None`` takes the detector's threshold
            calibrated for inpainting (``extra.restore_threshold``, 0.995 for the shipped
            one). Lower finds fainter cracks (a print split into a crack web) and erases more
            real detail.
        grade: the whole-image colour grade applied after the network: "auto" (the grade
            model the restoration model's config names, if any), "off", or a grade model
            name or folder (see :mod:`daguerre.nn.grade`).
        monochrome: "auto": a photo that looks like a monochrome print (neutral, sepia-toned
            or yellowed; :func:`daguerre.pipelines.monochrome.looks_monochrome`) comes out
            neutral gray, so no colour is invented; "tone": such a print comes out neutral,
            then gets its own tone back (sepia stays sepia, yellowed paper stays yellow;
            :func:`daguerre.pipelines.monochrome.retone_in_place`); "gray": the photo is a
            black-and-white print whatever it looks like (a lightly toned print "auto" is
            unsure of keeps the network's colours): neutral gray out; "off": whatever the
            network gives. An exactly gray input always gives a gray output.
        photo_type: what kind of photo this is, so which expert restores it when ``model``
            names experts (its manifest's ``digital`` expert; the shipped ``restore`` is the
            old-print expert and names ``restore-digital`` for digital photos with digital
            damage): "auto" asks the manifest's router
            (:class:`daguerre.nn.kind.KindNet`) per photo; "print" uses ``model`` itself;
            "digital" its digital expert. A model without experts restores every photo itself.
        ensemble: 1, 2, 4 or 8: average the network over that many flipped/transposed
            copies of the photo (:mod:`daguerre.infer.ensemble`); ``ensemble`` times slower,
            a little more accurate.
        fusion: "auto": a print expert whose manifest names a detail expert
            (:mod:`daguerre.pipelines.fusion`) gives only the tone, from a pass at reduced
            size, and the detail expert gives the fine detail (the shipped print expert
            takes its detail from the digital expert); "off": the print expert alone.
        kind: deprecated name of ``photo_type`` (a DeprecationWarning; it wins when given).

    Raises:
        RestoreOptionsError: a value out of range or not among the choices above.
    """

    strength: float = 1.0
    model: str = DEFAULT_MODEL
    tile: int = 512
    overlap: int = 32
    device: str = "auto"
    precision: str = "auto"
    scratches: str = "off"
    scratch_model: str = "scratch"
    scratch_threshold: float | None = None
    grade: str = "auto"
    monochrome: str = "auto"
    photo_type: str = "auto"
    ensemble: int = 1
    fusion: str = "auto"
    kind: InitVar[str | None] = None

    def __post_init__(self, kind: str | None) -> None:
        if kind is not None:
            warnings.warn(
                "RestoreOptions(kind=...) is deprecated; use photo_type=...",
                DeprecationWarning,
                stacklevel=3,
            )
            object.__setattr__(self, "photo_type", kind)
        strength = self.strength
        _require(0.0 <= strength <= 1.0, "strength", f"strength must be in [0, 1], got {strength}")
        _require_choice("photo_type", self.photo_type, PHOTO_TYPES)
        _require_choice("fusion", self.fusion, FUSION_MODES)
        _require_choice("monochrome", self.monochrome, MONOCHROME_MODES)
        _require_choice("ensemble", self.ensemble, ENSEMBLE_SIZES)
        if (threshold := self.scratch_threshold) is not None:
            bounds = f"scratch_threshold must be in [0, 1], got {threshold}"
            _require(0.0 <= threshold <= 1.0, "scratch_threshold", bounds)
            needs = "a scratch threshold needs scratches 'auto' (it sets the detector's)"
            _require(self.scratches == "auto", "scratch_threshold", needs)
        try:
            self.tiles()
        except ConfigError as err:
            raise RestoreOptionsError("tile", str(err)) from None

    def tiles(self) -> TileConfig:
        """The tiling config these options describe (see :func:`.scratches.tile_config`)."""
        return tile_config(self.tile, self.overlap)

    def detect_options(self) -> DetectOptions:
        """Settings for the scratch detector: same tiling, device and precision.

        ``for_restore`` picks the detector's threshold calibrated for inpainting unless
        ``scratch_threshold`` sets one.
        """
        return DetectOptions(
            model=self.scratch_model, threshold=self.scratch_threshold, for_restore=True,
            tile=self.tile, overlap=self.overlap, device=self.device, precision=self.precision,
        )  # fmt: skip


def _require(condition: bool, option: str, reason: str) -> None:
    if not condition:
        raise RestoreOptionsError(option, reason)


def _require_choice(option: str, value: object, choices: tuple[object, ...]) -> None:
    _require(value in choices, option, f"{option} must be one of {choices}, got {value!r}")


__all__ = [
    "DEFAULT_MODEL",
    "FUSION_MODES",
    "MONOCHROME_MODES",
    "PHOTO_TYPES",
    "RestoreOptions",
    "RestoreOptionsError",
]
