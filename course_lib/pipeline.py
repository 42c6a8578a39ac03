"""Deep Compression, stage by stage ([DC] Fig. 1): the pipeline notebook 09 runs and every
project command calls.

1. **baseline**: the committed reference model, or :func:`train_baseline` from scratch.
2. **prune + retrain** ([LW] §3.4, [DC] §2): :func:`prune_stage`, iterative magnitude
   pruning to per-layer keep rates, retraining the survivors with the masks kept.
3. **quantize** ([DC] §3): :func:`quantize_stage`, k-means weight sharing per layer.
4. **fine-tune the centroids** ([DC] §3.3, Eq. 3): :func:`finetune_stage`.
5. **float16 where free**: :func:`half_precision_stage` rounds biases, then centroids, to
   float16 values when that costs no accuracy on the validation split (never the test set);
   the file then stores them in 2 bytes instead of 4.
6. **encode** ([DC] §2, §4): :func:`encode_stage` writes the ``.dcz`` file (Huffman-coded
   cluster indices and sparse gaps) and reads it back; the error of the model read back
   is the one reported.

:func:`compress` runs them all on one model and returns its results entry (errors after
every stage, bytes, ratios, per-layer statistics, times). Every stage takes its settings
from a recipe (:mod:`course_lib.recipes`).

The ratio is float32 parameter bytes (``count_parameters * 4``) over the file's size on
disk (``os.path.getsize``): every byte of the file counts, header and checksum included.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from .committed_models import COMPRESSED_DIR, load_baseline
from .compressed_format import load_compressed, save_compressed
from .data import MNISTData, load_mnist
from .frontier import GOAL_RATIO  # the course's goal: this ratio at [DC]'s error or better
from .models import build_model, count_parameters, prunable_layers
from .paper import DC_TABLE1, PAPER_LAYER_NAMES
from .pruning import prune_and_retrain, sparsities_from_keep
from .recipes import recipe_for
from .size_accounting import stage_bytes, stage_total, totals_row
from .train import evaluate, set_seed, train
from .weight_sharing import apply_codebooks, finetune_centroids, quantize_model

Log = Callable[[str], None]


def train_baseline(name: str, recipe: dict | None = None, data: MNISTData | None = None, progress: bool = True):
    """Train the reference model ``name`` from scratch with its baseline recipe; returns ``(model, meta)``.

    SGD with momentum, weight decay, cosine decay and random 2-pixel shifts; ``meta`` holds
    the recipe, the test error on all 10,000 test images, the time and the history.
    """
    recipe = recipe_for(name, purpose="baseline") if recipe is None else recipe
    data = load_mnist() if data is None else data
    set_seed(recipe["seed"])
    model = build_model(name).to(data.train_x.device)
    start = time.time()
    history = train(model, data, epochs=recipe["baseline_epochs"], lr=recipe["baseline_lr"], momentum=recipe["momentum"],
                    batch_size=recipe["batch_size"], weight_decay=recipe["weight_decay"], augment=recipe["augment"],
                    seed=recipe["seed"], progress=progress, desc=f"baseline {name}")
    seconds = time.time() - start
    meta = {
        "recipe": recipe,
        "test_error": evaluate(model, data),
        "val_error": evaluate(model, data, split="val"),
        "parameters": count_parameters(model),
        "train_seconds": round(seconds, 1),
        "history": history.as_dict() | {"step_loss": history.step_loss[:: max(1, len(history.step_loss) // 500)]},
    }
    return model, meta


def baseline_stage(name: str, data: MNISTData, from_scratch: bool = False, recipe: dict | None = None,
                   progress: bool = True) -> nn.Module:
    """The reference model: committed (default) or trained now (``from_scratch``, with ``recipe``)."""
    if from_scratch:
        model, _ = train_baseline(name, recipe, data=data, progress=progress)
        return model
    return load_baseline(name, device=data.train_x.device)


def prune_stage(model: nn.Module, data: MNISTData, recipe: dict, progress: bool = True, log: Log | None = print,
                desc: str = "prune round") -> tuple[dict[str, torch.Tensor], list[dict]]:
    """Iterative prune -> retrain to ``recipe["keep"]`` ([LW] §3.4); returns ``(masks, rounds)``.

    ``rounds[i]`` holds the kept % per layer and the validation error after round ``i``.
    """
    return prune_and_retrain(
        model, data, sparsities_from_keep(recipe["keep"]), recipe["prune_steps"], recipe["prune_epochs"],
        schedule=recipe["schedule"], seed=recipe["seed"], log=log, desc=desc, lr=recipe["lr"],
        momentum=recipe["momentum"], weight_decay=recipe["weight_decay"], batch_size=recipe["batch_size"],
        augment=recipe["augment"], train_subset=recipe["train_subset"], progress=progress,
    )


def quantize_stage(model: nn.Module, recipe: dict):
    """k-means weight sharing of every layer at ``recipe["bits"]`` ([DC] §3); returns the codebooks.

    Only kept weights are clustered (the mask is ``weight != 0``); pruned weights stay 0.
    """
    return quantize_model(model, recipe["bits"], init=recipe["init"], seed=recipe["seed"])


def finetune_stage(model: nn.Module, codebooks, data: MNISTData, recipe: dict, progress: bool = True,
                   desc: str = "fine-tune centroids"):
    """Train the centroids ([DC] §3.3, Eq. 3) and the biases; cluster indices and masks stay fixed.

    Returns the training history, or ``None`` when ``recipe["finetune_epochs"]`` is 0.
    """
    if recipe["finetune_epochs"] <= 0:
        return None
    return finetune_centroids(
        model, codebooks, data, epochs=recipe["finetune_epochs"], lr=recipe["finetune_lr"],
        bias_lr=recipe["finetune_bias_lr"], momentum=recipe["momentum"], batch_size=recipe["batch_size"],
        augment=recipe["finetune_augment"], train_subset=recipe["train_subset"], seed=recipe["seed"],
        progress=progress, desc=desc,
    )


@torch.no_grad()
def half_precision_stage(model: nn.Module, codebooks, data: MNISTData, log: Log = print) -> dict[str, bool]:
    """Round biases, then centroids, to float16 values, each only if the error does not grow.

    The file stores a vector in float16 exactly when all its values survive the float16
    round trip (:mod:`course_lib.compressed_format`), so what is rounded here costs 2
    bytes a value instead of 4, and the file stays lossless. The decision looks at the
    error on the 5,000 held-out *validation* images, never at the test set, so the reported
    test error is not selected on. Returns ``{"biases": kept?, "centroids": kept?}``.
    """
    held = data.val
    layers = prunable_layers(model)
    decisions = {}
    before = evaluate(model, held)

    saved_biases = {n: m.bias.detach().clone() for n, m in layers.items() if m.bias is not None}
    for n, b in saved_biases.items():
        layers[n].bias.copy_(b.half().float())
    err = evaluate(model, held)
    decisions["biases"] = err <= before
    if decisions["biases"]:
        before = err
    else:
        for n, b in saved_biases.items():
            layers[n].bias.copy_(b)
    log(f"    float16 biases: validation error {err:.2f}% -> {'kept' if decisions['biases'] else 'rejected, float32 kept'}")

    saved_centroids = {n: cb.centroids.detach().clone() for n, cb in codebooks.items()}
    for cb in codebooks.values():
        cb.centroids.copy_(cb.centroids.half().float())
    apply_codebooks(model, codebooks)
    err = evaluate(model, held)
    decisions["centroids"] = err <= before
    if not decisions["centroids"]:
        for n, cb in codebooks.items():
            cb.centroids.copy_(saved_centroids[n])
        apply_codebooks(model, codebooks)
    log(f"    float16 centroids: validation error {err:.2f}% -> {'kept' if decisions['centroids'] else 'rejected, float32 kept'}")
    return decisions


def encode_stage(model: nn.Module, codebooks, recipe: dict, path: str | os.PathLike, data: MNISTData):
    """Write the ``.dcz`` file, read it back, and check the round trip is exact.

    Returns ``(report, decoded_model, decoded_error)``. Raises ``RuntimeError`` if the
    decoded weights or test error differ from the model's (the format is lossless).
    """
    path = Path(path)
    report = save_compressed(model, path, codebooks=codebooks, index_bits=recipe["index_bits"])
    if report.file_bytes != os.path.getsize(path):
        raise RuntimeError(f"{path}: report says {report.file_bytes} bytes, the disk {os.path.getsize(path)}.")
    decoded = load_compressed(path, device=data.test_x.device)
    for key, value in model.state_dict().items():
        if not torch.equal(value.detach().cpu(), decoded.state_dict()[key].cpu()):
            raise RuntimeError(f"{path}: {key} differs after the round trip through the file.")
    err_before, err_after = evaluate(model, data), evaluate(decoded, data)
    if err_before != err_after:
        raise RuntimeError(f"{path}: test error {err_before}% before saving, {err_after}% after reading back.")
    return report, decoded, err_after


class _StageLog:
    """Test error (reported), validation error (what choices may look at) and time after each
    stage of :func:`compress`."""

    def __init__(self, name: str, data: MNISTData, log: Log):
        self.name, self.data, self.log = name, data, log
        self.rows: list[dict[str, Any]] = []
        self.start = self.last = time.time()

    def record(self, stage: str, model: nn.Module | None = None, error: float | None = None) -> float:
        error = evaluate(model, self.data) if error is None else error
        now = time.time()
        row = {"stage": stage, "test_error": error, "seconds": round(now - self.last, 1)}
        if model is not None and self.data.val_x is not None:
            row["val_error"] = evaluate(model, self.data, split="val")
        self.rows.append(row)
        if model is not None:
            self.log(f"[{self.name}] {stage}: test error {error:.2f}% ({now - self.last:.1f} s)")
        self.last = now
        return error


def compress(
    name: str,
    out_dir: str | os.PathLike = COMPRESSED_DIR,
    quick: bool = False,
    from_scratch: bool = False,
    recipe: dict | None = None,
    data: MNISTData | None = None,
    progress: bool = True,
    log: Log = print,
) -> dict[str, Any]:
    """Run the pipeline on ``name``, write ``<out_dir>/<name>.dcz``; returns its results entry.

    ``recipe`` holds overrides of ``recipe_for(name, quick)`` (the learner's challenge
    settings, for example); unknown keys raise ``ValueError``.
    """
    recipe = recipe_for(name, quick=quick, **(recipe or {}))
    data = load_mnist() if data is None else data
    path = Path(out_dir) / f"{name}.dcz"
    set_seed(recipe["seed"])
    stages = _StageLog(name, data, log)

    log(f"[{name}] baseline ({'training from scratch' if from_scratch else 'committed checkpoint'})")
    model = baseline_stage(name, data, from_scratch=from_scratch, recipe=recipe, progress=progress)
    stages.record("baseline", model)
    log(f"[{name}] prune + retrain to keep {recipe['keep']} in {recipe['prune_steps']} rounds")
    prune_stage(model, data, recipe, progress=progress, log=log)
    stages.record("pruned", model)
    log(f"[{name}] quantize: k-means with {recipe['bits']} bits, {recipe['init']} init")
    codebooks = quantize_stage(model, recipe)
    stages.record("quantized", model)
    log(f"[{name}] fine-tune the centroids for {recipe['finetune_epochs']} epochs")
    finetune_stage(model, codebooks, data, recipe, progress=progress)
    stages.record("finetuned", model)
    log(f"[{name}] float16 biases and centroids, if free")
    halves = half_precision_stage(model, codebooks, data, log=log)
    stages.record("float16", model)
    log(f"[{name}] encode: Huffman-coded cluster indices and sparse gaps -> {path}")
    report, _, error = encode_stage(model, codebooks, recipe, path, data)
    stages.record("decoded from file", error=error)
    run = dict(quick=quick, from_scratch=from_scratch, seconds=round(time.time() - stages.start, 1), log=log)
    return results_entry(name, model, report, path, recipe, stages.rows, halves, run)


def results_entry(name: str, model: nn.Module, report, path: Path, recipe: dict, stages: list[dict],
                  halves: dict[str, bool], run: dict[str, Any]) -> dict[str, Any]:
    """The ``results.json`` entry of one compressed model (``run``: quick, from_scratch, seconds, log)."""
    log = run["log"]
    file_bytes = os.path.getsize(path)
    error = stages[-1]["test_error"]
    seconds = run["seconds"]
    float32_bytes = 4 * count_parameters(model)
    ratio = float32_bytes / file_bytes
    paper = DC_TABLE1[name]
    log(f"[{name}] file {file_bytes:,} bytes, ratio {report.ratio:.1f}x, test error read back {error:.2f}% "
        f"({seconds} s in all)")
    meets = report.ratio >= paper["ratio"] and error <= paper["compressed_error"]
    log(f"[{name}] [DC] Table 1: {paper['ratio']}x at {paper['compressed_error']:.2f}% -> {'met' if meets else 'NOT met'}; "
        f"goal {GOAL_RATIO}x -> {'met' if meets and report.ratio >= GOAL_RATIO else 'not met'}")
    sizes = stage_bytes(report)
    quantized_bytes = stage_total(sizes["quantized (P+Q)"])
    stage_size = {"baseline": stage_total(sizes["dense float32"]), "pruned": stage_total(sizes["pruned (P)"]),
                  "quantized": quantized_bytes, "finetuned": quantized_bytes, "float16": quantized_bytes,
                  "decoded from file": float(file_bytes)}
    for s in stages:
        s["bytes"] = stage_size[s["stage"]]
    return {
        "model": name,
        "file": path.name,
        "file_bytes": file_bytes,
        "float32_bytes": float32_bytes,
        "parameters": count_parameters(model),
        "ratio": ratio,
        "test_error": error,
        "errors": {s["stage"]: s["test_error"] for s in stages},
        "stages": stages,
        "float16": halves,
        "layers": [l.as_dict() | {"paper_name": PAPER_LAYER_NAMES[name].get(l.name, l.name)} for l in report.layers],
        "totals": totals_row(report) | {"bytes_by_kind": report.totals()},
        "stage_bytes": sizes,
        "recipe": recipe,
        "quick": run["quick"],
        "from_scratch": run["from_scratch"],
        "seconds": seconds,
        "threads": torch.get_num_threads(),
        "paper": {"error": paper["compressed_error"], "ratio": paper["ratio"]},
    }
