"""Project command: train the two reference models and write their checkpoints.

    python -m course_lib.baselines            # both models, full recipe
    python -m course_lib.baselines --model lenet5 --epochs 2

The recipes are SGD with momentum 0.9, weight decay 5e-4, a cosine learning-rate
decay and random 2-pixel shifts. They reach at least the paper's reference
errors ([DC] Table 1: 1.64% and 0.80%) on the full 10,000-image test set.
The checkpoints go to ``course_lib/artifacts/baselines/`` and are committed.
"""

from __future__ import annotations

import argparse
import time

from .checkpoints import baseline_path, save_checkpoint
from .data import load_mnist
from .models import build_model, count_parameters
from .train import evaluate, set_seed, train

RECIPES = {
    "lenet300100": dict(epochs=40, lr=0.05, batch_size=128, weight_decay=5e-4, augment=True, seed=0),
    "lenet5": dict(epochs=15, lr=0.05, batch_size=128, weight_decay=5e-4, augment=True, seed=0),
}


def train_baseline(name: str, epochs: int | None = None, progress: bool = True):
    """Train one reference model with its recipe; returns ``(model, meta)``."""
    recipe = dict(RECIPES[name])
    if epochs is not None:
        recipe["epochs"] = epochs
    data = load_mnist()
    set_seed(recipe["seed"])
    model = build_model(name).to(data.train_x.device)
    start = time.time()
    history = train(model, data, progress=progress, desc=f"baseline {name}", **recipe)
    seconds = time.time() - start
    meta = {
        "recipe": recipe,
        "test_error": evaluate(model, data),
        "parameters": count_parameters(model),
        "train_seconds": round(seconds, 1),
        "history": history.as_dict() | {"step_loss": history.step_loss[:: max(1, len(history.step_loss) // 500)]},
    }
    return model, meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*RECIPES, "all"], default="all")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    args = parser.parse_args(argv)
    names = list(RECIPES) if args.model == "all" else [args.model]
    for name in names:
        model, meta = train_baseline(name, epochs=args.epochs)
        path = save_checkpoint(model, baseline_path(name), meta)
        print(f"{name}: test error {meta['test_error']:.2f}% after {meta['train_seconds']} s -> {path}")


if __name__ == "__main__":
    main()
