"""Project command: the runs of notebook 08 (structure and scaling), written to course_lib/artifacts/structure/.

    make structure
    python -m course_lib.commands.make_structure --part slimmable alone
    python -m course_lib.commands.make_structure --quick --out /tmp/structure   # a smoke test

Parts (settings: :func:`course_lib.recipes.structure_recipe`; runs: :mod:`course_lib.structure_runs`):

- ``slimmable``: the slimmable LeNet-5 at widths 0.25 / 0.5 / 0.75 / 1.0 (sandwich rule, in-place
  distillation) -> ``slimmable_lenet5.pt`` (one file, four models);
- ``alone``: the same widths trained alone, and narrow LeNet-300-100s (results only);
- ``structured``: structured pruning of the committed baselines with retraining (results only);
- ``scaling``: the EfficientNet grid search at phi = 1 and the compound / depth / width families
  -> ``scaled.pt``;
- ``latency``: prints CPU latencies (dense, decoded .dcz, CSR) and records them, with the thread count.

Every part updates its entry of ``results.json``; the other entries are kept. Errors are measured on
the validation split (what choices look at) and on the test set (what is reported).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import torch

from ..committed_models import STRUCTURE_DIR, compressed_path
from ..data import load_mnist
from ..latency import format_latency, latency_rows
from ..recipes import STRUCTURE_PARTS, structure_recipe
from ..structure_runs import (decode_seconds, environment, run_alone, run_scaling, run_slimmable, run_structured,
                              sparse_vs_dense)

PARTS = (*STRUCTURE_PARTS, "latency")


def _write_json(path: Path, results: dict) -> None:
    path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


def latency_entry(warmup: int = 10, repeats: int = 50) -> dict:
    """Latency rows of §1 of notebook 08 for both LeNets, and the decode time of their files.

    ``files`` records the bytes and SHA-256 of each ``.dcz`` file timed, so that a test can tell
    when ``make reproduce`` has replaced a file and these figures describe an older one.
    """
    entry = {"threads": torch.get_num_threads(), "rows": [], "decode_seconds": {}, "files": {}}
    for name in ("lenet300100", "lenet5"):
        blob = compressed_path(name).read_bytes()
        entry["files"][name] = {"bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
        models = {f"{name} {k}": m for k, m in sparse_vs_dense(name).items()}
        rows = latency_rows(models, (1, 256), warmup, repeats)
        print(format_latency(rows, reference=f"{name} dense baseline"))
        entry["rows"] += rows
        entry["decode_seconds"][name] = decode_seconds(name)
        print(f"{name}: decoding the .dcz file takes {1e3 * entry['decode_seconds'][name]:.1f} ms")
    return entry


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", nargs="+", choices=[*PARTS, "all"], default=["all"])
    parser.add_argument("--quick", action="store_true", help="one epoch on a slice: checks the command runs")
    parser.add_argument("--out", type=Path, default=STRUCTURE_DIR, help="folder to write (default: the committed one)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    parts = list(PARTS) if "all" in args.part else args.part
    progress = not args.no_progress
    torch.set_flush_denormal(True)  # deep plain CNNs produce denormals; they slow a CPU down many times
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    data = load_mnist()
    for part in parts:
        start = time.time()
        if part == "latency":
            results["latency"] = latency_entry(*((2, 5) if args.quick else (10, 50)))
        elif part == "slimmable":
            model, entry = run_slimmable(data, structure_recipe(part, args.quick), progress=progress)
            path = args.out / "slimmable_lenet5.pt"
            state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            torch.save({"model": "slimmable_lenet5", "state_dict": state,
                        "meta": json.loads(json.dumps({k: v for k, v in entry.items() if k != "history"}))}, path)
            results["slimmable"] = entry | {"file": path.name, "quick": args.quick}
            print(f"-> {path}")
        elif part == "alone":
            results["alone"] = run_alone(data, structure_recipe(part, args.quick), progress=progress) | {"quick": args.quick}
        elif part == "structured":
            results["structured"] = run_structured(data, structure_recipe(part, args.quick), progress=progress) | {
                "quick": args.quick}
        elif part == "scaling":
            models, entry = run_scaling(data, structure_recipe(part, args.quick), progress=progress)
            path = args.out / "scaled.pt"
            blob = {name: {"config": m.config, "state_dict": {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}}
                    for name, m in models.items()}
            torch.save({"models": blob}, path)
            results["scaling"] = entry | {"file": path.name, "quick": args.quick}
            print(f"-> {path}")
        results["environment"] = environment()
        results.setdefault("seconds", {})[part] = round(time.time() - start, 1)
        _write_json(results_path, results)
        print(f"[{part}] done in {time.time() - start:.0f} s -> {results_path}")


if __name__ == "__main__":
    main()
