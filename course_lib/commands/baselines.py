"""Project command: train the two reference models and write their checkpoints.

    make baselines
    python -m course_lib.commands.baselines --model lenet5 --epochs 2

The recipes (``course_lib.recipes``, purpose ``"baseline"``) are SGD with momentum 0.9,
weight decay 5e-4, a cosine learning-rate decay and random 2-pixel shifts; training curves
use the validation split. Their test errors on all 10,000 images are reported beside the
paper's reference errors ([DC] Table 1).
The checkpoints go to ``course_lib/artifacts/baselines/`` and are committed.
"""

from __future__ import annotations

import argparse

from ..checkpoints import save_checkpoint
from ..committed_models import baseline_path
from ..pipeline import train_baseline
from ..recipes import MODEL_NAMES, recipe_for


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*MODEL_NAMES, "all"], default="all")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's baseline_epochs")
    args = parser.parse_args(argv)
    names = list(MODEL_NAMES) if args.model == "all" else [args.model]
    for name in names:
        overrides = {} if args.epochs is None else {"baseline_epochs": args.epochs}
        model, meta = train_baseline(name, recipe_for(name, purpose="baseline", **overrides))
        path = save_checkpoint(model, baseline_path(name), meta)
        print(f"{name}: test error {meta['test_error']:.2f}% after {meta['train_seconds']} s -> {path}")


if __name__ == "__main__":
    main()
