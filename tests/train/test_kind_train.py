from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from daguerre.cli.app import app
from daguerre.config import load_config
from daguerre.io.image import write_image
from daguerre.train.kind import KindTrainConfig, build_samples, fit_kind, score
from daguerre.weights.checkpoint import load_model

REPO = Path(__file__).resolve().parents[2]
TINY = ["width=4", "data.max_side=64", "data.batch=16", "log_every=50", "val_every=100"]
FAMILIES = ["data.print_presets={aged: 1.0}", "data.digital_presets={unstructured: 0.8, none: 0.2}"]


def _photos(folder: Path, n: int = 4) -> Path:
    """Smooth random colour photos (low-frequency content, like a scene, not noise)."""
    for i in range(n):
        coarse = torch.rand(1, 3, 6, 8, generator=torch.Generator().manual_seed(i))
        write_image(folder / f"p{i}.png", F.interpolate(coarse, size=(48, 64), mode="bicubic")[0])
    return folder


def test_samples_are_reproducible_and_half_prints(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos")
    cfg = load_config(KindTrainConfig, None, [*TINY, *FAMILIES])
    first = build_samples((str(photos),), cfg, per_image=4, salt=0)
    again = build_samples((str(photos),), cfg, per_image=4, salt=0)
    assert first["thumbs"].shape[0] == 16 and float(first["label"].mean()) == 0.5
    assert all(torch.equal(first[k], again[k]) for k in first)
    other = build_samples((str(photos),), cfg, per_image=4, salt=1)
    assert not torch.equal(first["stats"], other["stats"])


def test_the_router_learns_prints_from_digital_damage(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos", n=6)
    cfg = load_config(KindTrainConfig, None, [*TINY, *FAMILIES, "optim.steps=300"])
    train = build_samples((str(photos),), cfg, per_image=10, salt=0)
    held_out = build_samples((str(photos),), cfg, per_image=6, salt=1)
    untrained = score(fit_kind(load_config(KindTrainConfig, None, [*TINY, "optim.steps=1"]),
                               train, None)[0], held_out)  # fmt: skip
    net, last = fit_kind(cfg, train, held_out)
    assert last is not None and last.accuracy == score(net, held_out).accuracy
    assert last.accuracy >= 0.8 and last.accuracy > untrained.accuracy
    assert last.loss < untrained.loss


def test_unusable_preset_weights_are_refused(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos", n=1)
    cfg = load_config(KindTrainConfig, None, [*TINY, "data.print_presets={aged: 0.0}"])
    with pytest.raises(ValueError, match="non-negative weights"):
        build_samples((str(photos),), cfg, per_image=1, salt=0)


def test_cli_train_kind_writes_a_router(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos", n=2)
    args = ["train", "kind", "--data", str(photos), "--val", str(photos)]
    args += ["--out", str(tmp_path / "run")]
    for item in [*TINY, *FAMILIES, "optim.steps=20", "val_every=10", "data.samples_per_image=2"]:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    net, config = load_model(tmp_path / "run" / "best")
    assert config.kind == "kind" and 0.0 <= config.extra["val_accuracy"] <= 1.0
    assert type(net).__name__ == "KindNet" and (tmp_path / "run" / "final").is_dir()


def test_shipped_config_loads() -> None:
    cfg = load_config(KindTrainConfig, REPO / "configs" / "train" / "kind.yaml")
    assert set(cfg.data.print_presets) == {"aged", "heavy", "colorfade"}


def test_unreadable_photos_are_skipped_and_none_at_all_is_an_error(tmp_path: Path) -> None:
    from daguerre.errors import ImageReadError

    photos = _photos(tmp_path / "photos", n=2)
    (photos / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (photos / "empty.jpg").write_bytes(b"")
    cfg = load_config(KindTrainConfig, None, [*TINY, *FAMILIES])
    samples = build_samples((str(photos),), cfg, per_image=2, salt=0)
    assert samples["label"].shape[0] == 4  # the two good photos only
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ImageReadError, match="no readable photo"):
        build_samples((str(bad),), cfg, per_image=1, salt=0)


def test_sixteen_bit_and_alpha_photos_are_read_as_rgb(tmp_path: Path) -> None:
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    ramp = (torch.linspace(0, 65535, 48 * 64).reshape(48, 64)).int().numpy()
    Image.fromarray(ramp.astype("uint16")).save(photos / "gray16.png")
    rgba = (torch.rand(48, 64, 4, generator=torch.Generator().manual_seed(0)) * 255).byte().numpy()
    Image.fromarray(rgba, "RGBA").save(photos / "alpha.png")
    cfg = load_config(KindTrainConfig, None, [*TINY, *FAMILIES])
    samples = build_samples((str(photos),), cfg, per_image=1, salt=0)
    assert samples["thumbs"].shape[:2] == (2, 3) and torch.isfinite(samples["stats"]).all()
