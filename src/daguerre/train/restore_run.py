"""Wire a restoration training run together: data, validation pairs, trainer."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from daguerre.train.config import TrainConfig
from daguerre.train.trainer import RestoreTrainer
from daguerre.train.validation import PairedValidator

log = logging.getLogger(__name__)


def build_validator(cfg: TrainConfig) -> PairedValidator | None:
    """Fixed validation pairs: centre crops of the first photos, degraded with a fixed seed."""
    if not cfg.data.val:
        return None
    from daguerre.degrade.chain import apply_to_target, run
    from daguerre.degrade.presets import build_preset
    from daguerre.io.discover import collect_inputs
    from daguerre.io.image import read_image

    paths, _ = collect_inputs(list(cfg.data.val), recursive=True)
    size = cfg.data.val_crop
    clean = []
    for path in paths[: cfg.data.val_images]:
        rgb = read_image(path).rgb
        if min(rgb.shape[-2:]) < size:
            continue
        top, left = (rgb.shape[1] - size) // 2, (rgb.shape[2] - size) // 2
        clean.append(rgb[:, top : top + size, left : left + size])
    if not clean:
        log.warning("no validation image of at least %d px in %s", size, cfg.data.val)
        return None
    clean_t = torch.stack(clean)
    gen = torch.Generator("cpu").manual_seed(cfg.seed + 12345)
    op = build_preset(cfg.data.preset)
    result = run(op, clean_t, gen)
    target = apply_to_target(op, clean_t, result.params)
    extra = 1 if cfg.data.mask_channel else 0  # validate without a mask (the --scratches off case)
    return PairedValidator(result.image, target, extra_channels=extra)


def train_restore(
    cfg: TrainConfig, run_dir: Path, *, device: str = "auto", resume: bool = False
) -> Path:
    """Train (or resume) a restoration GAN; returns the run folder."""
    from daguerre.infer.device import resolve_device, set_threads
    from daguerre.train.data import SyntheticPairs

    if cfg.threads > 0:
        set_threads(cfg.threads)
    if not cfg.data.train:
        raise ValueError("data.train is empty: pass --data DIR")
    dataset = SyntheticPairs(
        [Path(p) for p in cfg.data.train],
        preset=cfg.data.preset,
        crop=cfg.data.crop,
        seed=cfg.seed,
        length=10**12,  # the step sampler asks for global sample numbers; photos cycle
        mask_dropout=cfg.data.mask_dropout if cfg.data.mask_channel else None,
        mask_noise=cfg.data.mask_noise if cfg.data.mask_channel else 0.0,
    )
    trainer = RestoreTrainer(cfg, run_dir, device=resolve_device(device), resume=resume)
    trainer.fit(dataset, build_validator(cfg) if trainer.dist.is_main else None)
    return Path(run_dir)
