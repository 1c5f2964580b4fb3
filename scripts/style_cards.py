"""Promote finished style runs and write their model cards from what was measured.

For each style NAME: copies the EMA generator of the newest checkpoint of ``runs/style-NAME``
into ``src/daguerre/weights/styles/NAME`` (float16, like every shipped model) and writes
``MODEL_CARD.md`` from the run's resolved config, its log (steps, wall time) and the numbers of
``scripts/eval_style.py`` (``--eval``).

Usage:
    python scripts/style_cards.py starry_night great_wave --eval runs/eval-style/results.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from pathlib import Path

import yaml

from daguerre.train.checkpoints import checkpoint_dirs
from daguerre.weights import package_dir
from daguerre.weights.promote import promote

SEEN = "- **Seen on the sheet**"  # a hand-written paragraph kept when a card is rewritten
STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")
PAINTINGS = {
    "starry_night": "Vincent van Gogh, The Starry Night (1889)",
    "great_wave": "Katsushika Hokusai, The Great Wave off Kanagawa (c. 1831)",
    "the_scream": "Edvard Munch, The Scream (1893)",
    "composition_vii": "Wassily Kandinsky, Composition VII (1913)",
    "udnie": "Francis Picabia, Udnie (1913)",
    "shipwreck": "J. M. W. Turner, The Shipwreck (1805)",
    "vintage": "real scanned old photos (../shared/data/old, 251 scans, 1850s-1950s)",
}


def wall_minutes(log: Path) -> tuple[str, float]:
    """First and last timestamp of a train.log: (start, minutes between them)."""
    times = [
        dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
        for line in log.read_text().splitlines()
        if (m := STAMP.match(line))
    ]
    return str(times[0]), (times[-1] - times[0]).total_seconds() / 60


def metrics_table(row: dict[str, dict[str, float]]) -> str:
    lines = [
        "| method | edge SSIM to content (higher) | Gram distance x1e6 (lower) "
        "| FD-MobileNetV2, patches (lower) | s per image (384 px) |",
        "|---|---|---|---|---|",
    ]
    for method, m in row.items():
        secs = f"{m['seconds']:.2f}" if "seconds" in m else "-"
        lines.append(
            f"| {method} | {m['edge_ssim']:.3f} | {m['gram_e6']:.2f} | {m['fd_patches']:.1f} "
            f"| {secs} |"
        )
    return "\n".join(lines)


def overrides(cfg: dict, config: Path = Path("configs/train/style.yaml")) -> str:
    """``--set`` flags that turn today's style.yaml into the run's loss settings."""
    current = yaml.safe_load(config.read_text())
    flags = [
        f"--set loss.{key}={json.dumps(value).replace(' ', '')}"
        for key, value in cfg["loss"].items()
        if key in current.get("loss", {}) and current["loss"][key] != value
    ]
    if cfg["optim"]["steps"] != current["optim"]["steps"]:
        flags.append(f"--set optim.steps={cfg['optim']['steps']}")
    if cfg.get("threads") != current.get("threads"):
        flags.append(f"--set threads={cfg['threads']}")
    return (" " + " ".join(flags)) if flags else ""


def card(name: str, run: Path, step: int, results: dict[str, dict[str, float]] | None) -> str:
    cfg = yaml.safe_load((run / "config.resolved.yaml").read_text())
    start, minutes = wall_minutes(run / "train.log")
    a_domain, b_domain = (", ".join(cfg["data"][k]) for k in ("a", "b"))
    loss = cfg["loss"]
    gen = cfg["generator"]
    machine = (
        "1 thread, the other core busy with another training run"
        if cfg["threads"] == 1
        else f"{cfg['threads']} threads, machine otherwise idle"
    )
    metrics = (
        metrics_table(results)
        if results
        else "Not measured yet: run `python scripts/eval_style.py`."
    )
    scans = name == "vintage"  # B is a folder of real scans, not one painting
    licence = (
        "historical scans, copyright status varies: see ../shared/data/README.md"
        if scans
        else "public domain"
    )
    run_size = f"{step} steps at {cfg['data']['crop']} px, batch {cfg['data']['batch']}"
    limits = (
        f"a short CPU run ({run_size}): it learns the scans' faded, low-saturation tone, "
        "not their grain, sepia toning or damage (the Gatys reference matches the mean Gram "
        "matrices of the same 24 scans the metrics use)"
        if scans
        else f"a short CPU run ({run_size}): it transfers the painting's palette and fine "
        "texture, not its large brush strokes or composition; the optimisation-based reference "
        "matches the painting's statistics more closely but takes far longer per image "
        "(Gatys seconds for starry_night, great_wave and the_scream were measured on 1 thread "
        "beside two training runs; composition_vii's and all of ours on 2 idle threads)"
    )
    return f"""# Model card: styles/{name}

- **Task**: photo -> {PAINTINGS.get(name, name)}: `daguerre stylize IN --style {name} -o OUT
  [--strength 0..1] [--preserve-color]`.
- **Architecture**: CycleGAN generator A->B, `{gen["arch"]}` {gen["kwargs"]} (residual, no
  normalisation, so tiles blend without seams). Trained with a second generator B->A and two
  2-scale spectral-norm PatchGAN discriminators (not shipped).
- **Weights**: `model.safetensors`, float16: EMA (decay {cfg["ema_decay"]}) of the A->B generator
  at step {step}.
- **Training data**: A = `{a_domain}` (clean photos: BSDS500, Sun-Hays 80, Urban100;
  research-use licences), B = `{b_domain}` ({licence}), random {cfg["data"]["crop"]} px crops,
  scales {cfg["data"]["scale_range"]}, batch {cfg["data"]["batch"]}.
- **Losses**: LSGAN adversarial {loss["adversarial"]}, cycle {loss["cycle"]}, identity
  {loss["identity"]} x cycle, MobileNetV2 content {loss["content"]} (stages
  {loss["content_layers"]}), Gram style {loss["style"]} (stages {loss["style_layers"]}); image
  pool {cfg["pool_size"]}; Adam lr {cfg["optim"]["lr_g"]}, betas ({cfg["optim"]["beta1"]},
  {cfg["optim"]["beta2"]}), linear decay from {cfg["optim"]["decay_start"]} of the run.
- **Command**: `daguerre train style --a {a_domain} --b {b_domain} --out runs/style-{name}
  --config configs/train/style.yaml{overrides(cfg)}`, then `python scripts/style_cards.py {name}`.
- **Wall time**: {minutes:.0f} minutes from {start} for {step} steps on the 2-core CPU,
  {machine}.
- **Metrics** (`python scripts/eval_style.py`: 6 content photos at 384 px; Gatys = 200 Adam steps
  of pixel optimisation on the same MobileNetV2, content stage 13, style stages 1/3/6/13):

{metrics}

- **Known limits**: {limits}.
- **Date**: {dt.date.today().isoformat()}.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="+")
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--eval", type=Path, help="results.json of scripts/eval_style.py")
    parser.add_argument("--no-promote", action="store_true", help="only (re)write the cards")
    args = parser.parse_args()
    results = json.loads(args.eval.read_text()) if args.eval and args.eval.is_file() else {}
    for name in args.names:
        run = args.runs / f"style-{name}"
        last = checkpoint_dirs(run)[-1]
        step = int(last.name.split("_")[-1])
        folder = package_dir() / "styles" / name
        if not args.no_promote:
            folder = promote(last, f"styles/{name}")
        path = folder / "MODEL_CARD.md"
        old = path.read_text() if path.is_file() else ""
        seen = old[old.index(SEEN) :] if SEEN in old else ""  # what a person wrote stays
        path.write_text(card(name, run, step, results.get(name)) + seen)
        print(f"{name}: step {step} -> {folder}")


if __name__ == "__main__":
    main()
