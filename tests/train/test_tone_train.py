"""The tone stage's training: reproducible cached samples, a net that learns to level prints."""

from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812

from daguerre.config import load_config
from daguerre.io.image import write_image
from daguerre.nn.tone import THUMB
from daguerre.pipelines.restorer import load_tone
from daguerre.train.tone import ToneTask, ToneTrainConfig, build_samples, psnr_db
from daguerre.train.trainer import Trainer

TINY = ["width=8", "data.max_side=96", "data.size=96", "data.batch=16", "log_every=50",
        "val_every=100", "optim.lr=3e-3"]  # fmt: skip


def _photos(folder: Path, n: int = 4) -> Path:
    """Smooth full-range colour photos (low-frequency content, like a scene, not noise)."""
    for i in range(n):
        coarse = torch.rand(1, 3, 5, 7, generator=torch.Generator().manual_seed(i))
        coarse = (coarse - coarse.amin()) / (coarse.amax() - coarse.amin())
        write_image(folder / f"p{i}.png", F.interpolate(coarse, size=(72, 96), mode="bilinear")[0])
    return folder


def test_samples_are_reproducible_thumbnails(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos")
    cfg = load_config(ToneTrainConfig, None, TINY)
    first = build_samples((str(photos),), cfg, per_image=3, salt=0)
    again = build_samples((str(photos),), cfg, per_image=3, salt=0)
    assert first["thumbs"].shape == (12, 3, THUMB, THUMB) == first["target"].shape
    assert first["thumbs"].dtype == torch.float16
    assert all(torch.equal(first[k], again[k]) for k in first)
    other = build_samples((str(photos),), cfg, per_image=3, salt=1)
    assert not torch.equal(first["thumbs"], other["thumbs"])


def test_the_net_learns_to_level_damaged_prints(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos", n=6)
    cfg = load_config(ToneTrainConfig, None, [*TINY, "optim.steps=300"])
    train = build_samples((str(photos),), cfg, per_image=12, salt=0)
    held_out = build_samples((str(photos),), cfg, per_image=4, salt=1)
    trainer = Trainer(cfg, tmp_path / "run", ToneTask, device=torch.device("cpu"))
    untrained, before = psnr_db(trainer.task.model, held_out)
    assert abs(untrained - before) < 1e-3  # the identity at start
    trainer.fit(ToneTask.draws(cfg, train), held_out)
    trained, _ = psnr_db(trainer.task.model, held_out)
    assert trained > untrained + 1.0
    best = load_tone(str(tmp_path / "run" / "best"))  # a shipped-style model folder
    assert psnr_db(best, held_out)[0] > untrained
