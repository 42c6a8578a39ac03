"""Project command: prune both baselines to the paper's per-layer keep rates ([LW] Tables 1-3).

    python -m course_lib.make_pruned                 # both models (make pruned)
    python -m course_lib.make_pruned --model lenet5

Recipe (the [LW] one, scaled to a CPU budget): start from the committed baseline, then
iterative prune -> retrain (:func:`course_lib.pruning.iterative_prune`), each round pruning
every layer further by magnitude on a cubic schedule [ZG] and retraining the survivors with
1/10 of the baseline learning rate, L2 weight decay, random 2-pixel shifts, and the masks
kept by :class:`course_lib.pruning.MaskKeeper`. Survivors are never re-initialised.

Writes ``course_lib/artifacts/pruned/{lenet300100,lenet5}.pt`` (``save_checkpoint``); the
pruned weights are stored as exact zeros, so ``masks_from_model`` recovers the masks.
The meta holds the per-layer keep rates, the test error on the 10k test set, the recipe
and the time taken.
"""

from __future__ import annotations

import argparse
import time

from .checkpoints import baseline_meta, load_baseline, load_checkpoint, save_checkpoint
from .data import load_mnist
from .paths import ARTIFACTS_DIR
from .pruning import (
    PAPER_KEEP_RATES,
    PAPER_REFERENCE_ERROR,
    prune_and_retrain,
    sparsities_from_keep,
    sparsity_report,
)
from .train import evaluate

PRUNED_DIR = ARTIFACTS_DIR / "pruned"

# epochs[i] = retraining epochs after prune round i (the last round gets the most).
RECIPES = {
    "lenet300100": dict(steps=4, schedule="cubic", epochs=[4, 4, 4, 12], lr=0.005, momentum=0.9,
                        weight_decay=5e-4, batch_size=128, augment=True, seed=0),
    "lenet5": dict(steps=3, schedule="cubic", epochs=[3, 3, 6], lr=0.005, momentum=0.9,
                   weight_decay=5e-4, batch_size=128, augment=True, seed=0),
}


def pruned_path(name: str):
    """Where the committed pruned checkpoint of ``name`` lives."""
    return PRUNED_DIR / f"{name}.pt"


def load_pruned(name: str, device=None):
    """The committed pruned model ``"lenet300100"`` or ``"lenet5"``, in eval mode."""
    return load_checkpoint(pruned_path(name), device=device)[0]


def pruned_meta(name: str) -> dict:
    """What ``make pruned`` recorded: keep rates, test error, recipe, time."""
    return load_checkpoint(pruned_path(name), device="cpu")[1]


def prune_baseline(name: str, recipe: dict | None = None, progress: bool = True):
    """Iteratively prune + retrain the baseline ``name`` to [LW]'s keep rates; returns ``(model, meta)``."""
    recipe = dict(RECIPES[name] if recipe is None else recipe)
    data = load_mnist()
    model = load_baseline(name, device=data.train_x.device)
    base_error = evaluate(model, data)
    start = time.time()
    _, rounds = prune_and_retrain(
        model, data, sparsities_from_keep(PAPER_KEEP_RATES[name]), recipe["steps"], recipe["epochs"],
        schedule=recipe["schedule"], seed=recipe["seed"], log=print if progress else None, desc=f"{name} round",
        lr=recipe["lr"], momentum=recipe["momentum"], weight_decay=recipe["weight_decay"],
        batch_size=recipe["batch_size"], augment=recipe["augment"], progress=progress,
    )
    seconds = time.time() - start
    rows = sparsity_report(model, total=True)
    meta = {
        "recipe": recipe,
        "baseline_test_error": base_error,
        "test_error": evaluate(model, data),
        "keep_rates": {r["layer"]: r["kept"] / r["numel"] for r in rows if r["layer"] != "total"},
        "paper_keep_rates": PAPER_KEEP_RATES[name],
        "paper_reference_error": PAPER_REFERENCE_ERROR[name],
        "report": rows,
        "rounds": [{"kept_pct": {k: round(v, 2) for k, v in r["kept_pct"].items()}, "test_error": r["test_error"]}
                   for r in rounds],
        "train_seconds": round(seconds, 1),
        "baseline_recipe": baseline_meta(name).get("recipe"),
    }
    return model, meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*RECIPES, "all"], default="all")
    args = parser.parse_args(argv)
    names = list(RECIPES) if args.model == "all" else [args.model]
    for name in names:
        model, meta = prune_baseline(name)
        path = save_checkpoint(model, pruned_path(name), meta)
        kept = ", ".join(f"{k} {100 * v:.2f}%" for k, v in meta["keep_rates"].items())
        print(f"{name}: kept {kept}; test error {meta['test_error']:.2f}% "
              f"(baseline {meta['baseline_test_error']:.2f}%) after {meta['train_seconds']} s -> {path}")


if __name__ == "__main__":
    main()
