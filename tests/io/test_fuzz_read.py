"""Fuzzed bytes never crash ``read_image``: a few seconds of mutations, and every finding.

The long run is ``scripts/fuzz_read.py``; what it finds is added to
``tests/io/corpus_regressions.py`` and replayed here.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.io import corpus
from tests.io import corpus_parts as parts
from tests.io.corpus_fuzz import (
    INTERESTING,
    KINDS,
    Mutation,
    check_read,
    fix_png_crcs,
    mutate,
    raw_leak,
    seeds,
)
from tests.io.corpus_regressions import REGRESSIONS

_SECONDS_PER_READ = 5.0  # generous on a loaded 2-core machine; a hang would be far longer


@functools.cache
def _seed_list() -> list[tuple[str, bytes]]:
    return sorted(seeds().items())


mutations = st.builds(
    Mutation,
    kind=st.sampled_from(KINDS),
    at=st.floats(0.0, 1.0),
    value=st.one_of(st.sampled_from(INTERESTING), st.integers(0, 2**32 - 1)),
    length=st.sampled_from((1, 2, 4, 8, 16, 64, 512)),
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(
    max_examples=400,  # about 3 s on one core
    derandomize=True,  # the same inputs every run: a red test is reproducible
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    seed=st.integers(0, 1000),
    other=st.integers(0, 1000),
    edits=st.lists(mutations, min_size=1, max_size=4),
)
def test_mutated_corpus_files_only_raise_image_read_error(
    workdir: Path, seed: int, other: int, edits: list[Mutation]
) -> None:
    pool = _seed_list()
    data = mutate(pool[seed % len(pool)][1], edits, pool[other % len(pool)][1])
    path = workdir / "fuzzed.img"
    path.write_bytes(data)
    started = time.monotonic()
    check_read(path)  # raises on anything but a read or a one-line ImageReadError
    assert time.monotonic() - started < _SECONDS_PER_READ


@pytest.mark.parametrize("name", list(REGRESSIONS))
def test_fuzzer_findings_stay_fixed(tmp_path: Path, name: str) -> None:
    regression = REGRESSIONS[name]
    if regression.needs == "avif" and not parts.avif_available():
        pytest.skip("Pillow without AVIF")
    path = tmp_path / f"{name}.img"
    path.write_bytes(regression.data)
    assert check_read(path).startswith(regression.outcome)


def test_mutations_are_deterministic_and_bounded() -> None:
    data = bytes(range(256)) * 4
    edits = [
        Mutation("int32", 0.5, 0x7FFFFFFF, 1),
        Mutation("duplicate", 0.1, 0, 512),
        Mutation("insert", 0.9, 7, 64),
    ]
    assert mutate(data, edits) == mutate(data, edits)
    assert mutate(data, edits) != data
    assert len(mutate(data * 300, [Mutation("duplicate", 0.0, 0, 512)] * 4)) <= 1 << 18


def test_fix_png_crcs_makes_a_bad_crc_good_again() -> None:
    bad = corpus.text_bad_crc_png()
    good = fix_png_crcs(bad)
    assert good != bad and len(good) == len(bad)
    assert fix_png_crcs(good) == good


def test_raw_leak_names_what_pillow_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    assert raw_leak(corpus.png_palette()) is None  # a sound file leaks nothing
    assert raw_leak(b"not an image") is None  # a documented error is no leak

    def leaky(*args: object, **kwargs: object) -> None:
        raise TypeError("Missing dimensions")

    monkeypatch.setattr(Image, "open", leaky)
    assert raw_leak(corpus.png_palette()) == f"TypeError at {Path(__file__).name}:{_line(leaky)}"


def _line(function: object) -> int:
    return function.__code__.co_firstlineno + 1  # type: ignore[attr-defined]
