"""The training runs behind ``make structure`` (notebook 08), one function per part.

Each part takes the settings of :func:`course_lib.recipes.structure_recipe` and returns its
entry of ``course_lib/artifacts/structure/results.json`` (and the models worth committing):

- :func:`run_slimmable`: the slimmable LeNet-5 ([SL], [US]), one file, four widths;
- :func:`run_alone`: the same widths of LeNet-5 trained alone, and narrow LeNet-300-100s;
- :func:`run_structured`: structured pruning of the committed baselines, with retraining;
- :func:`run_scaling`: the [EN] grid search at ``phi = 1`` and three families (compound,
  depth alone, width alone) at ``phi`` in ``recipe["phis"]``.

Every error is measured on both splits: ``val_error`` is what any choice looks at (the grid
search picks its coefficients by it), ``test_error`` is what the course reports.
"""

from __future__ import annotations

import time
from typing import Callable

import torch
from torch import nn

from .data import MNISTData
from .models import build_model, count_parameters
from .scaling import SINGLE_DIMENSION, compound_candidates, count_flops, grid_search, scaled_cnn
from .slimmable import SlimmableLeNet5, evaluate_widths, extract_width, slim_units, train_slimmable
from .structured import prune_and_retrain_units, resized_model, unit_counts
from .tradeoffs import saved_bytes
from .train import evaluate, set_seed, train

Log = Callable[[str], None]
SGD = dict(momentum=0.9, weight_decay=5e-4, batch_size=128)


def _errors(model: nn.Module, data: MNISTData) -> dict:
    return {"val_error": evaluate(model, data, split="val"), "test_error": evaluate(model, data)}


def _dense_entry(model: nn.Module, data: MNISTData) -> dict:
    return {"units": unit_counts(model), "parameters": count_parameters(model), "flops": count_flops(model),
            "file_bytes": saved_bytes(model)} | _errors(model, data)


def width_units(name: str, width: float) -> dict[str, int]:
    """Output units of every hidden layer of course model ``name`` at ``width`` (as a slimmable net slices it)."""
    layers = unit_counts(build_model(name))
    return {k: slim_units(v, width) for k, v in list(layers.items())[:-1]}


def run_slimmable(data: MNISTData, recipe: dict, progress: bool = True, log: Log = print):
    """Train the slimmable LeNet-5; returns ``(model, entry)``."""
    set_seed(recipe["seed"])
    model = SlimmableLeNet5().to(data.train_x.device)
    start = time.time()
    history = train_slimmable(model, data, epochs=recipe["epochs"], lr=recipe["lr"], augment=recipe["augment"],
                              n_random=recipe["n_random"], distill=recipe["distill"], eval_widths=recipe["widths"],
                              seed=recipe["seed"], train_subset=recipe["train_subset"], progress=progress, **SGD)
    seconds = time.time() - start
    val, test = (evaluate_widths(model, data, recipe["widths"], split=s) for s in ("val", "test"))
    widths = {}
    for w in recipe["widths"]:
        small = extract_width(model, w)
        widths[str(w)] = {"units": unit_counts(small), "parameters": count_parameters(small),
                          "flops": count_flops(small), "file_bytes": saved_bytes(small),
                          "val_error": val[w], "test_error": test[w]}
        log(f"slimmable LeNet-5 at width {w}: {widths[str(w)]['parameters']:,} parameters, "
            f"test error {test[w]:.2f}%")
    entry = {"recipe": recipe, "widths": widths, "train_seconds": round(seconds, 1),
             "history": {"train_loss": history.train_loss,
                         "val_error": [{str(k): v for k, v in e.items()} for e in history.val_error]}}
    return model, entry


def run_alone(data: MNISTData, recipe: dict, progress: bool = True, log: Log = print) -> dict:
    """Train each width alone (LeNet-5 and LeNet-300-100) with the slimmable recipe; returns the entry."""
    entry: dict = {"recipe": recipe}
    for name in ("lenet5", "lenet300100"):
        entry[name] = {}
        for w in recipe[f"{name}_widths"]:
            set_seed(recipe["seed"])
            model = resized_model(name, width_units(name, w)).to(data.train_x.device)
            start = time.time()
            train(model, data, epochs=recipe["epochs"], lr=recipe["lr"], augment=recipe["augment"], seed=recipe["seed"],
                  train_subset=recipe["train_subset"], progress=progress, desc=f"{name} x{w} alone", **SGD)
            entry[name][str(w)] = _dense_entry(model, data) | {"train_seconds": round(time.time() - start, 1)}
            log(f"{name} at width {w}, trained alone: {entry[name][str(w)]['parameters']:,} parameters, "
                f"test error {entry[name][str(w)]['test_error']:.2f}%")
    return entry


def run_structured(data: MNISTData, recipe: dict, progress: bool = True, log: Log = print,
                   baselines: dict[str, nn.Module] | None = None) -> dict:
    """Structured pruning of the baselines (committed ones unless ``baselines`` is given); returns the entry."""
    from .committed_models import baseline_meta, load_baseline

    entry: dict = {"recipe": recipe}
    for name in ("lenet300100", "lenet5"):
        base = (baselines or {}).get(name) or load_baseline(name, device=data.train_x.device)
        hidden = list(unit_counts(base))[:-1]
        rows = []
        for amount in recipe[f"{name}_amounts"]:
            start = time.time()
            small, info = prune_and_retrain_units(
                base, {layer: amount for layer in hidden}, data, epochs=recipe["epochs"], lr=recipe["lr"],
                augment=recipe["augment"], seed=recipe["seed"], train_subset=recipe["train_subset"],
                progress=progress, desc=f"{name} -{amount:.0%} units", **SGD)
            row = {"amount": amount, "val_error_pruned": info["val_error_pruned"]} | _dense_entry(small, data)
            rows.append(row | {"train_seconds": round(time.time() - start, 1)})
            log(f"{name} without {amount:.0%} of its hidden units: {row['parameters']:,} parameters, "
                f"validation error {row['val_error_pruned']:.2f}% right after pruning, "
                f"test error {row['test_error']:.2f}% after retraining")
        entry[name] = {"baseline_test_error": evaluate(base, data), "rows": rows,
                       "baseline_recipe": baseline_meta(name).get("recipe") if baselines is None else None}
    return entry


def scaled_name(kind: str, phi: float) -> str:
    """The key of a scaled CNN in ``scaled.pt``: ``"base"`` at phi 0, else ``"<kind>_phi<phi>"``."""
    return "base" if phi == 0 else f"{kind}_phi{phi:g}"


def scaling_candidates(recipe: dict) -> list[tuple[float, float, float]]:
    """The grid points of ``recipe`` under the FLOPs constraint that scale at least ``min_scaled``
    of the three dimensions (coefficient > 1)."""
    found = compound_candidates(recipe["alphas"], recipe["betas"], recipe["gammas"], recipe["target"],
                                recipe["tolerance"])
    return [c for c in found if sum(v > 1 for v in c) >= recipe["min_scaled"]]


def run_scaling(data: MNISTData, recipe: dict, progress: bool = True, log: Log = print):
    """The [EN] grid search at phi = 1, then the three families; returns ``(models, entry)``."""
    train_kw = dict(lr=recipe["lr"], augment=recipe["augment"], progress=progress, **SGD)
    candidates = scaling_candidates(recipe)
    log(f"grid search at phi = 1 over {len(candidates)} candidates with alpha * beta^2 * gamma^2 within "
        f"{recipe['tolerance']} of {recipe['target']}, scaling at least {recipe['min_scaled']} dimensions")
    start = time.time()
    best, grid = grid_search(candidates, data, epochs=recipe["grid_epochs"], seed=recipe["seed"],
                             train_subset=recipe["grid_subset"], **train_kw)
    for row in grid:
        log(f"  alpha={row['alpha']:.2f} beta={row['beta']:.2f} gamma={row['gamma']:.2f}: "
            f"{row['flops']:,} multiply-adds, validation error {row['val_error']:.2f}%")
    log(f"chosen on the validation split: alpha, beta, gamma = {best}")
    grid_seconds = time.time() - start
    coefficients = {"compound": best, **SINGLE_DIMENSION}
    models: dict[str, nn.Module] = {}
    families: dict[str, list] = {}
    for kind, (a, b, g) in coefficients.items():
        families[kind] = []
        for phi in recipe["phis"]:
            key = scaled_name(kind, phi)
            if key not in models:
                set_seed(recipe["seed"])
                model = scaled_cnn(phi, a, b, g).to(data.train_x.device)
                t0 = time.time()
                train(model, data, epochs=recipe["epochs"], seed=recipe["seed"], train_subset=recipe["train_subset"],
                      desc=f"{key}", **train_kw)
                models[key] = model
                info = model.describe() | _errors(model, data) | {"file_bytes": saved_bytes(model),
                                                                   "train_seconds": round(time.time() - t0, 1)}
                log(f"{key}: {info['flops']:,} multiply-adds, {info['parameters']:,} parameters, "
                    f"test error {info['test_error']:.2f}%")
            else:
                model = models[key]
                info = model.describe() | _errors(model, data) | {"file_bytes": saved_bytes(model)}
            families[kind].append({"phi": phi, "name": key, "coefficients": [a, b, g],
                                   "config": model.config} | info)
    entry = {"recipe": recipe, "candidates": [list(c) for c in candidates], "grid": grid, "best": list(best),
             "grid_seconds": round(grid_seconds, 1), "families": families}
    return models, entry


def environment() -> dict:
    """What the figures depend on: torch's version and thread count."""
    return {"torch": torch.__version__, "threads": torch.get_num_threads()}


def sparse_vs_dense(name: str) -> dict[str, nn.Module]:
    """The models §1 of notebook 08 times, on the CPU: the dense baseline, the Deep Compression
    model decoded from its ``.dcz`` file (dense storage), and the same with CSR fully connected layers."""
    from .committed_models import compressed_path, load_baseline
    from .compressed_format import load_compressed
    from .latency import to_csr

    decoded = load_compressed(compressed_path(name), device="cpu")
    return {"dense baseline": load_baseline(name, device="cpu"), "DC decoded (dense)": decoded,
            "DC decoded, CSR fc": to_csr(decoded)}


def decode_seconds(name: str, warmup: int = 1, repeats: int = 5) -> float:
    """Median seconds to read and decode the committed ``.dcz`` file of ``name`` into a model."""
    from .committed_models import compressed_path
    from .compressed_format import load_compressed
    from .latency import median_time

    path = compressed_path(name)
    return median_time(lambda: load_compressed(path, device="cpu"), warmup, repeats)
