from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from daguerre.cli.app import app
from daguerre.config import load_config
from daguerre.io.image import write_image
from daguerre.train.router import RouterScore, RouterTask, RouterTrainConfig, build_samples, score
from daguerre.train.trainer import Trainer
from daguerre.weights.checkpoint import load_model

REPO = Path(__file__).resolve().parents[2]
TINY = ["width=4", "data.max_side=64", "data.batch=16", "log_every=50", "val_every=100"]


def fit_kind(
    cfg: RouterTrainConfig, train: dict, val: dict | None, run_dir: Path
) -> tuple[torch.nn.Module, RouterScore | None]:
    trainer = Trainer(cfg, run_dir, RouterTask, device=torch.device("cpu"))
    trainer.fit(RouterTask.draws(cfg, train), val)
    return trainer.task.model, trainer.task.last


FAMILIES = ["data.print_presets={aged: 1.0}", "data.digital_presets={unstructured: 0.8, none: 0.2}"]


def _photos(folder: Path, n: int = 4) -> Path:
    """Smooth random colour photos (low-frequency content, like a scene, not noise)."""
    for i in range(n):
        coarse = torch.rand(1, 3, 6, 8, generator=torch.Generator().manual_seed(i))
        write_image(folder / f"p{i}.png", F.interpolate(coarse, size=(48, 64), mode="bicubic")[0])
    return folder


def test_samples_are_reproducible_and_half_prints(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos")
    cfg = load_config(RouterTrainConfig, None, [*TINY, *FAMILIES])
    first = build_samples((str(photos),), cfg, per_image=4, salt=0)
    again = build_samples((str(photos),), cfg, per_image=4, salt=0)
    assert first["thumbs"].shape[0] == 16 and float(first["label"].mean()) == 0.5
    assert all(torch.equal(first[k], again[k]) for k in first)
    other = build_samples((str(photos),), cfg, per_image=4, salt=1)
    assert not torch.equal(first["stats"], other["stats"])


def test_the_router_learns_prints_from_digital_damage(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos", n=6)
    cfg = load_config(RouterTrainConfig, None, [*TINY, *FAMILIES, "optim.steps=300"])
    train = build_samples((str(photos),), cfg, per_image=10, salt=0)
    held_out = build_samples((str(photos),), cfg, per_image=6, salt=1)
    one_step = load_config(RouterTrainConfig, None, [*TINY, "optim.steps=1"])
    untrained = score(fit_kind(one_step, train, None, tmp_path / "one")[0], held_out)
    net, last = fit_kind(cfg, train, held_out, tmp_path / "run")
    assert last is not None and last.accuracy == score(net, held_out).accuracy
    assert last.accuracy >= 0.8 and last.accuracy > untrained.accuracy
    assert last.loss < untrained.loss


def test_unusable_preset_weights_are_refused(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos", n=1)
    cfg = load_config(RouterTrainConfig, None, [*TINY, "data.print_presets={aged: 0.0}"])
    with pytest.raises(ValueError, match="non-negative weights"):
        build_samples((str(photos),), cfg, per_image=1, salt=0)


def test_cli_train_router_writes_a_router(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos", n=2)
    args = ["train", "router", "--data", str(photos), "--val", str(photos)]
    args += ["--out", str(tmp_path / "run")]
    for item in [*TINY, *FAMILIES, "optim.steps=20", "val_every=10", "data.samples_per_image=2"]:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    net, config = load_model(tmp_path / "run" / "best")
    assert config.kind == "router" and 0.0 <= config.extra["val_accuracy"] <= 1.0
    assert type(net).__name__ == "RouterNet" and (tmp_path / "run" / "final").is_dir()


def test_shipped_config_loads() -> None:
    cfg = load_config(RouterTrainConfig, REPO / "configs" / "train" / "router.yaml")
    assert set(cfg.data.print_presets) == {"aged", "heavy", "colorfade"}


def test_unreadable_photos_are_skipped_and_none_at_all_is_an_error(tmp_path: Path) -> None:
    from daguerre.errors import ImageReadError

    photos = _photos(tmp_path / "photos", n=2)
    (photos / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (photos / "empty.jpg").write_bytes(b"")
    cfg = load_config(RouterTrainConfig, None, [*TINY, *FAMILIES])
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
    cfg = load_config(RouterTrainConfig, None, [*TINY, *FAMILIES])
    samples = build_samples((str(photos),), cfg, per_image=1, salt=0)
    assert samples["thumbs"].shape[:2] == (2, 3) and torch.isfinite(samples["stats"]).all()


@pytest.fixture(scope="module")
def experts(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A restorer whose print expert is the identity and whose digital expert darkens by 0.1."""
    import json

    from tests.pipelines.models import save_identity_model, save_offset_model

    root = tmp_path_factory.mktemp("experts")
    digital = save_offset_model(root / "digital", -0.1)
    primary = save_identity_model(root / "print")
    config = json.loads((primary / "config.json").read_text())
    config["extra"].update(experts={"digital": str(digital)})
    (primary / "config.json").write_text(json.dumps(config))
    return str(primary)


def test_expert_gain_is_the_psnr_gap_between_the_experts(experts: str) -> None:
    from daguerre.train.router import expert_gain

    target = 0.2 + 0.5 * torch.rand(1, 3, 24, 32, generator=torch.Generator().manual_seed(0))
    darker = expert_gain(target + 0.1, target, experts)  # the digital expert undoes it exactly
    assert float(darker) == pytest.approx(20.0 - 60.0, abs=0.05)
    undamaged = expert_gain(target, target, experts)  # the identity wins
    assert float(undamaged) == pytest.approx(60.0 - 20.0, abs=0.05)


def test_gain_labels_follow_the_better_expert_not_the_family(tmp_path: Path, experts: str) -> None:
    photos = _photos(tmp_path / "photos", n=2)
    undamaged = ["data.print_presets={none: 1.0}", "data.digital_presets={none: 1.0}"]
    gains = [f"data.gain_from={experts}", "data.gain_cap=2.5"]
    cfg = load_config(RouterTrainConfig, None, [*TINY, *undamaged, *gains])
    samples = build_samples((str(photos),), cfg, per_image=2, salt=0)
    assert samples["label"].tolist() == [1.0] * 4  # the identity (print expert) always wins
    assert samples["weight"].tolist() == [2.5] * 4  # a 40 dB gap, capped
    assert bool(((samples["gain"] - 40.0).abs() < 0.5).all())  # clamping at black shaves a bit
    family_cfg = load_config(RouterTrainConfig, None, [*TINY, *undamaged])
    family = build_samples((str(photos),), family_cfg, per_image=2, salt=0)
    assert family["label"].tolist() == [0.0, 1.0, 1.0, 0.0] and "gain" not in family
    assert family["weight"].tolist() == [1.0] * 4


def test_regret_counts_what_wrong_choices_cost() -> None:
    from daguerre.nn.router import RouterNet

    torch.manual_seed(0)
    net = RouterNet(width=4).eval()
    gen = torch.Generator().manual_seed(1)
    samples = {"thumbs": torch.rand(8, 3, 64, 64, generator=gen).half(),
               "stats": torch.randn(8, 27, generator=gen),
               "label": (torch.rand(8, generator=gen) > 0.5).float(),
               "weight": torch.rand(8, generator=gen) * 3}  # fmt: skip
    with torch.no_grad():
        logits = net(samples["thumbs"].float(), samples["stats"])
    wrong = ((logits > 0).float() != samples["label"]).float()
    result = score(net, samples)
    assert result.regret == pytest.approx(float((wrong * samples["weight"]).mean()), abs=1e-6)
    assert result.accuracy == pytest.approx(1.0 - float(wrong.mean()))
    assert 0.0 < float(wrong.mean()) < 1.0  # the check means something
    unweighted = score(net, {k: v for k, v in samples.items() if k != "weight"})
    assert unweighted.regret == pytest.approx(1.0 - unweighted.accuracy)
