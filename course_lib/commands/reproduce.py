"""Project command: the whole Deep Compression pipeline on both LeNets ([DC] Tables 1-3).

    make reproduce                                                # both models
    python -m course_lib.commands.reproduce --model lenet5        # one model (results.json keeps the other)
    python -m course_lib.commands.reproduce --from-scratch        # train the baselines first
    python -m course_lib.commands.reproduce --quick --out /tmp/x  # a tiny budget, for tests
    python -m course_lib.commands.reproduce --update-readme       # README's results block from results.json

(``make reproduce ARGS="--model lenet5"`` runs the same.) Each model goes through
:func:`course_lib.pipeline.compress` with its recipe (``course_lib.recipes``,
purpose ``"compressed"``). Outputs in ``--out`` (default ``course_lib/artifacts/compressed/``):
``<model>.dcz``, ``results.json`` and ``paper_comparison.md`` (:mod:`course_lib.results`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from ..committed_models import COMPRESSED_DIR
from ..course.readme import update_results_block
from ..data import load_mnist
from ..pipeline import Log, compress
from ..recipes import MODEL_NAMES
from ..results import COMPARISON_FILE, RESULTS_FILE, load_results, render_results_table, write_outputs

COMMAND = "python -m course_lib.commands.reproduce"


def run(
    models: list[str] | tuple[str, ...] = MODEL_NAMES,
    out_dir: str | os.PathLike = COMPRESSED_DIR,
    quick: bool = False,
    from_scratch: bool = False,
    progress: bool = True,
    log: Log = print,
    data=None,
) -> dict[str, Any]:
    """Compress ``models`` into ``out_dir`` and update its ``results.json`` and comparison table."""
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown:
        raise ValueError(f"Unknown model(s) {unknown}; choose from {list(MODEL_NAMES)}.")
    data = load_mnist() if data is None else data
    out_dir = Path(out_dir)
    results = load_results(out_dir)
    results.setdefault("models", {})
    start = time.time()
    for name in models:
        results["models"][name] = compress(name, out_dir, quick=quick, from_scratch=from_scratch, progress=progress,
                                           log=log, data=data)
    results["total_seconds"] = round(sum(r["seconds"] for r in results["models"].values()), 1)
    results["command"] = COMMAND + (" --quick" if quick else "") + (" --from-scratch" if from_scratch else "")
    results["torch"] = torch.__version__
    write_outputs(results, out_dir)
    log(f"wrote {out_dir / RESULTS_FILE} and {out_dir / COMPARISON_FILE} ({time.time() - start:.0f} s)")
    log(render_results_table(results))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*MODEL_NAMES, "all"], default="all")
    parser.add_argument("--out", type=Path, default=COMPRESSED_DIR, help="output folder (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="tiny budget: one short prune round, one fine-tune epoch")
    parser.add_argument("--from-scratch", action="store_true", help="train the baselines first instead of loading them")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (stage lines only)")
    parser.add_argument("--update-readme", action="store_true",
                        help="only rewrite README.md's results block from <out>/results.json")
    args = parser.parse_args(argv)
    if args.update_readme:
        results = load_results(args.out)
        if not results.get("models"):
            print(f"error: no results in {args.out / RESULTS_FILE}; run {COMMAND} first.", file=sys.stderr)
            return 1
        try:
            changed = update_results_block(results)
        except (ValueError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print("README.md results block " + ("updated." if changed else "already up to date."))
        return 0
    models = list(MODEL_NAMES) if args.model == "all" else [args.model]
    run(models, args.out, quick=args.quick, from_scratch=args.from_scratch, progress=not args.no_progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())
