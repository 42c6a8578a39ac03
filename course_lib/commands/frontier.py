"""Project command: the compression frontier, several recipes per network (notebook 09).

    make frontier                                                  # every recipe of both models
    python -m course_lib.commands.frontier --model lenet5          # one model (the file keeps the other)
    python -m course_lib.commands.frontier --only lenet5:d         # one recipe (the file keeps the rest)
    python -m course_lib.commands.frontier --quick --out /tmp/x    # a tiny budget, for tests

(``make frontier ARGS="--model lenet5"`` runs the same.) Each recipe of
:data:`course_lib.recipes.FRONTIER` goes through :func:`course_lib.pipeline.compress`, from
the committed baseline. Outputs in ``--out`` (default ``course_lib/artifacts/frontier/``):
``<model>-<recipe>.dcz`` for every recipe and ``results.json`` (:func:`course_lib.frontier.frontier_row`
per recipe, and each baseline's validation and test error). The rules of
:mod:`course_lib.frontier` then pick, on the validation split, the recipe ``make reproduce``
commits (:data:`course_lib.recipes.COMPRESSED_CHOICE`); this command says whether that
choice still holds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from ..data import load_mnist
from ..frontier import (FRONTIER_DIR, FRONTIER_RESULTS, frontier_path, frontier_row, load_frontier, picks,
                        render_frontier_table, render_picks)
from ..pipeline import Log, compress
from ..recipes import COMPRESSED_CHOICE, FRONTIER, MODEL_NAMES, QUICK
from ..results import write_results_json

COMMAND = "python -m course_lib.commands.frontier"


def _selection(models: list[str] | tuple[str, ...], only: list[str] | None) -> list[tuple[str, str]]:
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown:
        raise ValueError(f"Unknown model(s) {unknown}; choose from {list(MODEL_NAMES)}.")
    if not only:
        return [(name, label) for name in models for label in FRONTIER[name]]
    chosen = []
    for item in only:
        name, _, label = item.partition(":")
        if name not in FRONTIER or label not in FRONTIER[name]:
            known = [f"{n}:{l}" for n in MODEL_NAMES for l in FRONTIER[n]]
            raise ValueError(f"Unknown recipe {item!r}; choose from {known}.")
        chosen.append((name, label))
    return chosen


def run(
    models: list[str] | tuple[str, ...] = MODEL_NAMES,
    out_dir: str | os.PathLike = FRONTIER_DIR,
    only: list[str] | None = None,
    quick: bool = False,
    progress: bool = False,
    log: Log = print,
    data=None,
) -> dict[str, Any]:
    """Run the chosen frontier recipes into ``out_dir`` and update its ``results.json``."""
    selection = _selection(models, only)
    data = load_mnist() if data is None else data
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = load_frontier(out_dir)
    if results.get("quick", quick) != quick:  # never mix budgets in one file
        results = {"models": {}}
    results["quick"] = quick
    start = time.time()
    for name, label in selection:
        spec = FRONTIER[name][label]
        overrides = dict(spec["recipe"])
        if quick:
            overrides.update(QUICK)  # the quick budget wins over the recipe's rounds and epochs
        model = results["models"].setdefault(name, {"recipes": {}})
        log(f"[{name}:{label}] {spec['description']}")
        with tempfile.TemporaryDirectory() as tmp:
            entry = compress(name, tmp, quick=quick, recipe=overrides, data=data, progress=progress,
                             log=lambda line: None)
            target = frontier_path(name, label, out_dir)
            shutil.copyfile(Path(tmp) / entry["file"], target)
        entry["file"] = target.name
        first = entry["stages"][0]  # the committed baseline, before pruning
        model["baseline"] = {"test_error": first["test_error"], "val_error": first["val_error"]}
        row = frontier_row(entry, label, spec["description"])
        model["recipes"][label] = row
        log(f"[{name}:{label}] {row['file_bytes']:,} B, {row['ratio']:.1f}x, validation {row['val_error']:.2f}%, "
            f"test {row['test_error']:.2f}% ({row['seconds']:.0f} s)")
    results["command"] = COMMAND + (" --quick" if quick else "")
    results["torch"] = torch.__version__
    results["threads"] = torch.get_num_threads()
    results["total_seconds"] = round(sum(r["seconds"] for m in results["models"].values()
                                         for r in m["recipes"].values()), 1)
    write_results_json(results, out_dir / FRONTIER_RESULTS)
    log(f"wrote {out_dir / FRONTIER_RESULTS} ({time.time() - start:.0f} s)")
    for name in results["models"]:
        log(render_frontier_table(results, name))
        log(render_picks(results, name))
        goal = picks(results["models"][name])["goal"]
        if not quick and goal is not None and goal["label"] != COMPRESSED_CHOICE[name]:
            log(f"note: the rule now picks `{goal['label']}` for {name}, but recipes.COMPRESSED_CHOICE says "
                f"`{COMPRESSED_CHOICE[name]}`; update it and run make reproduce.")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*MODEL_NAMES, "all"], default="all")
    parser.add_argument("--only", nargs="+", metavar="MODEL:RECIPE", help="run only these recipes")
    parser.add_argument("--out", type=Path, default=FRONTIER_DIR, help="output folder (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="tiny budget: one short prune round, one fine-tune epoch")
    parser.add_argument("--progress", action="store_true", help="progress bars for every training run")
    args = parser.parse_args(argv)
    models = list(MODEL_NAMES) if args.model == "all" else [args.model]
    try:
        run(models, args.out, only=args.only, quick=args.quick, progress=args.progress)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
