"""Project command: share the weights of the pruned models by k-means and train the centroids ([DC] §3).

    python -m course_lib.make_quantized                 # both models (make quantized)
    python -m course_lib.make_quantized --model lenet5

Recipe: start from the committed pruned checkpoint (``python -m course_lib.make_pruned``),
cluster each layer's kept weights by 1-D k-means with linear initialisation at the paper's
bit-widths ([DC] Tables 2 and 3: LeNet-300-100 6 bits in every layer; LeNet-5 8 bits in
the conv layers and 5 bits in the fc layers), then fine-tune the centroids with gradients
summed per cluster ([DC] §3.1, Eq. 3; :func:`course_lib.weight_sharing.finetune_centroids`).
Indices and masks stay fixed: pruned weights stay 0 and every layer holds at most
``2**bits`` distinct non-zero values.

Writes ``course_lib/artifacts/quantized/{lenet300100,lenet5}.pt`` with ``save_checkpoint``:
the weights are stored as their shared float values, so :func:`quantized_codebooks`
recovers the codebooks (centroids, per-weight index, mask) exactly. The meta holds the bits
per layer, the test errors (pruned, right after k-means, after fine-tuning), the distinct
non-zero values per layer, the recipe and the time taken.

Public interface: :func:`load_quantized`, :func:`quantized_meta`, :func:`quantized_codebooks`.
"""

from __future__ import annotations

import argparse
import time

from .checkpoints import load_checkpoint, save_checkpoint
from .models import prunable_layers
from .paths import ARTIFACTS_DIR

QUANTIZED_DIR = ARTIFACTS_DIR / "quantized"

# [DC] Tables 2 and 3: weight bits per layer after pruning + quantization.
PAPER_BITS = {
    "lenet300100": {"fc1": 6, "fc2": 6, "fc3": 6},
    "lenet5": {"conv1": 8, "conv2": 8, "fc1": 5, "fc2": 5},
}

RECIPES = {
    "lenet300100": dict(bits=PAPER_BITS["lenet300100"], init="linear", epochs=4, lr=1e-3, bias_lr=1e-3,
                        momentum=0.9, batch_size=128, augment=True, schedule="cosine", seed=0),
    "lenet5": dict(bits=PAPER_BITS["lenet5"], init="linear", epochs=2, lr=1e-4, bias_lr=1e-4,
                   momentum=0.9, batch_size=128, augment=True, schedule="cosine", seed=0),
}


def quantized_path(name: str):
    """Where the committed pruned-and-quantized checkpoint of ``name`` lives."""
    if name not in RECIPES:
        raise ValueError(f"name must be one of {sorted(RECIPES)}, got {name!r}.")
    return QUANTIZED_DIR / f"{name}.pt"


def load_quantized(name: str, device=None):
    """The committed pruned + weight-shared model ``"lenet300100"`` or ``"lenet5"``, in eval mode."""
    return load_checkpoint(quantized_path(name), device=device)[0]


def quantized_meta(name: str) -> dict:
    """What ``make quantized`` recorded: bits, test errors, distinct values per layer, recipe, time."""
    return load_checkpoint(quantized_path(name), device="cpu")[1]


def quantized_codebooks(name: str, model=None):
    """``{layer: Codebook}`` of the committed quantized model (centroids ascending, index, mask).

    ``codebook.index[codebook.mask]`` is the layer's stream of weight indices (row-major),
    each in ``[0, 2**bits)``; ``codebook.centroids`` is the codebook of ``2**bits`` floats.
    """
    from .weight_sharing import codebooks_from_model

    model = load_quantized(name, device="cpu") if model is None else model
    return codebooks_from_model(model, quantized_meta(name)["bits"])


def quantize_pruned(name: str, recipe: dict | None = None, progress: bool = True, data=None):
    """k-means quantize the committed pruned ``name`` and fine-tune its centroids; returns ``(model, meta)``."""
    from .data import load_mnist
    from .make_pruned import load_pruned, pruned_meta
    from .pruning import masks_from_model
    from .train import evaluate
    from .weight_sharing import distinct_nonzero_values, finetune_centroids, quantize_model

    recipe = dict(RECIPES[name] if recipe is None else recipe)
    data = load_mnist() if data is None else data
    model = load_pruned(name, device=data.train_x.device)
    pruned_error = evaluate(model, data)
    masks = masks_from_model(model)
    start = time.time()
    codebooks = quantize_model(model, recipe["bits"], init=recipe["init"], seed=recipe["seed"], masks=masks)
    kmeans_seconds = time.time() - start
    kmeans_error = evaluate(model, data)
    if progress:
        print(f"{name}: pruned {pruned_error:.2f}% -> k-means {recipe['bits']} {kmeans_error:.2f}% ({kmeans_seconds:.1f} s)")
    history = None
    if recipe["epochs"] > 0:
        history = finetune_centroids(
            model, codebooks, data, epochs=recipe["epochs"], lr=recipe["lr"], bias_lr=recipe["bias_lr"],
            momentum=recipe["momentum"], batch_size=recipe["batch_size"], augment=recipe["augment"],
            schedule=recipe["schedule"], seed=recipe["seed"], train_subset=recipe.get("train_subset"),
            progress=progress, desc=f"{name} centroids",
        )
    seconds = time.time() - start
    layers = prunable_layers(model)
    kept_still_zero = all(bool((layers[n].weight[~m] == 0).all()) for n, m in masks.items())
    if not kept_still_zero:
        raise RuntimeError("a pruned weight became non-zero during fine-tuning; this is a bug in weight_sharing.")
    meta = {
        "recipe": recipe,
        "bits": dict(recipe["bits"]),
        "paper_bits": PAPER_BITS[name],
        "pruned_test_error": pruned_error,
        "kmeans_test_error": kmeans_error,
        "test_error": evaluate(model, data),
        "finetune_history": history.as_dict() if history is not None else None,
        "distinct_values": {n: distinct_nonzero_values(m.weight) for n, m in layers.items()},
        "kept": {n: int(m.sum()) for n, m in masks.items()},
        "kmeans_seconds": round(kmeans_seconds, 1),
        "seconds": round(seconds, 1),
        "pruned_meta": {k: pruned_meta(name).get(k) for k in ("test_error", "baseline_test_error", "keep_rates")},
    }
    return model, meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*RECIPES, "all"], default="all")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's fine-tuning epochs")
    args = parser.parse_args(argv)
    names = list(RECIPES) if args.model == "all" else [args.model]
    for name in names:
        recipe = dict(RECIPES[name])
        if args.epochs is not None:
            recipe["epochs"] = args.epochs
        model, meta = quantize_pruned(name, recipe)
        path = save_checkpoint(model, quantized_path(name), meta)
        print(f"{name}: bits {meta['bits']}, distinct values {meta['distinct_values']}; test error "
              f"pruned {meta['pruned_test_error']:.2f}% -> k-means {meta['kmeans_test_error']:.2f}% -> "
              f"fine-tuned {meta['test_error']:.2f}% in {meta['seconds']} s -> {path}")


if __name__ == "__main__":
    main()
