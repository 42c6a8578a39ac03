"""Project command: share the weights of the pruned models by k-means and train the centroids ([DC] §3).

    make quantized
    python -m course_lib.commands.make_quantized --model lenet5 --epochs 1
    python -m course_lib.commands.make_quantized --scan-lr 1e-4 1e-3 1e-2   # choose, write nothing

``--scan-lr`` fine-tunes from the same k-means codebooks at each learning rate (centroids and
biases alike) and prints the VALIDATION error of each run and the one with the lowest (a tie goes
to the first), with whether the runner-up is within noise. The recipe's ``finetune_lr`` is that
choice; the test set plays no part in it.

Recipe (``course_lib.recipes``, purpose ``"quantized"``): start from the committed pruned
checkpoint (``make pruned``), cluster each layer's kept weights by 1-D k-means with linear
initialisation at the paper's bit-widths ([DC] Tables 2 and 3;
:func:`course_lib.pipeline.quantize_stage`), then fine-tune the centroids with gradients
summed per cluster ([DC] §3.3, Eq. 3; :func:`course_lib.pipeline.finetune_stage`). Cluster
indices and masks stay fixed: pruned weights stay 0 and every layer holds at most
``2**bits`` distinct non-zero values.

Writes ``course_lib/artifacts/quantized/{lenet300100,lenet5}.pt``: the weights are stored
as their shared float values, so :func:`course_lib.committed_models.quantized_codebooks`
recovers the codebooks exactly. The meta holds the bits per layer, the test errors
(pruned, right after k-means, after fine-tuning), the distinct non-zero values per layer,
the recipe and the time taken.
"""

from __future__ import annotations

import argparse
import copy
import time

from ..checkpoints import save_checkpoint
from ..committed_models import load_pruned, pruned_meta, quantized_path
from ..data import load_mnist
from ..models import prunable_layers
from ..paper import DC_WEIGHT_BITS
from ..pipeline import finetune_stage, quantize_stage
from ..pruning import masks_from_model
from ..recipes import MODEL_NAMES, recipe_for
from ..train import evaluate, within_noise
from ..weight_sharing import distinct_nonzero_values


def quantize_pruned(name: str, recipe: dict | None = None, progress: bool = True, data=None):
    """k-means quantize the committed pruned ``name`` and fine-tune its centroids; returns ``(model, meta)``."""
    recipe = recipe_for(name, purpose="quantized") if recipe is None else recipe
    data = load_mnist() if data is None else data
    model = load_pruned(name, device=data.train_x.device)
    pruned_error = evaluate(model, data)
    masks = masks_from_model(model)
    start = time.time()
    codebooks = quantize_stage(model, recipe)
    kmeans_seconds = time.time() - start
    kmeans_error = evaluate(model, data)
    if progress:
        print(f"{name}: pruned {pruned_error:.2f}% -> k-means {recipe['bits']} {kmeans_error:.2f}% ({kmeans_seconds:.1f} s)")
    history = finetune_stage(model, codebooks, data, recipe, progress=progress, desc=f"{name} centroids")
    seconds = time.time() - start
    layers = prunable_layers(model)
    if not all(bool((layers[n].weight[~m] == 0).all()) for n, m in masks.items()):
        raise RuntimeError("a pruned weight became non-zero during fine-tuning; this is a bug in weight_sharing.")
    meta = {
        "recipe": recipe,
        "bits": dict(recipe["bits"]),
        "paper_bits": DC_WEIGHT_BITS[name],
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


def scan_lr(name: str, lrs: list[float], data=None) -> dict[float, float]:
    """Validation error after fine-tuning the centroids of ``name`` at each of ``lrs`` (and the same
    bias lr), from the same k-means codebooks, with the rest of the recipe unchanged; prints the choice."""
    data = load_mnist() if data is None else data
    recipe = recipe_for(name, purpose="quantized")
    start_model = load_pruned(name, device=data.train_x.device)
    start_codebooks = quantize_stage(start_model, recipe)
    errors = {}
    for lr in lrs:
        model, codebooks = copy.deepcopy(start_model), {n: cb.clone() for n, cb in start_codebooks.items()}
        finetune_stage(model, codebooks, data, recipe | {"finetune_lr": lr, "finetune_bias_lr": lr},
                       progress=False, desc=f"{name} lr {lr:g}")
        errors[lr] = evaluate(model, data, split="val")
        print(f"{name}: finetune_lr {lr:g} -> validation error {errors[lr]:.2f}%", flush=True)
    chosen = min(lrs, key=lambda lr: errors[lr])
    others = [lr for lr in lrs if lr != chosen]
    verdict = ""
    if others:
        runner_up = min(others, key=lambda lr: errors[lr])
        same = within_noise(errors[chosen], errors[runner_up], len(data.val_y))
        verdict = f"; the runner-up {runner_up:g} is {'within noise' if same else 'worse beyond noise'}"
    print(f"{name}: lowest validation error at finetune_lr {chosen:g}{verdict} (recipe: {recipe['finetune_lr']:g})")
    return errors


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*MODEL_NAMES, "all"], default="all")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's finetune_epochs")
    parser.add_argument("--scan-lr", type=float, nargs="+", default=None, metavar="LR",
                        help="print the validation error at each centroid learning rate; write nothing")
    args = parser.parse_args(argv)
    names = list(MODEL_NAMES) if args.model == "all" else [args.model]
    if args.scan_lr:
        data = load_mnist()
        for name in names:
            scan_lr(name, args.scan_lr, data)
        return
    for name in names:
        overrides = {} if args.epochs is None else {"finetune_epochs": args.epochs}
        model, meta = quantize_pruned(name, recipe_for(name, purpose="quantized", **overrides))
        path = save_checkpoint(model, quantized_path(name), meta)
        print(f"{name}: bits {meta['bits']}, distinct values {meta['distinct_values']}; test error "
              f"pruned {meta['pruned_test_error']:.2f}% -> k-means {meta['kmeans_test_error']:.2f}% -> "
              f"fine-tuned {meta['test_error']:.2f}% in {meta['seconds']} s -> {path}")


if __name__ == "__main__":
    main()
