"""Fuzz ``daguerre.io.read_image`` with mutated corpus files for a while; report what it found.

The property (tests/io/corpus_fuzz.py): every failure is an ``ImageReadError`` naming the file
in one line; no other exception, no hang, no image over the pixel limit. Seeds are the test
corpora (tests/badfiles.py, tests/io/corpus.py); each execution applies 1-4 mutations to a
seed or to an earlier input that gave a new outcome (a cheap stand-in for coverage feedback).

A finding (unexpected exception, a message that breaks the property, a read slower than
``--slow`` seconds, peak memory growing past ``--memory`` MiB, which the pixel limit should
bound) is saved under ``--out`` with its traceback; a hang past ``--hang`` seconds kills the
run with the stack (faulthandler) and leaves ``current.bin`` to replay. What the C decoders
print (libpng, libtiff, OpenCV) goes to ``--out``/stderr.log. Add each finding, shrunk with
``--minimize``, to tests/io/corpus_regressions.py (the in-suite regression tests).

Usage (from the repository root; about 150-250 executions/s on one core):
    OMP_NUM_THREADS=1 python scripts/fuzz_read.py --seconds 180 --seed 1   # -> runs/fuzz_read/
    python scripts/fuzz_read.py --replay runs/fuzz_read/finding-000.bin
    python scripts/fuzz_read.py --minimize runs/fuzz_read/finding-000.bin  # .min.bin + base64
"""

from __future__ import annotations

import argparse
import base64
import collections
import faulthandler
import os
import random
import resource
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.io.corpus_fuzz

from tests.io.corpus_fuzz import (  # noqa: E402
    FUZZ_MAX_PIXELS,
    check_read,
    minimize,
    mutate,
    random_mutations,
    raw_leak,
    seeds,
)

_MAX_POOL = 5000  # inputs kept for further mutation


def main() -> int:
    args = _parse()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.replay:
        print(check_read(args.replay, max_pixels=args.max_pixels))
        return 0
    if args.minimize:
        return _minimize(args.minimize)
    return _fuzz(args)


def _minimize(path: Path) -> int:
    """Shrink a finding to the bytes that still make raw Pillow leak the same exception."""
    data = path.read_bytes()
    leak = raw_leak(data)
    if leak is None:
        print(f"{path}: raw Pillow leaks nothing; kept as is ({len(data)} bytes)")
        return 1
    small = minimize(data, lambda candidate: raw_leak(candidate) == leak)
    path.with_suffix(".min.bin").write_bytes(small)
    print(f"{path}: {leak}; {len(data)} -> {len(small)} bytes")
    print(base64.b64encode(small).decode())
    return 0


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="how long to run")
    parser.add_argument("--seed", type=int, default=0, help="random seed (runs are replayable)")
    parser.add_argument("--out", type=Path, default=Path("runs/fuzz_read"), help="findings folder")
    parser.add_argument("--max-pixels", type=int, default=FUZZ_MAX_PIXELS)
    parser.add_argument("--slow", type=float, default=2.0, help="seconds that make a finding")
    parser.add_argument("--hang", type=float, default=60.0, help="seconds that abort the run")
    parser.add_argument(
        "--memory", type=float, default=None,
        help="MiB of peak-RSS growth that make a finding (default: 40 bytes per allowed pixel)",
    )  # fmt: skip
    parser.add_argument("--replay", type=Path, help="read one saved input and print the outcome")
    parser.add_argument("--minimize", type=Path, help="shrink one finding (raw Pillow leak)")
    return parser.parse_args()


def _fuzz(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    pool = list(seeds().items())
    print(f"{len(pool)} seeds; fuzzing for {args.seconds:.0f} s (seed {args.seed})", flush=True)
    log = (args.out / "stderr.log").open("w")
    os.dup2(log.fileno(), 2)  # C libraries write to fd 2; faulthandler's stacks land here too
    current = args.out / "current.bin"
    outcomes: collections.Counter[str] = collections.Counter()
    findings: dict[str, Path] = {}
    start, rss_seeded = time.monotonic(), _peak_rss_mib()
    memory = args.memory or 40 * args.max_pixels / 2**20  # uint16 RGBA + float32 RGB + copies
    while time.monotonic() - start < args.seconds:
        name, data = rng.choice(pool)
        candidate = mutate(data, random_mutations(rng, rng.randint(1, 4)), rng.choice(pool)[1])
        current.write_bytes(candidate)
        outcome = _execute(current, args, memory_limit=rss_seeded + memory)
        if outcome.startswith("finding"):
            _save_finding(args.out, findings, outcome, name, candidate)
            memory += _peak_rss_mib() - rss_seeded  # report the next jump, not every input
        elif outcome not in outcomes and len(pool) < _MAX_POOL:
            pool.append((f"{name}+", candidate))  # a new outcome: mutate it further
        outcomes[outcome] += 1
    _report(sum(outcomes.values()), time.monotonic() - start, outcomes, findings, rss_seeded)
    return 1 if findings else 0


def _execute(path: Path, args: argparse.Namespace, *, memory_limit: float) -> str:
    """One read under the hang watchdog; slow reads and memory jumps become findings too."""
    faulthandler.dump_traceback_later(args.hang, exit=True)
    began = time.monotonic()
    outcome = _run_one(path, args.max_pixels)
    seconds = time.monotonic() - began
    faulthandler.cancel_dump_traceback_later()
    if seconds > args.slow:
        return f"finding: slow read: {seconds:.1f} s for {path.stat().st_size} bytes"
    if _peak_rss_mib() > memory_limit:
        return f"finding: memory: peak RSS {_peak_rss_mib():.0f} MiB"
    return outcome


def _run_one(path: Path, max_pixels: int) -> str:
    """The outcome of one read; unexpected exceptions become ``finding: <type>: <where>``."""
    try:
        return check_read(path, max_pixels=max_pixels)
    except Exception as exc:  # noqa: BLE001  # the fuzzer's job: record anything that escapes
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        return f"finding: {type(exc).__name__} at {where}: {traceback.format_exc()}"


def _save_finding(
    out: Path, findings: dict[str, Path], outcome: str, seed: str, data: bytes
) -> None:
    signature = outcome.split(": ", 2)[1]  # "TypeError at TiffImagePlugin.py:123", "slow read"
    if signature in findings:
        return
    path = out / f"finding-{len(findings):03d}.bin"
    path.write_bytes(data)
    path.with_suffix(".txt").write_text(f"seed: {seed}\n{outcome}\n")
    findings[signature] = path
    print(f"FINDING {path.name} from {seed}: {signature}", flush=True)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _report(
    executions: int,
    seconds: float,
    outcomes: collections.Counter[str],
    findings: dict[str, Path],
    rss_start: float,
) -> None:
    print(f"ran {seconds:.0f} s, {executions} executions ({executions / seconds:.0f}/s)")
    print(f"peak RSS {_peak_rss_mib():.0f} MiB (after seeding {rss_start:.0f} MiB)")
    for outcome, count in outcomes.most_common():
        if not outcome.startswith("finding"):
            print(f"  {count:7d}  {outcome}")
    print(f"{len(findings)} finding(s)")
    for signature, path in findings.items():
        print(f"  {path}: {signature}")


if __name__ == "__main__":
    sys.exit(main())
