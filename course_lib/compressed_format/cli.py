"""``python -m course_lib.compressed_format FILE...``: print where the bytes of ``.dcz`` files go."""

from __future__ import annotations

import argparse
from pathlib import Path

from .reader import read_compressed
from .report import describe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print where the bytes of .dcz files go.")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.files:
        print(describe(read_compressed(path).report))
    return 0
