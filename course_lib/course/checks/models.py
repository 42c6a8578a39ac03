"""Checks for notebook 01: counting parameters and their float32 size.

Both checks run the learner's function on small models first (so a failure shows the smallest
one), then on both LeNets. The models are built to separate the typical mistakes: a layer
without bias, a conv layer, a nested ``nn.Sequential``, a BatchNorm (whose running statistics
are buffers, not parameters) and weights that are exactly zero (a zero weight is still a
parameter). The answer must be a plain number (a tensor, a bool or an ``int`` subclass whose
``==`` agrees with anything is refused) and the model must come back unchanged. A failure names
the mistake whose output matches what the function returned on every model, else shows the
smallest model, the expected value and the value returned.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ...models import LeNet300100, LeNet5, count_parameters, float32_bytes
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


# --------------------------------------------------------------------------- float32_bytes

# Bytes per parameter of the typical mistakes, with what each one is.
_FACTORS = [
    (4, ""),
    (1, "That is the parameter count. Each float32 takes 4 bytes."),
    (32, "That is bits (32 per float). Divide by 8 for bytes: 4 bytes per parameter."),
    (8, "8 bytes per parameter is float64. float32 takes 4."),
    (2, "2 bytes per parameter is float16. float32 takes 4."),
    (0.5, "Bytes are 32 / 8 = 4 per float32, not 8 / 32."),
    (4 / 1024, "That is kilobytes (KiB, / 1024). Return plain bytes."),
    (4 / 1000, "That is kilobytes (kB, / 1000). Return plain bytes."),
    (4 / 1024 ** 2, "That is megabytes (MiB, / 1024**2). Return plain bytes."),
    (4 / 1000 ** 2, "That is megabytes (MB, / 10**6). Return plain bytes."),
    (32 / 1024, "That is kilobits. Return bytes: 4 per float32 parameter."),
]


def _bytes(model: nn.Module) -> list[tuple[float | None, str]]:
    out = []
    for n, counted in _counts(model):
        for factor, unit in _FACTORS:
            if not counted and not unit:
                out.append((n * factor, ""))
            elif not counted or not unit:
                out.append((n * factor, counted or unit))
    for n, counted in _counts(model)[1:]:
        for factor, unit in _FACTORS[1:]:
            out.append((n * factor, f"{unit} Also: {counted[0].lower()}{counted[1:]}"))
    out.append((sum(t.numel() * t.element_size() for t in model.state_dict().values()),
                "That is the size of the state_dict, buffers included.\nBatchNorm's running statistics "
                "are buffers, not parameters: count model.parameters() only."))
    return out


def _close_bytes(got: float, want: float) -> bool:
    # a rounded kilobyte figure is the same mistake as an exact one
    return math.isclose(got, want, rel_tol=1e-9) or (float(got).is_integer() and want != int(want)
                                                      and abs(got - want) < 1)


def check_float32_bytes(fn: Callable[[nn.Module], int]) -> None:
    """``fn(model)`` must return the bytes of all parameters stored as float32 (a whole number)."""

    def coerce(got: Any, what: str) -> float:
        if isinstance(got, torch.Tensor):
            fail(f"{what} returned a tensor of shape {tuple(got.shape)}, not a Python number.\n"
                 "Return 4 * count_parameters(model), an int.")
        if isinstance(got, (bool, np.bool_)):
            fail(f"{what} returned the bool {got}; return a number of bytes.")
        if type(got) not in (int, float) and not isinstance(got, (np.integer, np.floating)):
            kind = type(got).__name__
            extra = " (a subclass: return a plain int)" if isinstance(got, (int, float)) else ""
            fail(f"{what} returned a {kind}{extra}; return a number of bytes, an int.")
        return int(got) if float(got).is_integer() else float(got)

    results = _run(fn, "float32_bytes", coerce, float32_bytes, _close_bytes)
    _verdict(results, "float32_bytes", float32_bytes, _bytes, _close_bytes)
    for model, got in results:
        if got != int(got):
            fail(f"float32_bytes({_name(model)}) returned {got}; a size in bytes is a whole number.")
    passed("float32_bytes is right: 4 bytes for each parameter, biases included, on "
           f"{len(results)} models.")
