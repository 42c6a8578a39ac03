"""Check for the warm-up exercise of notebook 00.

``fraction_zero(t)`` must return, as a plain Python float, the fraction of entries of ``t``
that are exactly zero, and leave ``t`` as it was. The check runs small tensors first
(so a failure shows the smallest one), coerces the answer to a plain number (a 0-d tensor or
a ``float`` subclass whose ``==`` agrees with anything is refused), and names the mistake whose
output matches what the function returned on every case.
"""

from __future__ import annotations

import math
import re
from typing import Callable

import torch

from ...sparsity import fraction_zero
from .core import CheckFailed, as_float, call_unchanged, fail, mismatch, passed

def _cases() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    tiny = torch.tensor([0.0, 0.0001, -2.0, 0.0, -3.0, 5.0, 7.0])
    specks = torch.tensor([1e-10, 0.0, -1e-30, 0.25, -0.0, -7.0])  # tiny nonzeros and a negative zero
    rows = torch.tensor([[0.0, 0.0, 1.0], [2.0, 0.0, 0.0]])  # 2 rows, 6 entries: len(t) != t.numel()
    rand = torch.randn(5, 7, generator=gen)
    rand[rand.abs() < 0.5] = 0.0
    ints = torch.tensor([[0, 3, 0], [-1, 0, 5], [0, 0, 2]])  # an integer tensor
    return [tiny, specks, rows, torch.zeros(3, 3), torch.ones(2, 4), -torch.rand(6, generator=gen) - 0.1,
            ints, rand]


def _show(t: torch.Tensor) -> str:
    if t.numel() <= 9:
        text = repr(t.tolist()) if not t.is_floating_point() else \
            re.sub(r"-?\d[\d.e+-]*", lambda m: f"{float(m.group()):g}", repr(t.tolist()))
        return f"torch.tensor({text})"
    return f"a tensor of shape {tuple(t.shape)} with {int((t == 0).sum())} zeros"


def _mean(mask: torch.Tensor) -> float:
    return mask.sum().item() / mask.numel()


_EPS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12)  # tolerances a learner may pick


def _hypotheses(t: torch.Tensor) -> list[tuple[float | None, str]]:
    """What each typical mistake returns on ``t``, with its diagnosis (most specific first)."""
    zeros = int((t == 0).sum())
    n = t.numel()
    a = t.abs()
    want = zeros / n
    rows = len(t)
    return [
        (zeros, "That is the number of zeros; divide by t.numel() for a fraction."),
        (100 * want, "That is a percentage; return a fraction between 0 and 1 (no * 100)."),
        (1 - want, "That is the fraction of NON-zero entries (the density); count t == 0."),
        (zeros // n, "Integer division `//` rounds the fraction down to 0; use `/`."),
        (zeros / rows,
         "You divided by len(t), the number of rows; divide by t.numel(), the number of all entries."),
        (zeros / t.shape[-1] if t.dim() else want,
         "You divided by the last dimension only; divide by t.numel(), the number of all entries."),
        (n / zeros if zeros else None, "The ratio is upside down: zeros / numel, not numel / zeros."),
        (_mean(t <= 0), "You counted negative values too (t <= 0). Count t == 0 only."),
        (_mean(t < 0), "That is the fraction of negative entries; count t == 0."),
        (_mean(t > 0), "That is the fraction of positive entries; count t == 0."),
    ] + [(_mean(a < eps), f"You counted small values (|t| < {eps:g}) as zero. Count exact zeros (t == 0).")
         for eps in _EPS] + [
        (_mean(a <= eps), f"You counted small values (|t| <= {eps:g}) as zero. Count exact zeros (t == 0).")
        for eps in _EPS] + [
        (round(want, d), f"You rounded the fraction to {d} decimal{'s' if d != 1 else ''}; return it unrounded.")
        for d in (0, 1, 2, 3, 4)]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def _diagnose(results: list[tuple[torch.Tensor, float]]) -> str:
    """The smallest failing case, and the mistake whose output matches every answer seen."""
    t, got = next((t, got) for t, got in results if not _close(got, fraction_zero(t)))
    shown = mismatch("fraction_zero", _show(t), round(fraction_zero(t), 6), round(got, 6))
    per_case = [_hypotheses(t) for t, _ in results]
    for j, (_, message) in enumerate(per_case[0]):
        if all(h[j][0] is not None and _close(got, h[j][0]) for h, (_, got) in zip(per_case, results)):
            return f"{shown}\n{message}"  # (it differs from the right answer somewhere: got is wrong there)
    return shown


def check_fraction_zero(fn: Callable[[torch.Tensor], float]) -> None:
    """``fn(t)`` must return the fraction of exactly-zero entries of ``t``, a plain float; ``t`` unchanged."""
    results: list[tuple[torch.Tensor, float]] = []
    for t in _cases():
        try:
            got = call_unchanged(fn, t, exercise="fraction_zero")
        except CheckFailed:
            if any(not _close(g, fraction_zero(c)) for c, g in results):
                break  # a crash after wrong answers: the wrong answers say more
            raise
        if isinstance(got, torch.Tensor) and got.numel() == 1 and not got.dtype == torch.bool:
            value = got.item()
            extra = "" if _close(value, fraction_zero(t)) else f" Its value, {value:.4g}, is wrong too."
            fail(f"fraction_zero({_show(t)}) returned a {got.dim()}-d tensor, not a Python float.\n"
                 f"Return a number, e.g. (t == 0).sum().item() / t.numel().{extra}")
        results.append((t, as_float(got, f"fraction_zero({_show(t)})")))
    if any(not _close(got, fraction_zero(t)) for t, got in results):
        fail(_diagnose(results))
    passed(f"fraction_zero is right on {len(results)} tensors (tiny values, -0.0, all zeros, no zeros, "
           "integers).")
