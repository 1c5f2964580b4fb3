r"""Train :class:`daguerre.nn.router.RouterNet`: old print or digital photo, from the photo alone.

1. Samples: each clean photo (long side ``max_side``, then a random downscale in
   ``scale_range``) is degraded whole, ``samples_per_image`` times, by a preset drawn from
   ``print_presets`` (label 1) or ``digital_presets`` (label 0; ``none`` leaves the photo
   undamaged), half and half, with seeded generators, and reduced to the net's inputs
   (:func:`daguerre.nn.router.router_inputs`). Samples are cached in the run folder.
2. Labels: the family (weight 1), or with ``data.gain_from`` set to a restorer with experts,
   which expert restores the sample better: both run (``kind`` print and digital), the label
   says whether the print expert scores the higher PSNR against the clean target and the
   weight is the gap in dB (capped at ``gain_cap``), so the weighted BCE counts the PSNR a
   wrong choice loses, not just how often it is wrong.
3. Training (:class:`RouterTask` in the one loop, :class:`~daguerre.train.trainer.Trainer`):
   weighted binary cross-entropy, AdamW, linear decay, flips of the thumbnails; validated
   every ``val_every`` steps on samples of the ``val`` photos; ``RUN/best`` keeps
   the lowest validation regret (mean weight of the wrong choices; with family labels, the
   error rate), then the lowest loss (the final net when there is no ``val``).

Usage::

    daguerre train router --data ../shared/data/clean/train --val ../shared/data/clean/val \
        --out runs/router --config configs/train/router.yaml
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from daguerre.nn.router import RouterNet, router_inputs
from daguerre.train.config import AdamWConfig, RunConfig
from daguerre.train.run import Run
from daguerre.train.samples import Samples, SmallNetTask, readable_photos, stack_items
from daguerre.train.trainer import Validation
from daguerre.weights.checkpoint import ModelConfig

log = logging.getLogger(__name__)

NONE = "none"  # a "preset" that leaves the photo undamaged


@dataclass(frozen=True)
class RouterDataConfig:
    """Clean photos, degraded whole by one family's presets per sample (cached)."""

    train: tuple[str, ...] = ()
    val: tuple[str, ...] = ()
    print_presets: dict[str, float] = field(
        default_factory=lambda: {"aged": 0.7, "heavy": 0.15, "colorfade": 0.15}
    )
    digital_presets: dict[str, float] = field(
        default_factory=lambda: {"unstructured": 0.65, "realesrgan": 0.2, NONE: 0.15}
    )
    max_side: int = 512
    scale_range: tuple[float, float] = (0.6, 1.0)
    samples_per_image: int = 6
    val_samples_per_image: int = 2
    batch: int = 64
    gain_from: str = ""  # a restorer with experts: label samples by their PSNR gap (dB)
    gain_cap: float = 3.0  # the most one sample's gap weighs (dB)


@dataclass(frozen=True)
class RouterTrainConfig(RunConfig):
    """A whole run (``configs/train/router.yaml``)."""

    width: int = 16
    data: RouterDataConfig = field(default_factory=RouterDataConfig)
    optim: AdamWConfig = field(default_factory=lambda: AdamWConfig(lr=2e-3))
    threads: int = 1
    amp: bool = False  # a tiny net: float32 throughout
    ema_decay: float = 0.0  # a tiny net trained in minutes: no averaging
    log_every: int = 250
    val_every: int = 500


# --- samples ------------------------------------------------------------------------------


def _family(presets: dict[str, float]) -> tuple[list[Any], torch.Tensor]:
    """The preset ops of one family and their probabilities."""
    from daguerre.degrade.chain import Sequential
    from daguerre.degrade.presets import build_preset

    if not presets or min(presets.values()) < 0 or sum(presets.values()) <= 0:
        raise ValueError(f"need presets with non-negative weights, got {presets}")
    ops = [Sequential([]) if name == NONE else build_preset(name) for name in presets]
    return ops, torch.tensor(list(presets.values()), dtype=torch.float64)


def make_sample(
    clean: torch.Tensor, op: Any, gen: torch.Generator, scale: float, gain_from: str = ""
) -> Samples:
    """Downscale ``clean`` (3,H,W) by ``scale``, degrade it whole, return the net's inputs.

    With ``gain_from`` (a restorer with experts), also ``gain``: the print expert's PSNR minus
    the digital expert's (dB) against the degradation's target.
    """
    from daguerre.degrade.chain import apply_to_target, run

    if scale < 1.0:
        h, w = clean.shape[-2:]
        size = (max(8, round(h * scale)), max(8, round(w * scale)))
        clean = F.interpolate(clean[None], size=size, mode="bicubic", antialias=True)[0]
    clean = clean.clamp(0.0, 1.0)[None]
    result = run(op, clean, gen)
    degraded = result.image.clamp(0.0, 1.0)
    thumbs, stats = router_inputs(degraded)
    sample = {"thumbs": thumbs[0].half(), "stats": stats[0]}
    if gain_from:
        target = apply_to_target(op, clean, result.params)
        sample["gain"] = expert_gain(degraded, target, gain_from)
    return sample


def expert_gain(degraded: torch.Tensor, target: torch.Tensor, model: str) -> torch.Tensor:
    """PSNR of ``model``'s print expert minus its digital expert's, in dB (a scalar tensor).

    Args:
        degraded: ``(1,3,H,W)`` float32 [0, 1], what the router sees.
        target: ``(1,3,H,W)`` float32 [0, 1], the clean photo the restorers should give back.
        model: a restorer whose config names a digital expert (``extra.experts``).
    """
    from daguerre.metrics.fidelity import psnr
    from daguerre.pipelines.restore import RestoreOptions, restore_tensor

    scores = []
    for kind in ("print", "digital"):
        out = restore_tensor(degraded, RestoreOptions(model=model, photo_type=kind, device="cpu"))
        scores.append(psnr(out, target).clamp(max=60.0)[0])
    return scores[0] - scores[1]


def build_samples(
    folders: tuple[str, ...], cfg: RouterTrainConfig, per_image: int, salt: int
) -> Samples:
    """Samples for every photo under ``folders``: ``thumbs``, ``stats``, ``label`` (1 = print).

    Raises:
        ImageReadError: no readable photo at all.
    """
    from daguerre.train.data import sample_seed

    families = [_family(cfg.data.digital_presets), _family(cfg.data.print_presets)]
    items: list[Samples] = []
    for index, clean in readable_photos(folders, cfg.data.max_side):
        for k in range(per_image):
            gen = torch.Generator("cpu").manual_seed(sample_seed(cfg.seed, salt, index, k))
            label = (index + k) % 2  # half prints, half digital
            ops, probs = families[label]
            op = ops[int(torch.multinomial(probs, 1, generator=gen))]
            low, high = cfg.data.scale_range
            scale = low + (high - low) * float(torch.rand((), generator=gen))
            sample = make_sample(clean, op, gen, scale, cfg.data.gain_from)
            items.append({**sample, **_label(sample, label, cfg.data.gain_cap)})
    return stack_items(items, folders)


def _label(sample: Samples, family: int, cap: float) -> Samples:
    """``label`` (1 = print) and ``weight``: the family and 1, or from the sample's ``gain``."""
    gain = sample.get("gain")
    if gain is None:
        return {"label": torch.tensor(float(family)), "weight": torch.tensor(1.0)}
    return {"label": (gain > 0).float(), "weight": gain.abs().clamp(max=cap).float()}


# --- training -----------------------------------------------------------------------------


@dataclass
class RouterScore:
    """Validation accuracy, mean weighted BCE and regret.

    Accuracy is the share of samples on the right side of logit 0; regret the mean weight of
    the wrong ones (for gain labels, dB lost per sample to always picking the better expert;
    for family labels, the error rate).
    """

    accuracy: float
    loss: float
    regret: float

    def metrics(self) -> dict[str, float]:
        """As logged: ``accuracy``, ``bce``, ``regret``."""
        return {"accuracy": self.accuracy, "bce": self.loss, "regret": self.regret}


@torch.no_grad()
def score(net: nn.Module, samples: Samples) -> RouterScore:
    """Accuracy and mean BCE of ``net`` on ``samples``."""
    was_training = net.training
    net.eval()
    logits = net(samples["thumbs"].float(), samples["stats"])
    labels, weights = samples["label"], _weights(samples)
    loss = float(_weighted_bce(logits, labels, weights))
    wrong = ((logits > 0).float() != labels).float()
    net.train(was_training)
    return RouterScore(1.0 - float(wrong.mean()), loss, float((wrong * weights).mean()))


def _weights(samples: Samples) -> torch.Tensor:
    """Per-sample weights (caches written before weights existed count each sample once)."""
    if "weight" in samples:
        return samples["weight"]
    return torch.ones_like(samples["label"])


def _weighted_bce(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """BCE weighted per sample, normalised by the total weight (plain BCE for equal weights)."""
    losses = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return (losses * weights).sum() / weights.sum().clamp(min=1e-8)


class RouterTask(SmallNetTask):
    """Trains a :class:`RouterNet` on cached samples; ``RUN/final`` is the last one.

    ``RUN/best`` keeps the lowest validation regret, then the lowest loss; without validation
    samples it is the final net.
    """

    config = RouterTrainConfig
    headline = ("bce",)
    flip = ("thumbs",)

    def __init__(self, cfg: RouterTrainConfig, run: Run) -> None:
        super().__init__(cfg, run, RouterNet(width=cfg.width))
        self.last: RouterScore | None = None  # the latest validation

    build = staticmethod(build_samples)

    @classmethod
    def samples(cls, cfg: Any, run_dir: Path, split: str) -> Samples | None:
        """As cached; caches written before samples had weights get weight 1 each."""
        samples = super().samples(cfg, run_dir, split)
        return None if samples is None else {**samples, "weight": _weights(samples)}

    def model_config(self) -> ModelConfig:
        """``config.json`` with the step, the label names and the latest validation scores."""
        extra: dict[str, Any] = {"step": self.run.step, "labels": {"1": "print", "0": "digital"}}
        if self.last is not None:
            extra.update({f"val_{k}": round(v, 4) for k, v in self.last.metrics().items()})
        return ModelConfig(arch="router", kwargs={"width": self.cfg.width}, kind="router",
                           out_range="logits", extra=extra)  # fmt: skip

    def train_step(self, batch: Samples) -> dict[str, float]:
        """One AdamW step on the weighted BCE."""
        logits = self.net(batch["thumbs"], batch["stats"])
        loss = _weighted_bce(logits, batch["label"], batch["weight"])
        self.run.backward("", loss)
        return {"bce": float(loss.detach())}

    def validate(self, val: Samples) -> Validation:
        """Accuracy, BCE and regret; lower regret, then lower BCE is better."""
        self.last = score(self.model, val)
        return Validation(self.last.metrics(), (-self.last.regret, -self.last.loss))


__all__ = ["RouterScore", "RouterTask", "RouterTrainConfig", "build_samples", "score"]
