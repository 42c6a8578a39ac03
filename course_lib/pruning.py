"""Magnitude pruning, as in stage one of Deep Compression ([LW], [DC] §2).

Han et al. ("Learning both Weights and Connections", [LW]) train a network,
remove the connections whose weights are small, and retrain the survivors so
they make up for the loss. Repeating prune -> retrain removes ~92% of the
weights of both LeNets with no loss of accuracy ([LW] Table 1).

A *mask* is a boolean tensor of the weight's shape: ``True`` keeps a weight,
``False`` prunes it. The rule used throughout the course:

    keep  |w| >  threshold
    prune |w| <= threshold

What is here, one idea per function:

- :func:`magnitude_prune`: the mask that prunes a given fraction of one tensor.
- :func:`threshold_prune`: the [LW] §4 rule, threshold = quality x std of the layer.
- :func:`layer_masks`, :func:`global_masks`, :func:`apply_masks`, :func:`prune_model`,
  :func:`masks_from_model`: the same for every Linear/Conv2d weight of a model
  (biases are never pruned).
- :func:`masked_step`: one SGD step after which the pruned weights are exactly zero again;
  :class:`MaskKeeper` does the same as an ``after_step`` hook for :func:`course_lib.train.train`,
  keeping pruned weights at exactly zero while the survivors retrain.
- :func:`sensitivity_scan`: prune one layer at a time, see how the validation error grows
  ([LW] Fig. 6).
- :func:`iterative_prune`: prune -> retrain, k times, up to per-layer targets ([LW] §3.4).
- :func:`cubic_sparsity`, :class:`GradualPruner`: the gradual schedule of Zhu & Gupta [ZG].
- :func:`sparsity_report`: kept weights per layer.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .models import prunable_layers
from .train import evaluate, train

Masks = dict[str, torch.Tensor]


# --------------------------------------------------------------------------- input checks


def _require_weight(weight, fn: str) -> torch.Tensor:
    if not isinstance(weight, torch.Tensor):
        raise TypeError(
            f"{fn} needs a torch.Tensor of weights, got {type(weight).__name__}. "
            f"Pass a layer's weight, e.g. model.fc1.weight (or torch.tensor(your_list))."
        )
    if not weight.is_floating_point():
        raise TypeError(f"{fn} needs floating-point weights, got dtype {weight.dtype}. Convert with .float().")
    if weight.numel() == 0:
        raise ValueError(f"{fn} got an empty tensor; there is nothing to prune.")
    return weight


def _require_sparsity(sparsity, fn: str) -> float:
    if isinstance(sparsity, bool) or not isinstance(sparsity, numbers.Real):
        raise TypeError(f"{fn}: sparsity must be a number in [0, 1), got {type(sparsity).__name__} {sparsity!r}.")
    sparsity = float(sparsity)
    if not (0.0 <= sparsity < 1.0):  # also rejects NaN
        hint = " Did you pass a percentage? Use 0.9 for 90%." if 1.0 < sparsity <= 100.0 else ""
        raise ValueError(
            f"{fn}: sparsity is the fraction of weights to remove and must be in [0, 1), got {sparsity}."
            f"{hint} (1.0 would remove every weight.)"
        )
    return sparsity


def _require_model(model, fn: str) -> dict[str, nn.Module]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{fn} needs an nn.Module, got {type(model).__name__}.")
    layers = prunable_layers(model)
    if not layers:
        raise ValueError(f"{fn}: {type(model).__name__} has no Linear or Conv2d layer to prune.")
    return layers


# --------------------------------------------------------------------------- one tensor


def magnitude_prune(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Boolean keep-mask that removes the ``round(sparsity * numel)`` smallest-magnitude weights ([LW] §3).

    The threshold is the k-th smallest ``|w|``, with ``k = round(sparsity * weight.numel())``
    (``torch.kthvalue``, which counts from 1). **Rule:** a weight is kept when
    ``|w| > threshold`` and pruned when ``|w| <= threshold``. When several weights tie at
    the threshold, all of them are pruned, so the sparsity can come out a little higher
    than asked; on tensors without ties it is exact. ``sparsity == 0`` keeps everything.

    The input is not modified. The mask has the weight's shape and dtype ``torch.bool``;
    apply it with ``weight * mask``. On tie-free tensors this is the mask
    ``torch.nn.utils.prune.l1_unstructured(module, "weight", amount=sparsity)`` makes.
    """
    weight = _require_weight(weight, "magnitude_prune")
    sparsity = _require_sparsity(sparsity, "magnitude_prune")
    k = round(sparsity * weight.numel())
    if k == 0:
        return torch.ones_like(weight, dtype=torch.bool)
    magnitude = weight.detach().abs()
    threshold = torch.kthvalue(magnitude.flatten(), k).values
    return magnitude > threshold


def threshold_prune(weight: torch.Tensor, quality: float) -> torch.Tensor:
    """Keep-mask of the [LW] §4 rule: keep ``|w| > quality * std(w)``, prune the rest.

    ``std`` is the standard deviation of all the layer's weights (``torch.std``, Bessel's
    correction), so one ``quality`` value means a comparable cut in every layer, whatever
    its scale. [LW] pick the quality per layer from a sensitivity scan. ``quality = 0``
    prunes only exact zeros.
    """
    weight = _require_weight(weight, "threshold_prune")
    if isinstance(quality, bool) or not isinstance(quality, numbers.Real) or not float(quality) >= 0:
        raise ValueError(f"threshold_prune: quality must be a number >= 0 (a multiple of the std), got {quality!r}.")
    w = weight.detach()
    std = w.std() if w.numel() > 1 else torch.zeros((), dtype=w.dtype)
    return w.abs() > float(quality) * std


def keep_fraction(mask: torch.Tensor) -> float:
    """Fraction of ``True`` entries of a mask (1 - sparsity)."""
    return mask.sum().item() / mask.numel()


# --------------------------------------------------------------------------- whole models


def _sparsities_for(layers: Mapping[str, nn.Module], sparsities, fn: str) -> dict[str, float]:
    if isinstance(sparsities, Mapping):
        unknown = sorted(set(sparsities) - set(layers))
        if unknown:
            raise ValueError(f"{fn}: no prunable layer named {unknown}; the layers are {sorted(layers)}.")
        return {name: _require_sparsity(s, f"{fn}[{name!r}]") for name, s in sparsities.items()}
    s = _require_sparsity(sparsities, fn)
    return {name: s for name in layers}


def layer_masks(model: nn.Module, sparsities: Mapping[str, float] | float) -> Masks:
    """Per-layer magnitude masks: each layer loses its own fraction of its own weights ([LW] §3).

    ``sparsities`` maps a layer name (``"fc1"``) to the fraction to remove; layers not in
    the dict are left out (not pruned). A single number applies the same sparsity to every
    Linear/Conv2d layer. Only ``.weight`` is pruned, never biases. The model is not changed;
    returns ``{layer_name: bool mask}``.
    """
    layers = _require_model(model, "layer_masks")
    chosen = _sparsities_for(layers, sparsities, "layer_masks")
    return {name: magnitude_prune(layers[name].weight, s) for name, s in chosen.items()}


def global_masks(model: nn.Module, sparsity: float, layers: list[str] | None = None) -> Masks:
    """Masks from **one** magnitude threshold shared by all layers (model-wide pruning).

    Pools ``|w|`` of the chosen layers' weights (all Linear/Conv2d by default), removes the
    ``round(sparsity * total)`` smallest, keeps ``|w| > threshold``. Layers with small
    weights lose more than others; compare :func:`layer_masks`.
    """
    all_layers = _require_model(model, "global_masks")
    sparsity = _require_sparsity(sparsity, "global_masks")
    names = list(all_layers) if layers is None else list(layers)
    missing = [n for n in names if n not in all_layers]
    if missing:
        raise ValueError(f"global_masks: no prunable layer named {missing}; the layers are {sorted(all_layers)}.")
    pooled = torch.cat([all_layers[n].weight.detach().abs().flatten() for n in names])
    k = round(sparsity * pooled.numel())
    if k == 0:
        return {n: torch.ones_like(all_layers[n].weight, dtype=torch.bool) for n in names}
    threshold = torch.kthvalue(pooled, k).values
    return {n: all_layers[n].weight.detach().abs() > threshold for n in names}


def _check_masks(layers: Mapping[str, nn.Module], masks: Mapping[str, torch.Tensor], fn: str) -> None:
    if not isinstance(masks, Mapping):
        raise TypeError(f"{fn}: masks must be a dict {{layer_name: bool tensor}}, got {type(masks).__name__}.")
    for name, mask in masks.items():
        if name not in layers:
            raise ValueError(f"{fn}: no prunable layer named {name!r}; the layers are {sorted(layers)}.")
        if not isinstance(mask, torch.Tensor) or mask.shape != layers[name].weight.shape:
            got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise ValueError(f"{fn}: the mask of {name!r} must be a tensor of shape {tuple(layers[name].weight.shape)}, got {got}.")


@torch.no_grad()
def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> nn.Module:
    """Zero the pruned weights in place: ``layer.weight *= mask`` for each masked layer."""
    layers = _require_model(model, "apply_masks")
    _check_masks(layers, masks, "apply_masks")
    for name, mask in masks.items():
        w = layers[name].weight
        w.mul_(mask.to(device=w.device, dtype=w.dtype))
    return model


def prune_model(model: nn.Module, sparsities: Mapping[str, float] | float) -> Masks:
    """Prune each layer to its own sparsity (:func:`layer_masks`), zero those weights in place; return the masks."""
    masks = layer_masks(model, sparsities)
    apply_masks(model, masks)
    return masks


def masks_from_model(model: nn.Module) -> Masks:
    """The masks a pruned model carries in its zeros: ``{layer: weight != 0}`` for every Linear/Conv2d."""
    layers = _require_model(model, "masks_from_model")
    return {name: layer.weight.detach() != 0 for name, layer in layers.items()}


def sparsities_from_keep(keep_rates: Mapping[str, float]) -> dict[str, float]:
    """``{layer: 1 - keep}``: turn keep rates (the paper's way of stating them) into sparsities."""
    return {name: 1.0 - float(keep) for name, keep in keep_rates.items()}


# --------------------------------------------------------------------------- retraining


class MaskKeeper:
    """``after_step`` hook that holds pruned weights at exactly zero during retraining ([LW] §3, Fig. 2).

    ``train(model, data, after_step=MaskKeeper(masks))`` multiplies each masked weight by its
    mask right after every ``optimizer.step()``. Masking the gradients alone is not enough:
    the momentum buffer still carries velocity from before pruning, so SGD would move the
    pruned weights again. Re-zeroing after the step leaves them exactly 0.0, whatever the
    optimizer does. The survivors keep their trained values ([LW]: don't re-initialise).
    """

    def __init__(self, masks: Mapping[str, torch.Tensor]):
        if not isinstance(masks, Mapping) or not masks:
            raise TypeError("MaskKeeper needs a non-empty dict {layer_name: bool mask}, e.g. from layer_masks(model, ...).")
        self.masks = {name: m.detach().bool() for name, m in masks.items()}

    def __call__(self, model: nn.Module) -> None:
        apply_masks(model, self.masks)


def keep_masks(masks: Mapping[str, torch.Tensor]) -> MaskKeeper:
    """Same as ``MaskKeeper(masks)``: the after-step hook for :func:`course_lib.train.train`."""
    return MaskKeeper(masks)


def masked_step(model: nn.Module, masks: Mapping[str, torch.Tensor], optimizer: torch.optim.Optimizer,
                x: torch.Tensor, y: torch.Tensor) -> float:
    """One training step on the batch ``(x, y)`` after which the pruned weights are exactly 0 ([LW] §3, Fig. 2).

    ``optimizer.zero_grad()``, the cross-entropy loss of ``model(x)`` against ``y``,
    ``loss.backward()``, ``optimizer.step()``, then the masks again (:func:`apply_masks`).
    The masks come *after* the step: a pruned weight still gets a gradient, and a momentum
    buffer from before the pruning moves it even when its gradient is masked (weight decay
    alone does not: ``wd * 0 = 0``). :class:`MaskKeeper` is the same re-zeroing as an
    ``after_step`` hook for :func:`course_lib.train.train`. Returns the loss of the batch
    (before the step) as a float.
    """
    layers = _require_model(model, "masked_step")
    _check_masks(layers, masks, "masked_step")
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    apply_masks(model, masks)
    return loss.item()


RetrainFn = Callable[[nn.Module, Masks], object]


def iterative_targets(
    targets: Mapping[str, float], steps: int, schedule: str = "linear"
) -> list[dict[str, float]]:
    """The per-layer sparsities of each of ``steps`` prune rounds, ending exactly at ``targets``.

    - ``"linear"``: round ``i`` (1..k) prunes to ``target * i / k``.
    - ``"cubic"``: round ``i`` prunes to ``target * (1 - (1 - i/k)**3)``, [ZG]'s shape over
      rounds: big cuts first, while many redundant weights remain, small ones at the end.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}.")
    targets = {name: _require_sparsity(s, f"iterative_targets[{name!r}]") for name, s in targets.items()}
    if schedule == "linear":
        frac = [i / steps for i in range(1, steps + 1)]
    elif schedule == "cubic":
        frac = [1 - (1 - i / steps) ** 3 for i in range(1, steps + 1)]
    else:
        raise ValueError(f"schedule must be 'linear' or 'cubic', got {schedule!r}.")
    return [{name: s * f for name, s in targets.items()} for f in frac]


def iterative_prune(
    model: nn.Module,
    final_sparsities: Mapping[str, float],
    steps: int,
    retrain: RetrainFn,
    schedule: str = "linear",
) -> Masks:
    """Prune -> retrain, ``steps`` times, up to per-layer ``final_sparsities`` ([LW] §3.4, Fig. 5).

    Each round prunes every layer to its next sparsity (:func:`iterative_targets`) by magnitude
    of the *current* weights (already-pruned zeros are the smallest, so masks only shrink),
    zeros those weights, then calls ``retrain(model, masks)``, which must keep the masks
    (e.g. ``train(..., after_step=MaskKeeper(masks))``). Survivors are never re-initialised.
    Returns the final masks.
    """
    _require_model(model, "iterative_prune")
    if not callable(retrain):
        raise TypeError("iterative_prune: retrain must be a function retrain(model, masks).")
    masks: Masks = {}
    for round_sparsities in iterative_targets(final_sparsities, steps, schedule):
        masks = prune_model(model, round_sparsities)
        retrain(model, masks)
        apply_masks(model, masks)  # whatever retrain did, pruned stays pruned
    return masks


def prune_and_retrain(
    model: nn.Module,
    data,
    targets: Mapping[str, float],
    steps: int,
    epochs: list[int],
    schedule: str = "cubic",
    seed: int = 0,
    log: Callable[[str], None] | None = None,
    desc: str = "prune round",
    **train_kwargs,
) -> tuple[Masks, list[dict]]:
    """[LW] §3.4's loop as the project commands run it: :func:`iterative_prune` whose retrain
    step trains ``epochs[i]`` epochs in round ``i`` (seed ``seed + i``) under :class:`MaskKeeper`.

    ``train_kwargs`` go to :func:`course_lib.train.train` (lr, momentum, augment, ...).
    Returns ``(masks, rounds)``; ``rounds[i]`` holds the kept % per layer and the validation
    error after round ``i``. The model ends with its masks applied.
    """
    if len(epochs) != steps:
        raise ValueError(f"recipe needs one entry of epochs per prune step, got {epochs} for {steps} steps.")
    rounds: list[dict] = []

    def retrain(model, masks):
        i = len(rounds)
        history = train(model, data, epochs=epochs[i], seed=seed + i, after_step=MaskKeeper(masks),
                        desc=f"{desc} {i + 1}/{steps}", **train_kwargs)
        kept = {r["layer"]: r["kept_pct"] for r in sparsity_report(masks)}
        error = history.val_error[-1] if history.val_error else evaluate(model, data, split="val")
        rounds.append({"kept_pct": kept, "val_error": error})
        if log is not None:
            shown = ", ".join(f"{layer} {pct:.1f}%" for layer, pct in kept.items())
            log(f"    round {i + 1}: kept {shown} -> validation error {error:.2f}%")

    masks = iterative_prune(model, targets, steps, retrain, schedule=schedule)
    apply_masks(model, masks)
    return masks, rounds


# --------------------------------------------------------------------------- gradual pruning [ZG]


def cubic_sparsity(t: float, s_i: float, s_f: float, t0: float, n: int, dt: float) -> float:
    """Sparsity at step ``t`` of Zhu & Gupta's gradual schedule ([ZG] Eq. 1).

    ``s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt))**3`` for ``t0 <= t <= t0 + n*dt``;
    ``s_i`` before ``t0`` and ``s_f`` after ``t0 + n*dt`` (clamped). It prunes fast at first,
    when redundant weights abound, and slows down as the target nears.
    """
    for name, s in (("s_i", s_i), ("s_f", s_f)):
        if not (isinstance(s, numbers.Real) and 0.0 <= float(s) < 1.0):
            raise ValueError(f"cubic_sparsity: {name} must be a sparsity in [0, 1), got {s!r}.")
    if n < 1 or dt <= 0:
        raise ValueError(f"cubic_sparsity: need n >= 1 pruning steps and dt > 0, got n={n}, dt={dt}.")
    progress = min(max((t - t0) / (n * dt), 0.0), 1.0)
    return s_f + (s_i - s_f) * (1.0 - progress) ** 3


class GradualPruner:
    """``after_step`` hook for gradual magnitude pruning during training [ZG].

    Counts optimizer steps ``t`` (from 0). At ``t = t0, t0 + dt, ..., t0 + n*dt`` it re-prunes
    each layer of ``final_sparsities`` by magnitude to
    ``cubic_sparsity(t, initial_sparsity, target, t0, n, dt)``; between those steps it keeps
    the current masks, like :class:`MaskKeeper`. ``history`` records ``(t, sparsities)``.
    """

    def __init__(self, final_sparsities: Mapping[str, float], t0: int, n: int, dt: int, initial_sparsity: float = 0.0):
        self.final = {k: _require_sparsity(v, f"GradualPruner[{k!r}]") for k, v in final_sparsities.items()}
        self.t0, self.n, self.dt = int(t0), int(n), int(dt)
        self.s_i = _require_sparsity(initial_sparsity, "GradualPruner initial_sparsity")
        self.t = 0
        self.masks: Masks = {}
        self.history: list[tuple[int, dict[str, float]]] = []

    def current(self, t: int) -> dict[str, float]:
        return {name: cubic_sparsity(t, min(self.s_i, s), s, self.t0, self.n, self.dt) for name, s in self.final.items()}

    def __call__(self, model: nn.Module) -> None:
        t = self.t
        due = t >= self.t0 and (t - self.t0) % self.dt == 0 and (t - self.t0) // self.dt <= self.n
        if due:
            targets = self.current(t)
            self.masks = layer_masks(model, targets)
            self.history.append((t, targets))
        if self.masks:
            apply_masks(model, self.masks)
        self.t += 1


# --------------------------------------------------------------------------- analysis


@torch.no_grad()
def sensitivity_scan(
    model: nn.Module,
    data,
    sparsities=(0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98),
    layers: list[str] | None = None,
    evaluate_fn: Callable | None = None,
    split: str = "val",
) -> dict[str, list[float]]:
    """Prune one layer at a time (no retraining) and record the error ([LW] §4, Fig. 6).

    Returns ``{layer: [error at each sparsity]}``. The model is restored afterwards. A scan
    chooses per-layer thresholds, so by default it reads the **validation** error
    (``evaluate(model, data, split="val")``), never the test set. ``data`` is what
    ``evaluate_fn`` takes (default :func:`course_lib.train.evaluate` on ``split``: an
    ``MNISTData``, or an ``(x, y)`` pair). The most sensitive layer should be pruned least.
    """
    if split not in ("test", "val"):
        raise ValueError(f"sensitivity_scan: split must be 'val' (to choose settings) or 'test', got {split!r}.")
    if evaluate_fn is None:
        def evaluate_fn(m, d):
            return evaluate(m, d, split=split)
    all_layers = _require_model(model, "sensitivity_scan")
    names = list(all_layers) if layers is None else list(layers)
    sparsities = [_require_sparsity(s, "sensitivity_scan") for s in sparsities]
    result: dict[str, list[float]] = {}
    for name in names:
        weight = all_layers[name].weight
        original = weight.detach().clone()
        errors = []
        try:
            for s in sparsities:
                weight.copy_(original * magnitude_prune(original, s))
                errors.append(float(evaluate_fn(model, data)))
        finally:
            weight.copy_(original)  # restored even when an evaluation fails
        result[name] = errors
    return result


def sparsity_report(model_or_masks: nn.Module | Mapping[str, torch.Tensor], total: bool = False) -> list[dict]:
    """One row per prunable layer: ``{"layer", "numel", "kept", "kept_pct"}``.

    Takes a model (kept = nonzero weights) or a dict of masks (kept = True entries).
    With ``total=True`` a last row named ``"total"`` sums all layers.
    """
    if isinstance(model_or_masks, nn.Module):
        masks = masks_from_model(model_or_masks)
    elif isinstance(model_or_masks, Mapping):
        masks = dict(model_or_masks)
    else:
        raise TypeError(f"sparsity_report needs a model or a dict of masks, got {type(model_or_masks).__name__}.")
    rows = []
    for name, mask in masks.items():
        kept = int(torch.as_tensor(mask).bool().sum().item())
        rows.append({"layer": name, "numel": mask.numel(), "kept": kept, "kept_pct": 100.0 * kept / mask.numel()})
    if total and rows:
        n = sum(r["numel"] for r in rows)
        k = sum(r["kept"] for r in rows)
        rows.append({"layer": "total", "numel": n, "kept": k, "kept_pct": 100.0 * k / n})
    return rows


def format_report(rows: list[dict]) -> str:
    """The rows of :func:`sparsity_report` as a small text table."""
    lines = [f"{'layer':<8}{'weights':>10}{'kept':>10}{'kept %':>9}"]
    for r in rows:
        lines.append(f"{r['layer']:<8}{r['numel']:>10,}{r['kept']:>10,}{r['kept_pct']:>8.2f}%")
    return "\n".join(lines)


def compression_ratio(rows: list[dict]) -> float:
    """Weights before / weights kept, over the rows of :func:`sparsity_report` (no "total" row)."""
    layers = [r for r in rows if r["layer"] != "total"]
    kept = sum(r["kept"] for r in layers)
    return math.inf if kept == 0 else sum(r["numel"] for r in layers) / kept
