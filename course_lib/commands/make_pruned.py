"""Project command: prune both baselines to the paper's per-layer keep rates ([LW], [DC] Tables 2-3).

    make pruned
    python -m course_lib.commands.make_pruned --model lenet5

Recipe (``course_lib.recipes``, purpose ``"pruned"``: [LW]'s scheme scaled to a CPU budget):
start from the committed baseline, then iterative prune -> retrain
(:func:`course_lib.pipeline.prune_stage`), each round pruning every layer further by
magnitude on a cubic schedule [ZG] and retraining the survivors with 1/10 of the baseline
learning rate, L2 weight decay, random 2-pixel shifts, and the masks kept by
:class:`course_lib.pruning.MaskKeeper`. Survivors are never re-initialised.

Writes ``course_lib/artifacts/pruned/{lenet300100,lenet5}.pt``; the pruned weights are
stored as exact zeros, so ``masks_from_model`` recovers the masks. The meta holds the
per-layer keep rates, the test error on the 10k test set, the recipe and the time taken.
Read them with :func:`course_lib.committed_models.load_pruned`.
"""

from __future__ import annotations

import argparse
import time

from ..checkpoints import save_checkpoint
from ..committed_models import baseline_meta, load_baseline, pruned_path
from ..data import load_mnist
from ..paper import DC_KEEP_RATES, DC_TABLE1
from ..pipeline import prune_stage
from ..pruning import sparsity_report
from ..recipes import MODEL_NAMES, recipe_for
from ..train import evaluate


def prune_baseline(name: str, recipe: dict | None = None, progress: bool = True, data=None):
    """Prune + retrain the committed baseline ``name`` with ``recipe``; returns ``(model, meta)``."""
    recipe = recipe_for(name, purpose="pruned") if recipe is None else recipe
    data = load_mnist() if data is None else data
    model = load_baseline(name, device=data.train_x.device)
    base_error = evaluate(model, data)
    start = time.time()
    _, rounds = prune_stage(model, data, recipe, progress=progress, log=print if progress else None,
                            desc=f"{name} round")
    seconds = time.time() - start
    rows = sparsity_report(model, total=True)
    meta = {
        "recipe": recipe,
        "baseline_test_error": base_error,
        "test_error": evaluate(model, data),
        "keep_rates": {r["layer"]: r["kept"] / r["numel"] for r in rows if r["layer"] != "total"},
        "paper_keep_rates": DC_KEEP_RATES[name],
        "paper_reference_error": DC_TABLE1[name]["reference_error"],
        "report": rows,
        "rounds": [{"kept_pct": {k: round(v, 2) for k, v in r["kept_pct"].items()}, "val_error": r["val_error"]}
                   for r in rounds],
        "train_seconds": round(seconds, 1),
        "baseline_recipe": baseline_meta(name).get("recipe"),
    }
    return model, meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*MODEL_NAMES, "all"], default="all")
    args = parser.parse_args(argv)
    names = list(MODEL_NAMES) if args.model == "all" else [args.model]
    for name in names:
        model, meta = prune_baseline(name)
        path = save_checkpoint(model, pruned_path(name), meta)
        kept = ", ".join(f"{k} {100 * v:.2f}%" for k, v in meta["keep_rates"].items())
        print(f"{name}: kept {kept}; test error {meta['test_error']:.2f}% "
              f"(baseline {meta['baseline_test_error']:.2f}%) after {meta['train_seconds']} s -> {path}")


if __name__ == "__main__":
    main()
