"""Typed manifests: what the ``extra`` section of a model's ``config.json`` tells a pipeline.

The restorer is a pipeline of parts named in its print expert's ``config.json``::

    "extra": {"mask_channel": true, "experts": {"digital": "restore-digital"}, "router": "router",
              "detail": {"expert": "digital", "scale": 0.5, "sigma": 1.0}}

and the router and the scratch detector carry their calibrated thresholds in their own
``extra``. Each section is parsed here, strictly and once per loaded model, into a frozen
dataclass (:class:`RestorerManifest`, :class:`RouterManifest`, :class:`DetectorManifest`);
the pipelines read those, never the raw dict. A key no manifest knows raises
:class:`ManifestError` naming the model, the key and the keys it could have been. Training
writes a few records for people (``step``, ``val_*``, the CycleGAN ``mode``; see
``RECORD_KEYS``); they are accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from daguerre.errors import CheckpointMismatchError
from daguerre.infer.multiscale import check_scales
from daguerre.pipelines.fusion import FusionConfig
from daguerre.weights.checkpoint import BACKBONE_ENCODER

T = TypeVar("T")

RECORD_KEYS = frozenset(
    {"step", "labels", "val_accuracy", "val_bce", "val_psnr", "restore_model",
     "mode", "a", "b", "crop", "content", BACKBONE_ENCODER}
)  # fmt: skip
"""``extra`` keys training writes for people (provenance, validation scores); no pipeline reads
them. (``mode``/``a``/``b``: the CycleGAN reverse generator, an unpaired restorer.)"""
EXPERT_KEYS = ("digital",)  # the keys of ``extra.experts``; the print expert is the model itself


class ManifestError(CheckpointMismatchError):
    """A model's ``config.json`` ``extra`` section has an unknown, missing or malformed key.

    Attributes:
        model: the model name or folder.
        key: the dotted key under ``extra`` at fault, e.g. ``"detail.scale"``.
        reason: what is wrong with it.
    """

    def __init__(self, model: str, key: str, reason: str) -> None:
        self.model, self.key, self.reason = model, key, reason
        super().__init__(f"{model}: config.json extra.{key}: {reason}")


@dataclass(frozen=True)
class RestorerManifest:
    """How a restoration model combines with other models (its ``config.json`` ``extra``).

    Args:
        mask_channel: the network takes RGB plus a defect mask (1 = damaged) as a 4th channel.
        digital: the digital-damage expert (``extra.experts.digital``), a model name or
            folder; ``None``: the model restores every photo itself.
        router: the photo-type model that picks print or digital expert per photo
            (``extra.router``, :class:`daguerre.nn.router.RouterNet`); needs ``digital``.
        detail: a print gets its tone from this model at reduced size and its fine detail
            from another expert (``extra.detail``, :mod:`daguerre.pipelines.fusion`).
        grade: the colour-grade model trained on this pipeline's output (``extra.grade``).
        prefill: the network was trained to refine a Telea fill of the masked pixels
            (``extra.prefill``, ``data.prefill`` in training) rather than to see through the
            damage; the pipeline then fills them first, and experts without ``prefill`` get
            the filled photo without the mask.
        inpainting: the restorer (a model name or folder whose own manifest names no
            ``inpainting``) that takes over a photo with a non-empty defect mask
            (``extra.inpainting``): experts trained to fill, next to these weights, which
            keep their quality on photos without damage to fill.
    """

    mask_channel: bool = False
    digital: str | None = None
    router: str | None = None
    detail: FusionConfig | None = None
    grade: str | None = None
    prefill: bool = False
    inpainting: str | None = None

    @property
    def detail_model(self) -> str | None:
        """The model that gives a fused print its fine detail (``None`` without fusion)."""
        return None if self.detail is None else self.experts()[self.detail.expert]

    def experts(self) -> dict[str, str]:
        """``extra.experts`` as parsed: expert key -> model name or folder."""
        return {} if self.digital is None else {"digital": self.digital}


@dataclass(frozen=True)
class RouterManifest:
    """A photo-type router's calibration (its ``config.json`` ``extra``).

    Args:
        threshold: a photo is taken for an old print when the router's logit is above this
            (``extra.threshold``; calibrated on training photos, see the ``router`` model card).
    """

    threshold: float = 0.0


@dataclass(frozen=True)
class DetectorManifest:
    """A scratch detector's calibration (its ``config.json`` ``extra``).

    Args:
        threshold: damage probability for the best pixel F1 on training photos.
        restore_threshold: the stricter one for inpainting (best restored PSNR: a false mark
            erases real detail); ``extra.restore_threshold``, else ``threshold``.
        scales: input scales whose logits are averaged (``extra.scales``).
    """

    threshold: float = 0.5
    restore_threshold: float = 0.5
    scales: tuple[float, ...] = (1.0,)


# --- parsing ----------------------------------------------------------------------------------


def restorer_manifest(model: str, extra: Mapping[str, Any]) -> RestorerManifest:
    """Parse a restoration model's ``extra`` strictly.

    Raises:
        ManifestError: an unknown key, an expert other than ``EXPERT_KEYS``, a router without
            a digital expert, a detail expert ``experts`` does not name, or a bad value.

    Example:
        >>> manifest = restorer_manifest("m", {"mask_channel": True, "experts": {"digital": "d"}})
        >>> manifest.mask_channel, manifest.digital, manifest.router, manifest.grade
        (True, 'd', None, None)
    """
    _check_keys(
        model, extra,
        {"mask_channel", "experts", "router", "detail", "grade", "prefill", "inpainting"},
    )  # fmt: skip
    experts = _experts(model, extra.get("experts", {}))
    router = _name(model, extra, "router")
    if router is not None and "digital" not in experts:
        raise ManifestError(model, "router", "needs extra.experts.digital: nothing to route to")
    mask_channel, prefill = _flag(model, extra, "mask_channel"), _flag(model, extra, "prefill")
    if prefill and not mask_channel:
        raise ManifestError(model, "prefill", "needs extra.mask_channel: nothing marks the fill")
    inpainting = _name(model, extra, "inpainting")
    if inpainting is not None and not mask_channel:
        raise ManifestError(model, "inpainting", "needs extra.mask_channel: no mask to hand over")
    return RestorerManifest(
        mask_channel, experts.get("digital"), router, _detail(model, extra.get("detail"), experts),
        _name(model, extra, "grade"), prefill, inpainting,
    )  # fmt: skip


def _flag(model: str, extra: Mapping[str, Any], key: str) -> bool:
    """``extra[key]`` as a bool (``False`` when absent), or a :class:`ManifestError`."""
    value = extra.get(key, False)
    if not isinstance(value, bool):
        raise ManifestError(model, key, f"expected true or false, got {value!r}")
    return value


def router_manifest(model: str, extra: Mapping[str, Any]) -> RouterManifest:
    """Parse a photo-type router's ``extra`` strictly (``threshold``: a logit, default 0).

    Raises:
        ManifestError: an unknown key or a threshold that is not a number.
    """
    _check_keys(model, extra, {"threshold"})
    return RouterManifest(_value(model, "threshold", float, extra.get("threshold", 0.0)))


def detector_manifest(model: str, extra: Mapping[str, Any]) -> DetectorManifest:
    """Parse a scratch detector's ``extra`` strictly.

    Raises:
        ManifestError: an unknown key, a threshold outside [0, 1], or ``scales`` that are not
            a list of distinct factors in [0.25, 4].

    Example:
        >>> detector_manifest("d", {"threshold": 0.65, "scales": [1.0, 1.5]})
        DetectorManifest(threshold=0.65, restore_threshold=0.65, scales=(1.0, 1.5))
    """
    _check_keys(model, extra, {"threshold", "restore_threshold", "scales"})
    threshold = _probability(model, extra, "threshold", 0.5)
    restore_threshold = _probability(model, extra, "restore_threshold", threshold)
    scales = extra.get("scales", [1.0])
    if not isinstance(scales, list):
        raise ManifestError(model, "scales", f"expected a list such as [1.0, 1.5], got {scales!r}")
    return DetectorManifest(
        threshold, restore_threshold, _value(model, "scales", check_scales, scales)
    )


# --- helpers ----------------------------------------------------------------------------------


def _check_keys(model: str, section: Mapping[str, Any], reads: set[str], prefix: str = "") -> None:
    """Refuse keys of ``section`` that are neither read nor (at the top) training records.

    ``section`` is ``extra`` itself, or the mapping under ``extra.<prefix>``.
    """
    records = RECORD_KEYS if not prefix else frozenset()
    unknown = sorted(set(section) - reads - records)
    if unknown:
        raise ManifestError(
            model, prefix + unknown[0], f"unknown key; expected one of {', '.join(sorted(reads))}"
        )


def _value(model: str, key: str, convert: Callable[[Any], T], raw: Any) -> T:
    """``convert(raw)``, its TypeError/ValueError turned into a :class:`ManifestError`."""
    try:
        return convert(raw)
    except (TypeError, ValueError) as err:
        raise ManifestError(model, key, str(err)) from None


def _name(model: str, section: Mapping[str, Any], key: str, prefix: str = "") -> str | None:
    """A model name or folder (a non-empty string), or ``None`` when absent."""
    value = section.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise ManifestError(model, prefix + key, f"expected a model name or folder, got {value!r}")
    return value


def _probability(model: str, section: Mapping[str, Any], key: str, default: float) -> float:
    value = _value(model, key, float, section.get(key, default))
    if not 0.0 <= value <= 1.0:
        raise ManifestError(model, key, f"expected a probability in [0, 1], got {value}")
    return value


def _experts(model: str, raw: Any) -> dict[str, str]:
    """``extra.experts``: a mapping from ``EXPERT_KEYS`` to model names."""
    if not isinstance(raw, Mapping):
        raise ManifestError(
            model, "experts", f"expected a mapping such as {{'digital': NAME}}, got {raw!r}"
        )
    _check_keys(model, raw, set(EXPERT_KEYS), "experts.")
    return {key: name for key in raw if (name := _name(model, raw, key, "experts.")) is not None}


def _detail(model: str, raw: Any, experts: Mapping[str, str]) -> FusionConfig | None:
    """``extra.detail``: ``{"expert": KEY, "scale": 0.5, "sigma": 1.0}`` (the last two optional)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or "expert" not in raw:
        raise ManifestError(model, "detail", f"expected a mapping with 'expert', got {raw!r}")
    _check_keys(model, raw, {"expert", "scale", "sigma"}, "detail.")
    if raw["expert"] not in experts:
        raise ManifestError(
            model, "detail.expert", f"{raw['expert']!r} is not a key of extra.experts"
        )
    try:
        scale, sigma = float(raw.get("scale", 0.5)), float(raw.get("sigma", 1.0))
        return FusionConfig(str(raw["expert"]), scale, sigma)
    except (TypeError, ValueError) as err:
        raise ManifestError(model, "detail", str(err)) from None


__all__ = [
    "EXPERT_KEYS",
    "RECORD_KEYS",
    "DetectorManifest",
    "ManifestError",
    "RestorerManifest",
    "RouterManifest",
    "detector_manifest",
    "restorer_manifest",
    "router_manifest",
]
