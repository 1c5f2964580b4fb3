"""The small whole-image nets (grade, kind): cached samples, draws from them, their task.

Making a sample is slow (a whole photo is degraded and, for the grade, restored), so each kind
builds its samples once, caches them in the run folder and trains on :class:`SampleDraws`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from daguerre.config import to_dict
from daguerre.train.data import require_inputs, sample_seed
from daguerre.train.run import Run
from daguerre.train.trainer import Schedule, Task
from daguerre.weights.checkpoint import ModelConfig, save_model

log = logging.getLogger(__name__)

Samples = dict[str, torch.Tensor]


def readable_photos(folders: tuple[str, ...], max_side: int) -> Iterator[tuple[int, torch.Tensor]]:
    """``(index, photo)`` for every readable photo under ``folders``, read like ``daguerre eval``.

    ``index`` is the photo's place among all files found (seeds stay put when one is
    unreadable); ``photo`` is ``(3,H,W)`` float32 [0,1], long side fitted to ``max_side``.
    Unreadable files are logged and skipped; progress is logged every 50 photos.
    """
    from daguerre.errors import ImageReadError
    from daguerre.io.discover import collect_inputs
    from daguerre.io.image import read_image
    from daguerre.metrics.evaluate import fit_max_side

    paths, problems = collect_inputs([Path(f) for f in folders], recursive=True)
    for path, reason in problems:
        log.warning("skipping %s: %s", path, reason)
    start = time.monotonic()
    for index, path in enumerate(paths):
        try:
            yield index, fit_max_side(read_image(path).rgb, max_side)
        except ImageReadError as err:
            log.warning("skipping %s: %s", path, err.reason)
        if (index + 1) % 50 == 0:
            elapsed = time.monotonic() - start
            log.info("samples: %d/%d photos, %.0f s", index + 1, len(paths), elapsed)


def samples_of_photos(
    folders: tuple[str, ...], max_side: int, seed: int, per_image: int, salt: int,
    make: Callable[[torch.Tensor, torch.Generator], Samples],
) -> Samples:  # fmt: skip
    """``make(photo, gen)`` ``per_image`` times per readable photo, stacked.

    Each sample's generator is seeded from ``(seed, salt, photo index, k)``, so a sample
    does not change when other photos are added.

    Raises:
        ImageReadError: no readable photo at all.
    """
    from daguerre.train.data import sample_seed

    items: list[Samples] = []
    for index, clean in readable_photos(folders, max_side):
        for k in range(per_image):
            gen = torch.Generator("cpu").manual_seed(sample_seed(seed, salt, index, k))
            items.append(make(clean, gen))
    return stack_items(items, folders)


def stack_items(items: list[Samples], folders: tuple[str, ...]) -> Samples:
    """One batch ``{key: (N,...)}`` of per-sample dicts.

    Raises:
        ImageReadError: no sample at all (no readable photo under ``folders``).
    """
    from daguerre.errors import ImageReadError

    if not items:
        raise ImageReadError(Path(folders[0]) if folders else Path(), "no readable photo")
    return {key: torch.stack([item[key] for item in items]) for key in items[0]}


class SampleDraws(Dataset[Samples]):
    """Sample ``n``: one cached sample drawn at random, flipped at random; seeded by ``n``.

    Draws are with replacement, so a run may take any number of steps; sample ``n`` depends
    only on ``(seed, n)``, so a resumed run draws exactly what an uninterrupted one would.

    Args:
        samples: ``{key: (N,...)}``; every entry is returned as float32.
        seed: the run seed.
        flip: keys of ``(N,C,H,W)`` entries flipped together, left-right and up-down.

    Example:
        >>> draws = SampleDraws({"x": torch.arange(4.0).view(4, 1, 1, 1)}, seed=0, flip=("x",))
        >>> draws[7]["x"].shape, torch.equal(draws[7]["x"], draws[7]["x"])
        (torch.Size([1, 1, 1]), True)
    """

    def __init__(self, samples: Samples, *, seed: int, flip: tuple[str, ...] = ()) -> None:
        self.samples, self.seed, self.flip = samples, seed, flip
        self.count = len(next(iter(samples.values())))

    def __len__(self) -> int:
        return 10**12  # the step sampler asks for global sample numbers

    def __getitem__(self, index: int) -> Samples:
        """``{key: (...)}`` float32, one sample."""
        gen = torch.Generator("cpu").manual_seed(sample_seed(self.seed, index))
        pick = int(torch.randint(0, self.count, (), generator=gen))
        item = {key: value[pick].float() for key, value in self.samples.items()}
        for dim in (-1, -2):
            if float(torch.rand((), generator=gen)) < 0.5:
                item.update({key: item[key].flip(dim) for key in self.flip})
        return item


class SmallNetTask(Task[Samples]):
    """A tiny whole-image net trained on cached samples (grade, kind).

    AdamW (optimiser ``opt``) and an EMA (``ema_decay`` 0 by default: the net itself). With
    each checkpoint the model is written as ``RUN/final``; at the end ``RUN/best``, if no
    validation wrote it, is :meth:`fallback`. A subclass sets :attr:`flip` and implements
    :meth:`build` and :meth:`recipe`; its config has ``data.train``/``val``,
    ``data.samples_per_image``/``val_samples_per_image``, ``optim.lr``/``weight_decay``.
    """

    flip: tuple[str, ...] = ()  # (N,C,H,W) entries flipped together in training draws

    def __init__(self, cfg: Any, run: Run, net: nn.Module) -> None:
        self.cfg, self.run, self.net = cfg, run, net.to(run.device)
        self.schedule = Schedule.of(cfg, cfg.val_every)
        self.nets, self.ema = {"model": self.net}, run.ema("ema", self.net)
        self.model = self.ema.shadow
        o = cfg.optim
        run.optimizer("", torch.optim.AdamW(net.parameters(), lr=o.lr, weight_decay=o.weight_decay))

    @staticmethod
    def build(folders: tuple[str, ...], cfg: Any, per_image: int, salt: int) -> Samples:
        """One stacked batch of ``per_image`` samples per photo under ``folders``."""
        raise NotImplementedError

    @staticmethod
    def recipe(cfg: Any) -> dict[str, Any]:
        """What the cached samples depend on beyond folders, counts and seed."""
        return {"data": to_dict(cfg.data)}

    @classmethod
    def samples(cls, cfg: Any, run_dir: Path, split: str) -> Samples | None:
        """The ``"train"`` or ``"val"`` samples; None when the split's folders are not set.

        Cached as ``RUN/samples-SPLIT.pt`` and built again when the recipe changed.
        """
        from daguerre.train.cache import cached

        train = split == "train"
        folders = cfg.data.train if train else cfg.data.val
        if not folders:
            return None
        per_image = cfg.data.samples_per_image if train else cfg.data.val_samples_per_image
        salt = 0 if train else 1
        recipe = {"folders": list(folders), "per_image": per_image, "salt": salt,
                  "seed": cfg.seed, **cls.recipe(cfg)}  # fmt: skip
        run_dir.mkdir(parents=True, exist_ok=True)
        return cached(run_dir / f"samples-{split}.pt", recipe,
                      lambda: cls.build(folders, cfg, per_image, salt))  # fmt: skip

    @classmethod
    def draws(cls, cfg: Any, samples: Samples) -> SampleDraws:
        """Training draws from ``samples``."""
        return SampleDraws(samples, seed=cfg.seed, flip=cls.flip)

    @classmethod
    def training_data(cls, cfg: Any, run_dir: Path) -> SampleDraws:
        """Draws from the cached training samples.

        Raises:
            ConfigError: ``data.train`` is empty.
        """
        require_inputs(cfg.data, train="--data")
        samples = cls.samples(cfg, run_dir, "train")
        assert samples is not None, "data.train is set"
        return cls.draws(cfg, samples)

    @classmethod
    def validation_data(cls, cfg: Any, run_dir: Path) -> Samples | None:
        """The cached validation samples (None without ``data.val``)."""
        return cls.samples(cfg, run_dir, "val")

    def exports(self) -> dict[str, tuple[nn.Module, ModelConfig]]:
        """``RUN/final``: the model as trained so far."""
        return {"final": (self.model, self.model_config())}

    def fallback(self) -> tuple[nn.Module, ModelConfig]:
        """``RUN/best`` when no validation wrote one: the final model."""
        return self.model, self.model_config()

    def finish(self) -> None:
        """Write :meth:`fallback` as ``RUN/best`` if there is none."""
        if not (self.run.run_dir / "best").is_dir():
            save_model(self.run.run_dir / "best", *self.fallback())
