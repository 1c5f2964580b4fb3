"""What ``scripts/fuzz_read.py`` found, kept as regression inputs (replayed by test_fuzz_read.py).

Each entry is the shrunk input (``--minimize``: the fewest bytes that still make raw Pillow
leak the same exception), base64-encoded, with how it was found and what ``read_image`` must
now do: ``outcome`` is the start of ``corpus_fuzz.check_read``'s result (``"refused"`` or
``"ok FORMAT"``). Before the fix each made ``read_image`` raise something other than
``ImageReadError``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass


@dataclass(frozen=True)
class Regression:
    """A fuzzer finding: the input, how it was found, and what reading it must give."""

    found: str
    data: bytes
    outcome: str
    needs: str | None = None  # "avif": needs Pillow's AVIF codec


def _b64(text: str) -> bytes:
    return base64.b64decode("".join(text.split()))


REGRESSIONS: dict[str, Regression] = {
    "tiff_missing_dimensions": Regression(
        found="fuzz_read.py --seed 1 (mutated badfiles/multipage_tiff): Pillow's TIFF reader "
        "raised TypeError('Missing dimensions') while n_frames walked the pages",
        data=_b64("""
SUkqAAgAAAAKAAABBAABAAAAGAAAAAEBBAABAAAAEQAAAAIBAwADAAAAhgAAAAMBAwABAAAAAQAA
AAYBAwABAAAAAgAAABEBBAABAAAAjAAAABUBAwABAAAAAwAAABYBBAABAAAAEQAAABcBBAABAAAA
yAQAABwBAwABAAAAAQAAAGgFAAAIAAgACAA=
"""),
        outcome="refused",
    ),
    "avif_decoder_not_implemented": Regression(
        found="fuzz_read.py --seed 1 (mutated realworld/avif): libavif raised RuntimeError "
        "('Failed to decode image: Not implemented') from Image.open",
        data=_b64("""
AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUIAAADrbWV0YQAAAAAAAAAhaGRscgAAAAAA
AAAAcGljdAAAAAAAAAAAAAAAAAAAAAAOcGl0bQAAAAAAAQAAAB5pbG9jAAAAAEQAAAEAAQAAAAEA
AAETAAAAaAAAAChpaW5mAAAAAAABAAAAGmluZmUCAAAAAAEAAGF2MDFDb2xvcgAAAABqaXBycAAA
AEtpcGNvAAAAFGlzcGUAAAAAAAAAIAAAABgAAAAQcGl4aQB2MUOBAAwTY29scm5jbHgAAQANAAaA
AAAAF2lwbWEAAAAAAAAAAQABBAECgwQAAABwbWRhdBIACgkYET92
"""),
        outcome="refused",
        needs="avif",
    ),
    "avif_color_planes": Regression(
        found="fuzz_read.py --seed 1 (mutated realworld/avif): libavif raised RuntimeError "
        "('Decoding of color planes failed') from load()",
        data=_b64("""
AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUIAAADrbWV0YQAAAAAAAAAhaGRscgAAAAAA
AAAAcGljdAAAAAAAAAAAAAAAAAAAAAAOcGl0bQAAAAAAAQAAAB5pbG9jAAAAAEQAAAEAAQAAAAEA
AAETAAAAaAAAAChpaW5mAAAAAAABAAAAGmluZmUCAAAAAAEAAGF2MDFDb2xvcgAAAABqaXBycAAA
AEtpcGNvAAAAFGlzcGUAAAAAAAAAIAAAABgAAAAQcGl4aQAAAAADCAgIAAAADGF2MUOBAAwAAAAA
E2NvbHJuY2x4AAEADQAGgAAAABdpcG1hAAAAAAAAAAEAAQQBAoMEAAAAcG1kYXQSAAoJGBE/dogI
aDQgMtkSB/f2qQCCCD5AAACLN2JzmvaMGWtamyKcFv6NJAOhXdOssfCm7U7GW6x4pSsnmNwAgBbV
i/+wiXAou1gmkm//6Xkj/w2xfUDyRWbcmkMJ8cf9oVu+35Ns8A==
"""),
        outcome="refused",
        needs="avif",
    ),
}
