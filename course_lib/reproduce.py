"""Project command: the whole Deep Compression pipeline on both LeNets ([DC] Tables 1-3).

    python -m course_lib.reproduce                       # both models, from the committed baselines
    python -m course_lib.reproduce --model lenet5        # one model (results.json keeps the other)
    python -m course_lib.reproduce --from-scratch        # train the baselines first
    python -m course_lib.reproduce --quick --out /tmp/x  # a tiny budget, for tests
    python -m course_lib.reproduce --update-readme       # README's results block from results.json

(``make reproduce ARGS="--model lenet5"`` runs the same.) For each model, in order:

1. **baseline**: the committed reference model (:func:`course_lib.checkpoints.load_baseline`),
   or a freshly trained one with ``--from-scratch`` (:func:`course_lib.baselines.train_baseline`).
2. **prune + retrain** ([LW], [DC] §2): iterative magnitude pruning to per-layer keep rates
   (:func:`course_lib.pruning.iterative_prune`), retraining the survivors with the masks kept.
3. **quantize** ([DC] §3): k-means weight sharing per layer, linear initialisation
   (:func:`course_lib.weight_sharing.quantize_model`).
4. **fine-tune the centroids** ([DC] §3.1, Eq. 3): :func:`course_lib.weight_sharing.finetune_centroids`.
5. **float16 where free**: biases (then centroids) are rounded to float16 only if the test
   error does not get worse; the file then stores them in 2 bytes instead of 4.
6. **encode** ([DC] §2, §4): sparse gaps and weight indices, Huffman coded, into a ``.dcz`` file
   (:func:`course_lib.compressed_format.save_compressed`, index bits chosen per layer by
   measuring). The file is read back and evaluated: that error is the one reported.

Outputs in ``--out`` (default ``course_lib/artifacts/compressed/``): ``<model>.dcz``,
``results.json`` (errors after every stage, bytes, ratios, per-layer statistics, times)
and ``paper_comparison.md`` (our Tables 1-3 next to the paper's, as printed).

The ratio is float32 parameter bytes (``count_parameters * 4``) over the file's size on
disk (``os.path.getsize``): every byte of the file counts, header and checksum included.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from .models import PAPER_LAYER_NAMES, count_parameters, prunable_layers
from .paths import ARTIFACTS_DIR, REPO_ROOT
from .paper import DC_TABLE1, DISPLAY_NAMES, PAPER_TABLE_NOTES, PAPER_TABLES

COMPRESSED_DIR = ARTIFACTS_DIR / "compressed"
RESULTS_FILE = "results.json"
COMPARISON_FILE = "paper_comparison.md"
README_BEGIN = "<!-- results:begin -->"
README_END = "<!-- results:end -->"
MODEL_NAMES = ("lenet300100", "lenet5")

# Targets: [DC] Table 1 (the paper's compressed errors and ratios), and this course's goal.
PAPER_ERROR = {name: row["compressed_error"] for name, row in DC_TABLE1.items()}
PAPER_RATIO = {name: row["ratio"] for name, row in DC_TABLE1.items()}
GOAL_RATIO = 50

# The recipes. Keep rates start from [LW]'s (fc1/fc2/fc3 8/9/26%; conv1/conv2/fc1/fc2
# 66/12/8/19%) and prune harder where a layer is large and insensitive (the fc1 layers).
# ``bits``: weight bits per layer ([DC]: 6 for LeNet-300-100; 8 conv / 5 fc for LeNet-5).
RECIPES: dict[str, dict[str, Any]] = {
    "lenet300100": dict(
        keep={"fc1": 0.05, "fc2": 0.08, "fc3": 0.25},
        prune_steps=4, schedule="cubic", prune_epochs=[3, 3, 3, 8],
        lr=0.005, momentum=0.9, weight_decay=5e-4, augment=True,
        bits={"fc1": 4, "fc2": 5, "fc3": 5}, init="linear",
        finetune_epochs=4, finetune_lr=1e-3, finetune_bias_lr=1e-3,
        index_bits=None, train_subset=None, seed=0,
    ),
    "lenet5": dict(
        keep={"conv1": 0.66, "conv2": 0.12, "fc1": 0.05, "fc2": 0.15},
        prune_steps=3, schedule="cubic", prune_epochs=[2, 2, 4],
        lr=0.005, momentum=0.9, weight_decay=5e-4, augment=True,
        bits={"conv1": 6, "conv2": 5, "fc1": 4, "fc2": 5}, init="linear",
        finetune_epochs=2, finetune_lr=1e-3, finetune_bias_lr=1e-3,
        index_bits=None, train_subset=None, seed=0,
    ),
}
# ``--quick``: one prune round, one epoch each on a slice of the training set.
QUICK = dict(prune_steps=1, prune_epochs=[1], finetune_epochs=1, train_subset=6000)

Log = Callable[[str], None]


# ---------------------------------------------------------------------------
# Recipes
# ---------------------------------------------------------------------------


def recipe_for(name: str, quick: bool = False, **overrides) -> dict[str, Any]:
    """The recipe of ``name`` (a copy), with the quick budget and ``overrides`` applied."""
    if name not in RECIPES:
        raise ValueError(f"Unknown model {name!r}; choose one of {list(RECIPES)}.")
    recipe = copy.deepcopy(RECIPES[name])
    if quick:
        recipe.update(QUICK)
    unknown = sorted(set(overrides) - set(recipe))
    if unknown:
        raise ValueError(f"Unknown recipe keys {unknown}; the keys are {sorted(recipe)}.")
    recipe.update(copy.deepcopy(overrides))
    if len(recipe["prune_epochs"]) != recipe["prune_steps"]:
        raise ValueError(
            f"prune_epochs needs one entry per prune step: got {recipe['prune_epochs']} for {recipe['prune_steps']} steps."
        )
    return recipe


# ---------------------------------------------------------------------------
# The stages (the notebook calls them one by one)
# ---------------------------------------------------------------------------


def baseline_stage(name: str, data, from_scratch: bool = False, quick: bool = False, progress: bool = True) -> nn.Module:
    """The reference model: committed (default) or trained now (``from_scratch``; 1 epoch if ``quick``)."""
    if from_scratch:
        from .baselines import train_baseline

        model, _ = train_baseline(name, epochs=1 if quick else None, progress=progress)
        return model.to(data.train_x.device)
    from .checkpoints import load_baseline

    return load_baseline(name, device=data.train_x.device)


def prune_stage(model: nn.Module, data, recipe: dict, progress: bool = True, log: Log = print) -> dict[str, torch.Tensor]:
    """Iterative prune -> retrain to ``recipe["keep"]`` ([LW] §3.3); returns the final masks."""
    from .pruning import prune_and_retrain, sparsities_from_keep

    masks, _ = prune_and_retrain(
        model, data, sparsities_from_keep(recipe["keep"]), recipe["prune_steps"], recipe["prune_epochs"],
        schedule=recipe["schedule"], seed=recipe["seed"], log=log, lr=recipe["lr"], momentum=recipe["momentum"],
        weight_decay=recipe["weight_decay"], augment=recipe["augment"], train_subset=recipe["train_subset"],
        progress=progress,
    )
    return masks


def quantize_stage(model: nn.Module, recipe: dict):
    """k-means weight sharing of every layer at ``recipe["bits"]`` ([DC] §3); returns the codebooks."""
    from .weight_sharing import quantize_model

    return quantize_model(model, recipe["bits"], init=recipe["init"], seed=recipe["seed"])


def finetune_stage(model: nn.Module, codebooks, data, recipe: dict, progress: bool = True):
    """Train the centroids ([DC] §3.1, Eq. 3) and the biases; indices and masks stay fixed."""
    from .weight_sharing import finetune_centroids

    if recipe["finetune_epochs"] <= 0:
        return None
    return finetune_centroids(
        model, codebooks, data, epochs=recipe["finetune_epochs"], lr=recipe["finetune_lr"],
        bias_lr=recipe["finetune_bias_lr"], train_subset=recipe["train_subset"], seed=recipe["seed"],
        progress=progress, desc="fine-tune centroids",
    )


@torch.no_grad()
def half_precision_stage(model: nn.Module, codebooks, data, log: Log = print) -> dict[str, bool]:
    """Round biases, then centroids, to float16 values, each only if the error does not grow.

    The file stores a vector in float16 exactly when all its values survive the float16
    round trip (:mod:`course_lib.compressed_format`), so what is rounded here costs 2
    bytes a value instead of 4, and the file stays lossless. The decision looks at the
    error on the first 10,000 *training* images, never at the test set, so the reported
    test error is not selected on.
    """
    from .train import evaluate as _evaluate
    from .weight_sharing import apply_codebooks

    held = (data.train_x[:10000], data.train_y[:10000])

    def evaluate(m, _data):
        return _evaluate(m, held)

    layers = prunable_layers(model)
    decisions = {}
    before = evaluate(model, data)
    saved = {n: m.bias.detach().clone() for n, m in layers.items() if m.bias is not None}
    for n, b in saved.items():
        layers[n].bias.copy_(b.half().float())
    err = evaluate(model, data)
    decisions["biases"] = err <= before
    if not decisions["biases"]:
        for n, b in saved.items():
            layers[n].bias.copy_(b)
    else:
        before = err
    log(f"    float16 biases: train-slice error {err:.2f}% -> {'kept' if decisions['biases'] else 'rejected, float32 kept'}")
    saved_c = {n: cb.centroids.detach().clone() for n, cb in codebooks.items()}
    for n, cb in codebooks.items():
        cb.centroids.copy_(cb.centroids.half().float())
    apply_codebooks(model, codebooks)
    err = evaluate(model, data)
    decisions["centroids"] = err <= before
    if not decisions["centroids"]:
        for n, cb in codebooks.items():
            cb.centroids.copy_(saved_c[n])
        apply_codebooks(model, codebooks)
    log(f"    float16 centroids: train-slice error {err:.2f}% -> {'kept' if decisions['centroids'] else 'rejected, float32 kept'}")
    return decisions


def encode_stage(model: nn.Module, codebooks, recipe: dict, path: Path, data):
    """Write the ``.dcz`` file, read it back, and check the round trip is exact.

    Returns ``(report, decoded_model, decoded_error)``. Raises ``RuntimeError`` if the
    decoded weights or test error differ from the model's (the format is lossless).
    """
    from .compressed_format import load_compressed, save_compressed
    from .train import evaluate

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


# ---------------------------------------------------------------------------
# Size accounting per stage
# ---------------------------------------------------------------------------

BYTE_KINDS = ("codebook", "weights", "gaps", "biases", "header")
# The stages of :func:`stage_bytes`, in pipeline order (results.json stores its keys sorted).
STAGE_NAMES = ("dense float32", "pruned (P)", "quantized (P+Q)", "Huffman (P+Q+H)")


def stage_bytes(report) -> dict[str, dict[str, dict[str, float]]]:
    """Where the bytes go, stage by stage and layer by layer: ``{stage: {layer: {kind: bytes}}}``.

    Kinds are :data:`BYTE_KINDS`; the file-level header (preamble, header, checksum) is a
    pseudo-layer ``"(file)"``. Stages:

    - ``"dense float32"``: every weight and bias in 4 bytes.
    - ``"pruned (P)"``: stored entries (kept + fillers) as float32 values plus ``b_i``-bit
      gaps, the same gaps the file uses ([DC] §2). Computed.
    - ``"quantized (P+Q)"``: fixed-width ``b_w``-bit weight indices, ``b_i``-bit gaps,
      a float32 codebook ([DC] §3). Computed.
    - ``"Huffman (P+Q+H)"``: the file's bytes as written ([DC] §4); code tables count
      with their stream. Measured.
    """
    stages: dict[str, dict[str, dict[str, float]]] = {}
    dense, pruned, pq, pqh = {}, {}, {}, {}
    for l in report.layers:
        n_bias = l.shape[0] if l.bias_dtype != "none" else 0
        zero = dict.fromkeys(BYTE_KINDS, 0.0)
        dense[l.name] = zero | {"weights": 4.0 * l.weights, "biases": 4.0 * n_bias}
        pruned[l.name] = zero | {"weights": 4.0 * l.entries, "gaps": l.entries * l.index_bits / 8, "biases": 4.0 * n_bias}
        pq[l.name] = zero | {"codebook": 4.0 * l.centroids, "weights": l.entries * l.weight_bits / 8,
                             "gaps": l.entries * l.index_bits / 8, "biases": 4.0 * n_bias}
        b = l.bytes
        pqh[l.name] = zero | {"codebook": float(b["codebook"]), "weights": float(b["weight_stream"] + b["weight_table"]),
                              "gaps": float(b["gap_stream"] + b["gap_table"]), "biases": float(b["bias"])}
    pqh["(file)"] = dict.fromkeys(BYTE_KINDS, 0.0) | {
        "header": float(report.preamble_bytes + report.header_bytes + report.checksum_bytes)}
    stages["dense float32"] = dense
    stages["pruned (P)"] = pruned
    stages["quantized (P+Q)"] = pq
    stages["Huffman (P+Q+H)"] = pqh
    return stages


def _stage_total(stage: dict[str, dict[str, float]]) -> float:
    return sum(sum(kinds.values()) for kinds in stage.values())


def _totals_row(report) -> dict[str, Any]:
    """The "total" row of [DC] Tables 2-3 for our file."""
    layers = report.layers
    weights = sum(l.weights for l in layers)
    kept = sum(l.kept for l in layers)
    entries = sum(l.entries for l in layers)
    wbits_pq = sum(l.entries * l.weight_bits for l in layers) / max(entries, 1)
    ibits_pq = sum(l.entries * l.index_bits for l in layers) / max(entries, 1)
    wbits_h = sum(l.weight_bits_huffman * l.entries for l in layers) / max(entries, 1)
    ibits_h = sum(l.index_bits_huffman * l.entries for l in layers) / max(entries, 1)
    pq_bits = sum(l.entries * (l.weight_bits + l.index_bits) + 32 * l.centroids for l in layers)
    return {
        "weights": weights, "kept": kept, "kept_fraction": kept / weights, "entries": entries,
        "weight_bits": wbits_pq, "weight_bits_huffman": wbits_h, "index_bits": ibits_pq, "index_bits_huffman": ibits_h,
        "rate_pq": pq_bits / (32 * weights), "rate_pqh": sum(l.weight_part_bytes for l in layers) / (4 * weights),
        "rate_file": report.file_bytes / report.float32_bytes,
    }


# ---------------------------------------------------------------------------
# One model, end to end
# ---------------------------------------------------------------------------


def compress(
    name: str,
    out_dir: str | os.PathLike = COMPRESSED_DIR,
    quick: bool = False,
    from_scratch: bool = False,
    recipe: dict | None = None,
    data=None,
    progress: bool = True,
    log: Log = print,
) -> dict[str, Any]:
    """Run the pipeline on ``name``, write ``<out_dir>/<name>.dcz``; returns its results entry."""
    from .data import load_mnist
    from .train import evaluate, set_seed

    recipe = recipe_for(name, quick=quick) if recipe is None else recipe_for(name, quick=quick, **recipe)
    data = load_mnist() if data is None else data
    out_dir = Path(out_dir)
    path = out_dir / f"{name}.dcz"
    set_seed(recipe["seed"])
    stages: list[dict[str, Any]] = []
    start = last = time.time()

    def record(stage: str, model: nn.Module, note: str = "") -> float:
        nonlocal last
        err = evaluate(model, data)
        now = time.time()
        stages.append({"stage": stage, "test_error": err, "seconds": round(now - last, 1)})
        log(f"[{name}] {stage}: test error {err:.2f}% ({now - last:.1f} s){note}")
        last = now
        return err

    log(f"[{name}] baseline ({'training from scratch' if from_scratch else 'committed checkpoint'})")
    model = baseline_stage(name, data, from_scratch=from_scratch, quick=quick, progress=progress)
    record("baseline", model)
    log(f"[{name}] prune + retrain to keep {recipe['keep']} in {recipe['prune_steps']} rounds")
    prune_stage(model, data, recipe, progress=progress, log=log)
    record("pruned", model)
    log(f"[{name}] quantize: k-means with {recipe['bits']} bits, {recipe['init']} init")
    codebooks = quantize_stage(model, recipe)
    record("quantized", model)
    log(f"[{name}] fine-tune the centroids for {recipe['finetune_epochs']} epochs")
    finetune_stage(model, codebooks, data, recipe, progress=progress)
    record("finetuned", model)
    log(f"[{name}] float16 biases and centroids, if free")
    halves = half_precision_stage(model, codebooks, data, log=log)
    record("float16", model)
    log(f"[{name}] encode: Huffman-coded weight indices and sparse gaps -> {path}")
    report, _, err = encode_stage(model, codebooks, recipe, path, data)
    file_bytes = os.path.getsize(path)
    now = time.time()
    stages.append({"stage": "decoded from file", "test_error": err, "seconds": round(now - last, 1)})
    seconds = round(now - start, 1)
    log(f"[{name}] file {file_bytes:,} bytes, ratio {report.ratio:.1f}x, test error read back {err:.2f}% "
        f"({seconds} s in all)")
    meets = report.ratio >= PAPER_RATIO[name] and err <= PAPER_ERROR[name]
    log(f"[{name}] [DC] Table 1: {PAPER_RATIO[name]}x at {PAPER_ERROR[name]:.2f}% -> "
        f"{'met' if meets else 'NOT met'}; goal {GOAL_RATIO}x -> {'met' if meets and report.ratio >= GOAL_RATIO else 'not met'}")
    sizes = stage_bytes(report)
    stage_size = {"baseline": _stage_total(sizes["dense float32"]), "pruned": _stage_total(sizes["pruned (P)"]),
                  "quantized": _stage_total(sizes["quantized (P+Q)"]), "finetuned": _stage_total(sizes["quantized (P+Q)"]),
                  "float16": _stage_total(sizes["quantized (P+Q)"]), "decoded from file": float(file_bytes)}
    for s in stages:
        s["bytes"] = stage_size[s["stage"]]
    return {
        "model": name,
        "file": path.name,
        "file_bytes": file_bytes,
        "float32_bytes": 4 * count_parameters(model),
        "parameters": count_parameters(model),
        "ratio": (4 * count_parameters(model)) / file_bytes,
        "test_error": err,
        "errors": {s["stage"]: s["test_error"] for s in stages},
        "stages": stages,
        "float16": halves,
        "layers": [l.as_dict() | {"paper_name": PAPER_LAYER_NAMES[name].get(l.name, l.name)} for l in report.layers],
        "totals": _totals_row(report) | {"bytes_by_kind": report.totals()},
        "stage_bytes": sizes,
        "recipe": recipe,
        "quick": quick,
        "from_scratch": from_scratch,
        "seconds": seconds,
        "threads": torch.get_num_threads(),
        "paper": {"error": PAPER_ERROR[name], "ratio": PAPER_RATIO[name]},
    }


# ---------------------------------------------------------------------------
# Results, tables, README
# ---------------------------------------------------------------------------


def load_results(out_dir: str | os.PathLike = COMPRESSED_DIR) -> dict[str, Any]:
    """``results.json`` of ``out_dir`` (an empty skeleton if there is none yet)."""
    path = Path(out_dir) / RESULTS_FILE
    if not path.is_file():
        return {"models": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def _fmt_bytes(n: float) -> str:
    return f"{n / 1000:.1f} KB"


def render_results_table(results: dict[str, Any]) -> str:
    """The headline table (markdown): our errors, file sizes and ratios next to [DC] Table 1's."""
    lines = [
        "| model | baseline error | compressed error | [DC] error | file size | float32 size | ratio | [DC] ratio | time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in MODEL_NAMES:
        r = results.get("models", {}).get(name)
        if r is None:
            continue
        lines.append(
            f"| {DISPLAY_NAMES[name]} | {r['errors']['baseline']:.2f}% | {r['test_error']:.2f}% | "
            f"{r['paper']['error']:.2f}% | {r['file_bytes']:,} B | {_fmt_bytes(r['float32_bytes'])} | "
            f"**{r['ratio']:.1f}x** | {r['paper']['ratio']}x | {r['seconds']:.0f} s |"
        )
    total = results.get("total_seconds")
    if total is not None:
        lines.append("")
        lines.append(f"Both models from the committed baselines in {total:.0f} s "
                     f"(`python -m course_lib.reproduce`); ratio = float32 parameter bytes / `.dcz` file bytes on disk.")
    return "\n".join(lines) + "\n"


def _pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def _our_cells(row: dict[str, Any]) -> list[str]:
    return [
        f"{row['weights'] / 1000:.1f}K", _pct(row["kept_fraction"]), f"{row['weight_bits']:.1f}",
        f"{row['weight_bits_huffman']:.1f}", f"{row['index_bits']:.1f}", f"{row['index_bits_huffman']:.1f}",
        _pct(row["rate_pq"], 2), _pct(row["rate_pqh"], 2),
    ]


def render_paper_comparison(results: dict[str, Any]) -> str:
    """Our per-layer statistics next to [DC] Tables 2 and 3 (markdown), cells as ``ours / paper``."""
    out = ["# Deep Compression on MNIST: this reproduction next to the paper", "",
           "Written by `python -m course_lib.reproduce` from `results.json`. Each cell is **ours / [DC]**; "
           "the paper's values are as printed in Han, Mao, Dally (ICLR 2016), Tables 1-3.", "",
           "- weight bits: bits per stored weight index (P+Q: the codebook's bit-width; P+Q+H: Huffman-coded "
           "average per stored entry, fillers included).",
           "- index bits: bits per stored sparse gap (P+Q: fixed width `b_i`; P+Q+H: Huffman-coded average).",
           "- rate: a layer's stored weights over its float32 weights, biases excluded. P+Q is computed "
           "(fixed-width fields + float32 codebook); P+Q+H is measured in the file (codebook, code tables, "
           "both streams). The total P+Q+H rate is the whole file (header, biases, checksum included) over "
           "float32 parameter bytes, i.e. 1/ratio.", ""]
    for name in MODEL_NAMES:
        r = results.get("models", {}).get(name)
        if r is None:
            continue
        paper = PAPER_TABLES[name]
        table = "Table 2" if name == "lenet300100" else "Table 3"
        out += [f"## {DISPLAY_NAMES[name]} ([DC] {table})", "",
                f"Test error: baseline {r['errors']['baseline']:.2f}%, compressed {r['test_error']:.2f}% "
                f"([DC]: {r['paper']['error']:.2f}%). File: {r['file_bytes']:,} bytes, "
                f"ratio **{r['ratio']:.1f}x** ([DC]: {r['paper']['ratio']}x).", ""]
        out.append("| layer | " + " | ".join(paper["columns"]) + " |")
        out.append("|---" * (len(paper["columns"]) + 1) + "|")
        for layer in r["layers"]:
            ours = _our_cells(layer)
            theirs = paper["rows"].get(layer["paper_name"], ["-"] * len(ours))
            out.append(f"| {layer['name']} ({layer['paper_name']}) | " + " | ".join(f"{a} / {b}" for a, b in zip(ours, theirs)) + " |")
        tot = dict(r["totals"])
        tot["rate_pqh"] = tot["rate_file"]
        ours = _our_cells(tot)
        ours[1] += f" ({1 / tot['kept_fraction']:.0f}x)"
        ours[6] += f" ({1 / tot['rate_pq']:.0f}x)"
        ours[7] += f" ({r['ratio']:.0f}x)"
        out.append("| total | " + " | ".join(f"{a} / {b}" for a, b in zip(ours, paper["rows"]["total"])) + " |")
        out.append("")
    out += ["## Oddities in the paper's tables", ""] + [f"- {n}" for n in PAPER_TABLE_NOTES] + [""]
    return "\n".join(out)


def write_outputs(results: dict[str, Any], out_dir: str | os.PathLike) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RESULTS_FILE).write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    (out_dir / COMPARISON_FILE).write_text(render_paper_comparison(results), encoding="utf-8")


def replace_block(text: str, block: str) -> str:
    """``text`` with everything between the README markers replaced by ``block``."""
    if text.count(README_BEGIN) != 1 or text.count(README_END) != 1 or text.index(README_BEGIN) > text.index(README_END):
        raise ValueError(f"README.md needs exactly one {README_BEGIN} ... {README_END} block.")
    head, rest = text.split(README_BEGIN)
    _, tail = rest.split(README_END)
    return f"{head}{README_BEGIN}\n{block}{README_END}{tail}"


def readme_block(readme: str) -> str | None:
    """The text between the markers of ``readme``, or None if it has no block."""
    if README_BEGIN not in readme or README_END not in readme:
        return None
    return readme.split(README_BEGIN, 1)[1].split(README_END, 1)[0].removeprefix("\n")


def update_readme(results: dict[str, Any], readme_path: str | os.PathLike = REPO_ROOT / "README.md") -> bool:
    """Rewrite the results block of README.md; returns True if the file changed."""
    path = Path(readme_path)
    text = path.read_text(encoding="utf-8")
    new = replace_block(text, render_results_table(results))
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


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
    from .data import load_mnist

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
    results["command"] = "python -m course_lib.reproduce" + (" --quick" if quick else "") + (" --from-scratch" if from_scratch else "")
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
            print(f"error: no results in {args.out / RESULTS_FILE}; run python -m course_lib.reproduce first.", file=sys.stderr)
            return 1
        try:
            changed = update_readme(results)
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
