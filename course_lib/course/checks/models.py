"""Checks for notebook 01: counting parameters, and the bytes a state_dict saves per layer.

Both checks run the learner's function on small models first (so a failure shows the smallest
one), then on both LeNets, and the model must come back unchanged.

- ``count_parameters``: the models separate the typical mistakes: a layer without bias, a conv
  layer, a nested ``nn.Sequential``, a BatchNorm (whose running statistics are buffers, not
  parameters) and weights that are exactly zero (a zero weight is still a parameter). The
  answer must be a plain int (a tensor, a bool or an ``int`` subclass whose ``==`` agrees with
  anything is refused).
- ``state_dict_bytes``: ``{layer: bytes}`` of everything the state_dict saves. The models add
  a float16 copy, a float64 layer, BatchNorm buffers (one of them an int64 counter) and a
  non-persistent buffer (not saved), so "4 bytes per parameter", "parameters only", "every
  buffer" and "keys cut at the first dot" each give a different answer somewhere.

A failure names the mistake whose output matches what the function returned on every model,
else shows the smallest model, the expected value and the value returned.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ...models import LeNet300100, LeNet5, count_parameters, state_dict_bytes
from .core import CheckFailed, as_int, call_unchanged, fail, mismatch, passed


class _Tiny(nn.Module):
    """A model the learner has not seen: 3x2 weights + 2 biases, and a bias-free 2x1."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(2, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


class _Nested(nn.Module):
    """A conv, a nested Sequential with a BatchNorm (buffers!), and weights that are exactly zero."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, kernel_size=3)  # 2*1*3*3 = 18 weights, 2 biases
        self.head = nn.Sequential(nn.Linear(8, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 3))
        with torch.no_grad():
            self.conv.weight[0].zero_()  # 9 zero weights: still parameters
            self.head[0].bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x).flatten(1))


def _cases() -> list[nn.Module]:
    torch.manual_seed(0)
    return [_Tiny(), _Nested(), LeNet300100(), LeNet5()]


def _name(model: nn.Module) -> str:
    return f"{type(model).__name__}()"


def _counts(model: nn.Module) -> list[tuple[int | None, str]]:
    """What each typical way to count gets on ``model``, with what it does wrong ("" = right)."""
    params = list(model.parameters())
    named = list(model.named_parameters())
    modules = list(model.modules())
    return [
        (count_parameters(model), ""),
        (sum(p.numel() for n, p in named if n.endswith("weight")),
         "That counts the weights only. Biases are parameters too."),
        (sum(p.numel() for p in params if p.dim() > 1),
         "That counts the weights only (p.dim() > 1 skips every 1-D parameter). Biases are parameters too."),
        (sum(p.numel() for n, p in named if n.endswith("bias")), "That counts the biases only."),
        (len(params), "That is the number of parameter tensors, not of scalars. Use p.numel()."),
        (sum(p.shape[0] for p in params),
         "That adds each tensor's first dimension (len(p)); p.numel() counts all its elements."),
        (sum(p.shape[-1] for p in params), "That adds each tensor's last dimension; use p.numel()."),
        (sum(int((p != 0).sum()) for p in params),
         "That counts the non-zero parameters only. A weight that is exactly 0 is still a parameter."),
        (sum(t.numel() for t in model.state_dict().values()),
         "That counts the state_dict, buffers included (BatchNorm's running statistics are not "
         "parameters). Count model.parameters()."),
        (sum(p.numel() for m in modules for p in m.parameters()),
         "Nested modules were counted more than once: model.parameters() already recurses. Use it "
         "alone (or m.parameters(recurse=False) per module)."),
        (sum(p.numel() for m in model.children() for p in m.parameters(recurse=False)),
         "Only the top-level modules' own parameters were counted; layers nested in a Sequential are "
         "missing. model.parameters() recurses into all of them."),
        (sum(p.numel() for m in modules if isinstance(m, nn.Linear) for p in m.parameters()),
         "Only the nn.Linear layers were counted; conv (and other) layers have parameters too. "
         "Use model.parameters()."),
        (sum(p.numel() for m in modules if isinstance(m, (nn.Linear, nn.Conv2d)) for p in m.parameters()),
         "Only the Linear and Conv2d layers were counted; other layers (BatchNorm, ...) have "
         "parameters too. Use model.parameters()."),
    ]


def _explain(results: list[tuple[nn.Module, Any]], predict: Callable[[nn.Module], list[tuple[Any, str]]],
             close: Callable[[Any, Any], bool]) -> str | None:
    """The diagnosis of the first hypothesis that matches the answer on every model."""
    table = [predict(model) for model, _ in results]
    for j, (_, message) in enumerate(table[0]):
        if all(row[j][0] is not None and close(got, row[j][0]) for row, (_, got) in zip(table, results)):
            return message
    return None


def _run(fn: Callable, exercise: str, coerce: Callable[[Any, str], Any], right: Callable[[nn.Module], Any],
         close: Callable[[Any, Any], bool]) -> list[tuple[nn.Module, Any]]:
    """The learner's answers on every model (until a crash that follows a wrong answer)."""
    results: list[tuple[nn.Module, Any]] = []
    for model in _cases():
        try:
            got = call_unchanged(fn, model, exercise=exercise)
        except CheckFailed:
            if any(not close(g, right(m)) for m, g in results):
                break  # the wrong answers before the crash say more
            raise
        results.append((model, coerce(got, f"{exercise}({_name(model)})")))
    return results


def _verdict(results, fn_name: str, right, predict, close) -> None:
    wrong = [(m, g) for m, g in results if not close(g, right(m))]
    if not wrong:
        return
    model, got = wrong[0]
    shown = mismatch(fn_name, _name(model), right(model), got)
    message = _explain(results, predict, close)
    fail(f"{shown}\n{message}" if message else shown)


# --------------------------------------------------------------------------- count_parameters


def check_count_parameters(fn: Callable[[nn.Module], int]) -> None:
    """``fn(model)`` must return the number of scalar parameters, biases included, as a Python int."""

    def coerce(got: Any, what: str) -> int:
        if isinstance(got, torch.Tensor):
            fail(f"{what} returned a tensor of shape {tuple(got.shape)}, not a Python int.\n"
                 "Add up p.numel() (an int) for each parameter, or call .item() on the total.")
        if isinstance(got, (float, np.floating)):
            fail(f"{what} returned the float {got}; it must return an int (p.numel() is one).")
        return as_int(got, what)

    results = _run(fn, "count_parameters", coerce, count_parameters, lambda a, b: a == b)

    def predict(model):
        n = count_parameters(model)
        return _counts(model) + [(4 * n, "That is the size in bytes (4 per float32); count parameters only.")]

    _verdict(results, "count_parameters", count_parameters, predict, lambda a, b: a == b)
    passed(f"count_parameters is right on {len(results)} models, both LeNets included.")


# --------------------------------------------------------------------------- state_dict_bytes


class _Buffers(nn.Module):
    """A float64 layer, and a layer with a non-persistent buffer (not in the state_dict)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2).double()  # 8 bytes per entry
        self.gate = nn.Linear(2, 2)
        self.gate.register_buffer("mask", torch.ones(2, 2), persistent=False)  # not saved

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gate(self.fc(x.double()).float()) * self.gate.mask[0]


def _byte_cases() -> list[tuple[str, nn.Module]]:
    """Small models first (a failure shows the smallest), each one telling a mistake apart."""
    torch.manual_seed(0)
    half = _Tiny().half()
    return [("_Tiny()", _Tiny()), ("_Tiny().half()", half), ("_Nested()", _Nested()), ("_Buffers()", _Buffers()),
            ("LeNet300100()", LeNet300100()), ("LeNet5()", LeNet5())]


def _layer(key: str) -> str:
    return key.rpartition(".")[0]


def _grouped(items, size, name=_layer) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, t in items:
        out[name(key)] = out.get(name(key), 0) + size(t)
    return out


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def _byte_hypotheses(model: nn.Module) -> list[tuple[dict[str, int] | None, str]]:
    """What each typical way to count gets on ``model``, with its diagnosis (most telling first)."""
    state = list(model.state_dict().items())
    params = list(model.named_parameters())
    everything = params + list(model.named_buffers())  # non-persistent buffers included
    four = lambda t: 4 * t.numel()  # noqa: E731
    right = state_dict_bytes(model)
    return [
        (_grouped(params, four),
         "That is 4 bytes per parameter, the float32 size (float32_bytes). This asks what the state_dict "
         "saves: buffers too (BatchNorm's running statistics), each tensor in its own dtype "
         "(t.element_size()).\nIterate model.state_dict().items()."),
        (_grouped(params, _nbytes),
         "Only the parameters were counted. The state_dict also saves buffers (BatchNorm's running_mean, "
         "running_var, num_batches_tracked): iterate model.state_dict().items()."),
        (_grouped(everything, _nbytes),
         "A non-persistent buffer (register_buffer(..., persistent=False)) was counted, but the state_dict "
         "does not save it. Iterate model.state_dict().items(), not named_buffers()."),
        (_grouped(state, four),
         "Every entry was counted as 4 bytes. Each tensor's dtype decides: t.element_size() is 2 for "
         "float16, 8 for float64 and int64 (num_batches_tracked)."),
        ({k: 8 * v for k, v in right.items()}, "That is bits. Return bytes: numel() * element_size()."),
        (_grouped(state, lambda t: t.numel()),
         "That is the number of entries per layer, not bytes: multiply by t.element_size()."),
        (_grouped(state, lambda t: int(torch.count_nonzero(t)) * t.element_size()),
         "Only the non-zero entries were counted. A zero is saved like any other value."),
        (_grouped(state, _nbytes, name=lambda k: k),
         "The keys are tensor names ('fc1.weight', 'fc1.bias'). Group them by layer: the key without its "
         "last part, key.rpartition('.')[0] is 'fc1'."),
        (_grouped(state, _nbytes, name=lambda k: k.split(".")[0]),
         "Keys were cut at the first dot, which merges the layers of a nested module "
         "('head.0.weight' and 'head.3.weight' both became 'head'). Cut at the last dot: key.rpartition('.')[0]."),
        ({name: sum(_nbytes(t) for t in m.state_dict().values()) for name, m in model.named_modules()},
         "Nested modules were counted in their parents too (m.state_dict() recurses into children): "
         "group the entries of model.state_dict() by layer instead."),
        ({name: sum(_nbytes(t) for t in m.state_dict().values()) for name, m in model.named_modules() if name},
         "Nested modules were counted in their parents too (m.state_dict() recurses into children): "
         "group the entries of model.state_dict() by layer instead."),
        (_grouped([(k, t) for k, t in state if k.endswith("weight")], _nbytes),
         "Only the weights were counted: biases and buffers are saved too."),
    ]


def _as_sizes(got: Any, what: str, model: nn.Module) -> dict[str, int]:
    """The learner's answer as ``{layer: int}`` without zero entries, or a failure saying what is wrong."""
    if isinstance(got, (int, float, np.integer, np.floating, torch.Tensor)) and not isinstance(got, bool):
        total = sum(state_dict_bytes(model).values())
        right = (isinstance(got, (int, float, np.integer, np.floating)) and got == total)
        fail(f"{what} returned a single number{' (the right total)' if right else ''}; return a dict "
             f"{{layer name: bytes}}, one entry per layer, e.g. {{'fc1': ..., 'fc2': ...}}.")
    if not isinstance(got, dict):
        fail(f"{what} returned a {type(got).__name__}; return a dict {{layer name: bytes}}.")
    sizes: dict[str, int] = {}
    for key, value in got.items():
        if not isinstance(key, str):
            fail(f"{what} has the key {key!r} ({type(key).__name__}); the keys are layer names, strings "
                 "such as 'fc1'.")
        if isinstance(value, torch.Tensor):
            fail(f"{what}[{key!r}] is a tensor; the sizes must be Python ints (use .item() or int()).")
        if type(value) is float or isinstance(value, np.floating):
            if not float(value).is_integer():
                fail(f"{what}[{key!r}] is {value}; a size in bytes is a whole number.")
            value = int(value)
        value = as_int(value, f"{what}[{key!r}]")
        if value:
            sizes[key] = value
    return sizes


def _show_sizes(sizes: dict[str, int], limit: int = 4) -> str:
    items = sorted(sizes.items())
    shown = ", ".join(f"{k!r}: {v:,}" for k, v in items[:limit])
    return "{" + shown + (f", ... ({len(items)} layers)" if len(items) > limit else "") + "}"


def check_state_dict_bytes(fn: Callable[[nn.Module], dict]) -> None:
    """``fn(model)`` must return ``{layer name: bytes}`` for everything ``model.state_dict()`` holds.

    Parameters and persistent buffers, each tensor at its own dtype's size; keys are the
    state_dict keys without their last part. Layers that save nothing may be left out or given 0.
    """
    results: list[tuple[str, nn.Module, dict[str, int]]] = []
    for label, model in _byte_cases():
        got = call_unchanged(fn, model, exercise="state_dict_bytes")
        results.append((label, model, _as_sizes(got, f"state_dict_bytes({label})", model)))
    wrong = [(label, model, got) for label, model, got in results if got != state_dict_bytes(model)]
    if not wrong:
        passed(f"state_dict_bytes is right on {len(results)} models: buffers, float16, float64 and both LeNets.")
        return
    label, model, got = wrong[0]
    want = state_dict_bytes(model)
    shown = f"state_dict_bytes({label}) returned {_show_sizes(got)};\nexpected {_show_sizes(want)}."
    table = [_byte_hypotheses(m) for _, m, _ in results]
    for j, (_, message) in enumerate(table[0]):
        if all(row[j][0] is not None and {k: v for k, v in row[j][0].items() if v} == g
               for row, (_, _, g) in zip(table, results)):
            fail(f"{shown}\n{message}")
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    if missing or extra:
        fail(f"{shown}\nLayers missing: {missing or 'none'}; layers that should not be there: {extra or 'none'}. "
             "A layer's name is its state_dict key without the last part.")
    bad = next(k for k in sorted(want) if got[k] != want[k])
    fail(f"{shown}\nLayer {bad!r}: {got[bad]:,} bytes returned, {want[bad]:,} expected "
         f"(its tensors: {', '.join(k for k in model.state_dict() if _layer(k) == bad)}).")
