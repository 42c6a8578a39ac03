"""Structured pruning: remove whole neurons and channels, so the layers really get smaller (08).

Unstructured pruning ([LW], notebooks 02-03) zeroes single weights; the matrix keeps its shape
and a dense kernel does the same work as before. **Structured** pruning removes whole *units*:
an output neuron of a ``Linear`` (a row of its weight) or an output channel of a ``Conv2d`` (a
filter). The next layer then loses the matching *inputs* (columns of a ``Linear``, input
channels of a ``Conv2d``), and what is left is a smaller dense network that is faster on any
hardware.

- :func:`unit_importance`: one score per output unit, the Lp norm of its incoming weights.
- :func:`units_to_keep` (exercise): the indices of the units that survive a given ``amount``.
- :func:`remove_units` (exercise): a layer and its successor, rebuilt without the removed units.
- :func:`prune_units`: the same for several layers of a course model (a new, smaller model;
  ``conv2 -> fc1`` of LeNet-5 through the flatten is handled: each channel feeds
  ``h * w`` columns of ``fc1``).
- :func:`resized_model`, :func:`model_from_state`, :func:`unit_counts`: course models with
  other layer widths (narrow nets, pruned nets), and rebuilding one from its ``state_dict``.
- :func:`prune_and_retrain_units`: prune units, then retrain the smaller network.

torch-pruning (DepGraph, Fang et al., CVPR 2023) does the same on any architecture by tracing
which layers depend on which; ``tests/test_structured.py`` checks that it removes the same
units as :func:`prune_units` for the same criterion (L2 norm of each unit's weights).
"""

from __future__ import annotations

import copy
import numbers
from typing import Mapping

import torch
from torch import nn

from .models import build_model, count_parameters, prunable_layers
from .train import evaluate, train

Layer = nn.Linear | nn.Conv2d


def _check_weight(weight, fn: str) -> torch.Tensor:
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"{fn} needs a weight tensor, got {type(weight).__name__} (pass e.g. model.fc1.weight).")
    if weight.dim() not in (2, 4) or not weight.is_floating_point():
        raise ValueError(f"{fn} needs the float weight of a Linear ([out, in]) or Conv2d ([out, in, kh, kw]), "
                         f"got shape {tuple(weight.shape)} and dtype {weight.dtype}.")
    return weight


def _check_amount(amount, n: int, fn: str) -> int:
    """How many of ``n`` units ``amount`` removes: ``round(amount * n)`` (as ``torch.nn.utils.prune``)."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real) or not 0 <= float(amount) <= 1:
        raise ValueError(f"{fn}: amount is the fraction of units to remove, a number in [0, 1), got {amount!r}.")
    removed = round(float(amount) * n)
    if removed >= n:
        raise ValueError(f"{fn}: amount={amount} would remove all {n} units of the layer; a layer without units "
                         "computes nothing. Use an amount below 1 (at most 1 - 1/n).")
    return removed


def unit_importance(weight: torch.Tensor, p: float = 2) -> torch.Tensor:
    """One score per **output** unit: the Lp norm of the weights that feed it.

    A ``Linear`` weight is ``[out, in]``: unit ``i`` is row ``i``. A ``Conv2d`` weight is
    ``[out, in, kh, kw]``: unit ``i`` is filter ``i``, all of ``weight[i]``. Returns a float
    tensor of length ``out``.
    """
    weight = _check_weight(weight, "unit_importance")
    return weight.detach().flatten(1).norm(p=p, dim=1)


def units_to_keep(weight: torch.Tensor, amount: float) -> torch.Tensor:
    """Indices (ascending, int64) of the output units that survive removing ``amount`` of them.

    The ``round(amount * n)`` units with the smallest L2 norm (:func:`unit_importance`) go; on a
    tie the unit with the lower index stays. Raises ``ValueError`` for an amount outside
    ``[0, 1]`` or one that would remove every unit.
    """
    scores = unit_importance(weight)
    n = scores.numel()
    removed = _check_amount(amount, n, "units_to_keep")
    order = torch.sort(-scores, stable=True).indices  # largest first; equal scores in index order
    return order[: n - removed].sort().values


def _inputs_per_unit(layer: Layer, next_layer: Layer) -> int:
    """How many inputs of ``next_layer`` each output unit of ``layer`` feeds (1, or h*w through a flatten)."""
    n_out = layer.weight.shape[0]
    n_in = next_layer.weight.shape[1]
    if isinstance(layer, nn.Conv2d) and isinstance(next_layer, nn.Linear):
        if n_in % n_out:
            raise ValueError(f"the next layer takes {n_in} inputs, not a multiple of the {n_out} channels before it.")
        return n_in // n_out
    if n_in != n_out:
        raise ValueError(f"the layer has {n_out} outputs but the next layer takes {n_in} inputs; they must match.")
    return 1


def _like(layer: Layer, weight: torch.Tensor, bias: torch.Tensor | None) -> Layer:
    """A new layer of ``layer``'s kind and settings (kernel, stride, padding, ...) holding ``weight``, ``bias``."""
    if isinstance(layer, nn.Linear):
        new = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    else:
        new = nn.Conv2d(weight.shape[1], weight.shape[0], layer.kernel_size, stride=layer.stride,
                        padding=layer.padding, dilation=layer.dilation, bias=bias is not None,
                        padding_mode=layer.padding_mode)
    new = new.to(device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        new.weight.copy_(weight)
        if bias is not None:
            new.bias.copy_(bias)
    new.train(layer.training)
    return new


def remove_units(layer: Layer, next_layer: Layer, keep: torch.Tensor) -> tuple[Layer, Layer]:
    """``(new_layer, new_next)``: ``layer`` with only the output units ``keep``, and ``next_layer``
    with only the matching inputs. The originals are left as they are.

    - ``layer``: rows ``keep`` of its weight (filters, for a ``Conv2d``) and entries ``keep`` of
      its bias;
    - ``next_layer``: columns ``keep`` of its weight (input channels, for a ``Conv2d``); its bias
      belongs to its outputs and stays whole. When a ``Conv2d`` feeds a ``Linear`` through a
      flatten (LeNet-5's ``conv2 -> fc1``), channel ``c`` feeds the ``h * w`` columns
      ``c*h*w ... (c+1)*h*w - 1``, and those go together.
    """
    if not isinstance(layer, (nn.Linear, nn.Conv2d)) or not isinstance(next_layer, (nn.Linear, nn.Conv2d)):
        raise TypeError(f"remove_units needs two Linear/Conv2d layers, got {type(layer).__name__} and "
                        f"{type(next_layer).__name__}.")
    per_unit = _inputs_per_unit(layer, next_layer)
    keep = torch.as_tensor(keep, dtype=torch.long, device=layer.weight.device)
    n = layer.weight.shape[0]
    if keep.dim() != 1 or keep.numel() == 0 or keep.min() < 0 or keep.max() >= n or keep.unique().numel() != keep.numel():
        raise ValueError(f"keep must hold distinct unit indices in [0, {n}), at least one; got {keep.tolist()[:10]}.")
    with torch.no_grad():
        bias = None if layer.bias is None else layer.bias[keep]
        new = _like(layer, layer.weight[keep], bias)
        columns = (keep[:, None] * per_unit + torch.arange(per_unit, device=keep.device)).flatten()
        new_next = _like(next_layer, next_layer.weight[:, columns], next_layer.bias)
    return new, new_next


def unit_counts(model: nn.Module) -> dict[str, int]:
    """``{layer: output units}`` of every Linear/Conv2d of ``model``."""
    return {name: int(m.weight.shape[0]) for name, m in prunable_layers(model).items()}


def _check_layers(model: nn.Module, names, fn: str) -> list[str]:
    order = list(prunable_layers(model))
    unknown = [n for n in names if n not in order]
    if unknown:
        raise ValueError(f"{fn}: no layer named {unknown} in {type(model).__name__}; its layers are {order}.")
    last = [n for n in names if n == order[-1]]
    if last:
        raise ValueError(f"{fn}: {last[0]} is the last layer; its outputs are the classes and cannot be removed. "
                         f"Prune one of {order[:-1]}.")
    return order


def _set(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, module)


def prune_units(model: nn.Module, amounts: Mapping[str, float]) -> nn.Module:
    """A new, smaller copy of ``model``: each layer of ``amounts`` loses that fraction of its
    output units (smallest L2 norm first, :func:`units_to_keep`, every layer ranked on ``model``
    as it is, before any layer shrinks) and its successor the matching inputs
    (:func:`remove_units`). ``model`` is left as it is.

    ``model`` must be a chain of Linear/Conv2d layers in the order they are registered (both
    LeNets are). Raises ``ValueError`` for an unknown layer, the last layer (its outputs are
    the classes) and an amount that would remove every unit.
    """
    out = copy.deepcopy(model)
    order = _check_layers(out, list(amounts), "prune_units")
    # rank every layer's units on the network as trained, before any layer shrinks (as DepGraph does)
    keeps = {name: units_to_keep(prunable_layers(out)[name].weight, amounts[name]) for name in order if name in amounts}
    for name in order[:-1]:
        if name not in keeps:
            continue
        layers = prunable_layers(out)
        nxt = order[order.index(name) + 1]
        new, new_next = remove_units(layers[name], layers[nxt], keeps[name])
        _set(out, name, new)
        _set(out, nxt, new_next)
    return out


def resized_model(name: str, units: Mapping[str, int]) -> nn.Module:
    """A fresh course model ``name`` whose layers have the output units ``units`` (others as built).

    The inputs of each layer follow the outputs of the one before (times ``h * w`` where LeNet-5
    flattens ``conv2`` into ``fc1``). ``resized_model("lenet300100", {"fc1": 30, "fc2": 10})``
    is a 784-30-10-10 network, with PyTorch's default initialisation.
    """
    model = build_model(name)
    layers = prunable_layers(model)  # the full-size layers, kept for their settings
    order = _check_layers(model, list(units), "resized_model")
    prev_out, prev = None, None
    for lname in order:
        layer = layers[lname]
        out = units.get(lname, layer.weight.shape[0])
        if isinstance(out, bool) or not isinstance(out, numbers.Integral) or out < 1:
            raise ValueError(f"resized_model: {lname} needs a whole number of units, at least 1, got {out!r}.")
        if prev is None:
            n_in = layer.weight.shape[1]
        elif isinstance(layer, nn.Linear) and isinstance(prev, nn.Conv2d):
            n_in = prev_out * (layer.in_features // prev.out_channels)  # h * w columns per channel
        else:
            n_in = prev_out
        if isinstance(layer, nn.Linear):
            fresh = nn.Linear(n_in, int(out), bias=layer.bias is not None)
        else:
            fresh = nn.Conv2d(n_in, int(out), layer.kernel_size, stride=layer.stride, padding=layer.padding,
                              dilation=layer.dilation, bias=layer.bias is not None)
        _set(model, lname, fresh)
        prev_out, prev = int(out), layer
    return model


def model_from_state(name: str, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
    """Rebuild course model ``name`` with the layer sizes found in ``state_dict``, and load it."""
    base = prunable_layers(build_model(name))
    units = {}
    for lname in base:
        key = f"{lname}.weight"
        if key not in state_dict:
            raise ValueError(f"model_from_state: the state_dict has no {key!r}; is it a {name} model?")
        units[lname] = int(state_dict[key].shape[0])
    last = list(base)[-1]
    units.pop(last)
    model = resized_model(name, units)
    model.load_state_dict(state_dict)
    return model.eval()


def prune_and_retrain_units(model: nn.Module, amounts: Mapping[str, float], data, epochs: int = 1,
                            **train_kwargs) -> tuple[nn.Module, dict]:
    """:func:`prune_units`, then retrain the smaller network with :func:`course_lib.train.train`.

    Returns ``(small_model, info)`` with the validation error right after pruning and after
    retraining (the test set is not looked at), the unit counts and the parameter count.
    """
    small = prune_units(model, amounts)
    info = {"amounts": dict(amounts), "units": unit_counts(small), "parameters": count_parameters(small),
            "val_error_pruned": evaluate(small, data, split="val")}
    if epochs > 0:
        history = train(small, data, epochs=epochs, **train_kwargs)
        info["history_val_error"] = history.val_error
    info["val_error"] = evaluate(small, data, split="val")
    return small, info
