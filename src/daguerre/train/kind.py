r"""Train :class:`daguerre.nn.kind.KindNet`: old print or digital photo, from the photo alone.

1. Samples: each clean photo (long side ``max_side``, then a random downscale in
   ``scale_range``) is degraded whole, ``samples_per_image`` times, by a preset drawn from
   ``print_presets`` (label 1) or ``digital_presets`` (label 0; ``none`` leaves the photo
   undamaged), half and half, with seeded generators, and reduced to the net's inputs
   (:func:`daguerre.nn.kind.kind_inputs`). Samples are cached in the run folder.
2. Labels: the family (weight 1), or with ``data.gain_from`` set to a restorer with experts,
   which expert restores the sample better: both run (``kind`` print and digital), the label
   says whether the print expert scores the higher PSNR against the clean target and the
   weight is the gap in dB (capped at ``gain_cap``), so the weighted BCE counts the PSNR a
   wrong choice loses, not just how often it is wrong.
3. Training: weighted binary cross-entropy, AdamW, linear decay, flips of the thumbnails;
   validated every ``val_every`` steps on samples of the ``val`` photos; ``RUN/best`` keeps
   the lowest validation regret (mean weight of the wrong choices; with family labels, the
   error rate), then the lowest loss.

Usage::

    daguerre train kind --data ../shared/data/clean/train --val ../shared/data/clean/val \
        --out runs/kind --config configs/train/kind.yaml
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from daguerre.config import dump_config, to_dict
from daguerre.nn.kind import KindNet, kind_inputs
from daguerre.train.config import AdamWConfig
from daguerre.train.schedule import linear_decay
from daguerre.weights.checkpoint import ModelConfig, save_model

log = logging.getLogger(__name__)

Samples = dict[str, torch.Tensor]
NONE = "none"  # a "preset" that leaves the photo undamaged


@dataclass(frozen=True)
class KindDataConfig:
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
class KindTrainConfig:
    """A whole run (``configs/train/kind.yaml``)."""

    seed: int = 0
    width: int = 16
    data: KindDataConfig = field(default_factory=KindDataConfig)
    optim: AdamWConfig = field(default_factory=lambda: AdamWConfig(lr=2e-3))
    threads: int = 1
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
    thumbs, stats = kind_inputs(degraded)
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
        out = restore_tensor(degraded, RestoreOptions(model=model, kind=kind, device="cpu"))
        scores.append(psnr(out, target).clamp(max=60.0)[0])
    return scores[0] - scores[1]


def build_samples(
    folders: tuple[str, ...], cfg: KindTrainConfig, per_image: int, salt: int
) -> Samples:
    """Samples for every photo under ``folders``: ``thumbs``, ``stats``, ``label`` (1 = print).

    Raises:
        ImageReadError: no readable photo at all.
    """
    from daguerre.errors import ImageReadError
    from daguerre.io.discover import collect_inputs
    from daguerre.io.image import read_image
    from daguerre.metrics.evaluate import fit_max_side
    from daguerre.train.data import sample_seed

    paths, problems = collect_inputs([Path(f) for f in folders], recursive=True)
    for path, reason in problems:
        log.warning("skipping %s: %s", path, reason)
    families = [_family(cfg.data.digital_presets), _family(cfg.data.print_presets)]
    items: list[Samples] = []
    start = time.monotonic()
    for index, path in enumerate(paths):
        try:
            clean = fit_max_side(read_image(path).rgb, cfg.data.max_side)
        except ImageReadError as err:
            log.warning("skipping %s: %s", path, err.reason)
            continue
        for k in range(per_image):
            gen = torch.Generator("cpu").manual_seed(sample_seed(cfg.seed, salt, index, k))
            label = (index + k) % 2  # half prints, half digital
            ops, probs = families[label]
            op = ops[int(torch.multinomial(probs, 1, generator=gen))]
            low, high = cfg.data.scale_range
            scale = low + (high - low) * float(torch.rand((), generator=gen))
            sample = make_sample(clean, op, gen, scale, cfg.data.gain_from)
            items.append({**sample, **_label(sample, label, cfg.data.gain_cap)})
        if (index + 1) % 100 == 0:
            log.info(
                "samples: %d/%d photos, %.0f s", index + 1, len(paths), time.monotonic() - start
            )
    if not items:
        raise ImageReadError(Path(folders[0]) if folders else Path(), "no readable photo")
    return {key: torch.stack([item[key] for item in items]) for key in items[0]}


def _label(sample: Samples, family: int, cap: float) -> Samples:
    """``label`` (1 = print) and ``weight``: the family and 1, or from the sample's ``gain``."""
    gain = sample.get("gain")
    if gain is None:
        return {"label": torch.tensor(float(family)), "weight": torch.tensor(1.0)}
    return {"label": (gain > 0).float(), "weight": gain.abs().clamp(max=cap).float()}


def cached_samples(
    run_dir: Path, name: str, folders: tuple[str, ...], cfg: KindTrainConfig, per_image: int,
    salt: int,
) -> Samples:  # fmt: skip
    """:func:`build_samples`, cached as ``RUN/samples-NAME.pt`` (redone if the recipe changed)."""
    from daguerre.train.cache import cached

    recipe = {"folders": list(folders), "per_image": per_image, "salt": salt, "seed": cfg.seed,
              "data": to_dict(cfg.data)}  # fmt: skip
    path = run_dir / f"samples-{name}.pt"
    return cached(path, recipe, lambda: build_samples(folders, cfg, per_image, salt))


# --- training -----------------------------------------------------------------------------


@dataclass
class KindScore:
    """Validation accuracy, mean weighted BCE and regret.

    Accuracy is the share of samples on the right side of logit 0; regret the mean weight of
    the wrong ones (for gain labels, dB lost per sample to always picking the better expert;
    for family labels, the error rate).
    """

    accuracy: float
    loss: float
    regret: float

    def beats(self, other: KindScore | None) -> bool:
        """Lower regret, or the same with a lower loss."""
        if other is None:
            return True
        return (-self.regret, -self.loss) > (-other.regret, -other.loss)


@torch.no_grad()
def score(net: KindNet, samples: Samples) -> KindScore:
    """Accuracy and mean BCE of ``net`` on ``samples``."""
    was_training = net.training
    net.eval()
    logits = net(samples["thumbs"].float(), samples["stats"])
    labels, weights = samples["label"], _weights(samples)
    loss = float(_weighted_bce(logits, labels, weights))
    wrong = ((logits > 0).float() != labels).float()
    net.train(was_training)
    return KindScore(1.0 - float(wrong.mean()), loss, float((wrong * weights).mean()))


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


def _flip(thumbs: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Flip each thumbnail left-right and up-down at random (statistics do not change)."""
    for dim in (-1, -2):
        flip = (torch.rand(thumbs.shape[0], generator=gen) < 0.5)[:, None, None, None]
        thumbs = torch.where(flip, thumbs.flip(dim), thumbs)
    return thumbs


def fit_kind(
    cfg: KindTrainConfig, train: Samples, val: Samples | None, on_best: Any = None
) -> tuple[KindNet, KindScore | None]:
    """Train a fresh :class:`KindNet` on cached samples; returns it and its last val score.

    ``on_best(net, step, score)`` is called whenever the validation score beats the best so far.
    """
    torch.manual_seed(cfg.seed)
    net = KindNet(width=cfg.width)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    n = train["label"].shape[0]
    best: KindScore | None = None
    last: KindScore | None = None
    for step in range(1, cfg.optim.steps + 1):
        for group in opt.param_groups:
            group["lr"] = cfg.optim.lr * linear_decay(step, cfg.optim.steps, cfg.optim.decay_start)
        idx = torch.randint(0, n, (cfg.data.batch,), generator=gen)
        logits = net(_flip(train["thumbs"][idx].float(), gen), train["stats"][idx])
        loss = _weighted_bce(logits, train["label"][idx], _weights(train)[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % cfg.log_every == 0:
            log.info("step %d/%d  train BCE %.4f", step, cfg.optim.steps, float(loss.detach()))
        if val is not None and (step % cfg.val_every == 0 or step == cfg.optim.steps):
            last = score(net, val)
            log.info("step %d  val accuracy %.4f  BCE %.4f  regret %.4f", step, last.accuracy,
                     last.loss, last.regret)  # fmt: skip
            if last.beats(best):
                best = last
                if on_best is not None:
                    on_best(net, step, last)
    return net.eval(), last


def _save(net: KindNet, cfg: KindTrainConfig, folder: Path, step: int, result: Any) -> None:
    extra: dict[str, Any] = {"step": step, "labels": {"1": "print", "0": "digital"}}
    if isinstance(result, KindScore):
        extra.update(val_accuracy=round(result.accuracy, 4), val_bce=round(result.loss, 4),
                     val_regret=round(result.regret, 4))  # fmt: skip
    config = ModelConfig(arch="kind", kwargs={"width": cfg.width}, kind="kind",
                         out_range="logits", extra=extra)  # fmt: skip
    save_model(folder, net, config)


def train_kind(cfg: KindTrainConfig, run_dir: Path) -> Path:
    """Build (or reuse) the samples, train, write ``RUN/best`` and ``RUN/final``; returns best."""
    from daguerre.infer.device import set_threads

    if not cfg.data.train:
        raise ValueError("data.train is empty: pass --data DIR")
    if cfg.threads > 0:
        set_threads(cfg.threads)
    run_dir.mkdir(parents=True, exist_ok=True)
    dump_config(cfg, run_dir / "config.yaml")
    per_image, val_per_image = cfg.data.samples_per_image, cfg.data.val_samples_per_image
    train = cached_samples(run_dir, "train", cfg.data.train, cfg, per_image, 0)
    val = (
        cached_samples(run_dir, "val", cfg.data.val, cfg, val_per_image, 1)
        if cfg.data.val
        else None
    )
    net, last = fit_kind(cfg, train, val, lambda n, s, r: _save(n, cfg, run_dir / "best", s, r))
    _save(net, cfg, run_dir / "final", cfg.optim.steps, last)
    if not (run_dir / "best").is_dir():  # no validation set: the final net is the best we know
        _save(net, cfg, run_dir / "best", cfg.optim.steps, last)
    return run_dir / "best"


__all__ = ["KindScore", "KindTrainConfig", "build_samples", "fit_kind", "score", "train_kind"]
