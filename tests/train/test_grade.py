import json
from pathlib import Path

import pytest
import torch

from daguerre.config import load_config
from daguerre.errors import ImageReadError
from daguerre.io.image import write_image
from daguerre.nn.grade import DETAIL_STATS
from daguerre.train.grade import GradeTask, GradeTrainConfig, build_samples, image_psnr
from daguerre.train.trainer import Trainer
from daguerre.weights import load_model
from tests.pipelines.models import save_identity_model

TINY = ["net.width=8", "net.grid=1", "net.thumb=32", "data.batch=8", "log_every=10"]


def fit_grade(
    cfg: GradeTrainConfig, train: dict, val: dict | None, run_dir: Path
) -> Trainer[GradeTask]:
    trainer = Trainer(cfg, run_dir, GradeTask, device=torch.device("cpu"))
    trainer.fit(GradeTask.draws(cfg, train), val)
    return trainer


def _cast_samples(n: int, seed: int) -> dict[str, torch.Tensor]:
    """Restored thumbnails whose target is a fixed colour cast away (learnable exactly)."""
    gen = torch.Generator().manual_seed(seed)
    target = torch.rand(n, 3, 32, 32, generator=gen) * 0.6 + 0.2
    restored = target * torch.tensor([1.0, 0.9, 0.7])[:, None, None] + 0.05
    hf = torch.tensor([1e-5, 1e-5, 1e-5]).expand(n, 3).contiguous()
    details = torch.randn(n, DETAIL_STATS, generator=gen)
    return {"input": restored, "restored": restored, "target": target, "details": details, "hf": hf}


def test_blend_learns_to_keep_the_input_when_restoring_hurts(tmp_path: Path) -> None:
    """Input == target, the 'restorer' adds an error: the grade should learn alpha ~ 0."""
    cfg = load_config(GradeTrainConfig, None, [*TINY, "optim.steps=150", "val_every=50"])
    data = _cast_samples(64, 2)
    data["input"] = data["target"].clone()
    data["restored"] = data["target"] + 0.05
    data["hf"] = torch.tensor([4e-3, 0.0, 0.0]).expand(64, 3).contiguous()  # restorer's hf error
    grade = fit_grade(cfg, data, data, tmp_path).task.model
    with torch.no_grad():
        assert float(image_psnr(grade, data).mean()) > float(image_psnr(None, data).mean()) + 6


def test_fit_learns_a_colour_cast_and_reports_best(tmp_path: Path) -> None:
    cfg = load_config(GradeTrainConfig, None, [*TINY, "optim.steps=150", "val_every=50"])
    train, val = _cast_samples(64, 0), _cast_samples(16, 1)
    trainer = fit_grade(cfg, train, val, tmp_path)
    before = float(image_psnr(None, val).mean())
    with torch.no_grad():
        after = float(image_psnr(trainer.task.model, val).mean())
    assert after > before + 5.0
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    seen = [record["psnr"] for record in logged if record["prefix"] == "val"]
    assert trainer.best is not None and len(seen) == 3 and trainer.best[0] == max(seen)
    _, config = load_model(tmp_path / "best")  # the best validated grade, with its score
    assert config.extra["val_psnr"] == round(max(seen), 4) and before < min(seen)


def _photos_and_identity(tmp_path: Path) -> tuple[Path, Path]:
    """Two random 40x56 photos and an identity restorer."""
    photos = tmp_path / "photos"
    for i in range(2):
        rgb = torch.rand(3, 40, 56, generator=torch.Generator().manual_seed(i))
        write_image(photos / f"p{i}.png", rgb)
    return photos, save_identity_model(tmp_path / "identity")


def test_samples_are_reproducible_and_restored_by_the_named_model(tmp_path: Path) -> None:
    photos, model = _photos_and_identity(tmp_path)
    cfg = load_config(GradeTrainConfig, None, [*TINY, f"restore_model={model}", "data.max_side=48"])
    first = build_samples((str(photos),), cfg, per_image=2, salt=0)
    again = build_samples((str(photos),), cfg, per_image=2, salt=0)
    assert first["restored"].shape == (4, 3, 32, 32)
    assert all(torch.equal(first[k], again[k]) for k in first)
    # an identity restorer returns its input: the restored thumbnail is the input thumbnail
    assert torch.allclose(first["restored"], first["input"], atol=1e-5)
    assert not torch.allclose(first["target"], first["input"], atol=1e-3)


def test_train_grade_writes_loadable_best(tmp_path: Path) -> None:
    from daguerre.train.trainer import train

    photos, model = _photos_and_identity(tmp_path)
    overrides = [*TINY, f"restore_model={model}", "data.max_side=48", "optim.steps=20",
                 "val_every=10", f"data.train=['{photos}']", f"data.val=['{photos}']"]  # fmt: skip
    cfg = load_config(GradeTrainConfig, None, overrides)
    run = train(GradeTask, cfg, tmp_path / "run", device="cpu")
    net, config = load_model(run / "best")
    assert config.kind == "grade" and config.extra["restore_model"] == str(model)
    assert (tmp_path / "run" / "samples-train.pt").is_file() and (
        tmp_path / "run" / "final"
    ).is_dir()
    assert (run / "config.resolved.yaml").is_file() and not (run / "config.yaml").exists()
    assert type(net).__name__ == "GradeNet"


def test_unreadable_photos_are_skipped_and_none_at_all_is_an_error(tmp_path: Path) -> None:
    photos, model = _photos_and_identity(tmp_path)
    (photos / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (photos / "empty.jpg").write_bytes(b"")
    cfg = load_config(GradeTrainConfig, None, [*TINY, f"restore_model={model}", "data.max_side=48"])
    samples = build_samples((str(photos),), cfg, per_image=1, salt=0)
    assert samples["restored"].shape[0] == 2  # the two good photos only
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ImageReadError, match="no readable photo"):
        build_samples((str(bad),), cfg, per_image=1, salt=0)
