"""Checks for notebook 02, magnitude pruning: ``magnitude_prune``, ``threshold_prune``, ``prune_model``.

Each check runs the learner's function on fixed cases, smallest first, built to expose one
mistake each (ties at the threshold in both orders for ``>=`` vs ``>`` and for tie-breaking by
index, 5-weight tensors where ``round`` and a quantile's interpolation differ, large negative
weights for a forgotten ``abs``, layers of different scales for a global threshold), then on
seeded random ones, and compares with :mod:`course_lib.pruning`. Every call goes through
:func:`~course_lib.course.checks.core.call_unchanged`, so an argument changed in place is named;
returned values are coerced (a bool mask of the weight's shape). A failure names the mistake
whose output matches what the learner's function returned, else shows the smallest failing
input, the expected value and the value returned. The checks of notebook 03 (retraining) are in
:mod:`~course_lib.course.checks.retraining`, which shares :func:`_mask_of`.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import pruning as ref
from ...models import LeNet300100, LeNet5, prunable_layers
from .core import CheckFailed, as_tensor, call_unchanged, fail, mismatch, passed

# --------------------------------------------------------------------------- helpers


def _mask_of(result: Any, what: str, like: torch.Tensor, verb: str = "returned") -> torch.Tensor:
    """``result`` as a plain bool tensor of ``like``'s shape, or a failure naming what it is instead."""
    lead = f"{what}\n{verb}" if len(what) > 45 else f"{what} {verb}"
    if isinstance(result, (tuple, list)):
        fail(f"{lead} a {type(result).__name__} of {len(result)} items; return the keep-mask "
             "alone, a bool tensor of the weight's shape.")
    if isinstance(result, np.ndarray):
        fail(f"{lead} a numpy array; return a torch tensor (compute the mask with torch, "
             "e.g. `weight.abs() > threshold`).")
    if isinstance(result, torch.Tensor) and type(result) in (torch.Tensor, nn.Parameter):
        if tuple(result.shape) != tuple(like.shape):
            if result.numel() == like.numel():
                fail(f"{lead} a mask of shape {tuple(result.shape)}; the weight's shape is "
                     f"{tuple(like.shape)}. Compare `weight.abs()` itself (not a flattened copy), or "
                     "reshape the mask to weight.shape.")
            fail(f"{lead} a tensor of shape {tuple(result.shape)}; the mask must have the "
                 f"weight's shape {tuple(like.shape)}.")
        if result.dtype != torch.bool:
            values = result.detach()
            if values.numel() and not bool(((values == 0) | (values == 1)).all()):
                fail(f"{lead} the pruned weights (dtype {result.dtype}), not a mask.\n"
                     "Return the boolean keep-mask, e.g. `weight.abs() > threshold`.")
            fail(f"{lead} 0/1 values of dtype {result.dtype}; return a bool mask "
                 "(`weight.abs() > threshold` is one; .bool() converts 0/1 values).")
    return as_tensor(result, what, kind="bool", shape=like.shape)


def _tie_free(shape, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n = math.prod(shape)
    magnitude = (torch.randperm(n, generator=g).float() + 1) / n
    sign = torch.randint(0, 2, (n,), generator=g).float() * 2 - 1
    return (magnitude * sign).reshape(shape)


def _kth(values: torch.Tensor, k: int) -> torch.Tensor:
    return torch.kthvalue(values.flatten(), k).values


def _show(w: torch.Tensor) -> str:
    """A tensor as the learner could type it (small ones) or by its shape (large ones)."""
    if w.numel() <= 10:
        return "torch.tensor([" + ", ".join(f"{float(v):g}" for v in w.flatten()) + "])" + (
            f".reshape{tuple(w.shape)}" if w.dim() != 1 else "")
    return f"a tensor of shape {tuple(w.shape)}"


def _same_mask(got: torch.Tensor, want: Any) -> bool:
    return isinstance(want, torch.Tensor) and want.shape == got.shape and bool(torch.equal(got, want.bool()))


def _first_failing(results, expected):
    """Index of the first case whose answer differs from the reference."""
    return next(i for i, (got, want) in enumerate(zip(results, expected)) if not _same_mask(got, want))


def _explain(results: list, cases: list, mistakes: Callable) -> str | None:
    """The message of the first typical mistake that explains every answer seen, if one does."""
    tables = [mistakes(*case) for case in cases[: len(results)]]
    for j, (message, _) in enumerate(tables[0]):
        if all(_holds(table[j][1], got) for table, got in zip(tables, results)):
            return message
    return None


def _explain_failing(results: list, expected: list, cases: list, mistakes: Callable) -> str | None:
    """The first typical mistake that explains every wrong answer (when two mistakes combine)."""
    wrong = [i for i, (g, e) in enumerate(zip(results, expected)) if not _same_mask(g, e)]
    if len(wrong) < 2:
        return None  # one wrong answer is too little to tell mistakes apart
    tables = {i: mistakes(*cases[i]) for i in wrong}
    for j, (message, _) in enumerate(tables[wrong[0]]):
        if all(_holds(tables[i][j][1], results[i]) for i in wrong):
            return message
    return None


def _holds(predicate: Callable, got: torch.Tensor) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # std() of one value, quantile of ..., in a mistake's mask
            return bool(predicate(got))
    except (RuntimeError, ValueError, IndexError, TypeError, ZeroDivisionError):
        return False


def _mask_mismatch(fn_name: str, inputs: str, want: torch.Tensor, got: torch.Tensor) -> str:
    """:func:`mismatch` for masks; for a large one, the counts say more than its first values."""
    shown = mismatch(fn_name, inputs, want, got)
    if want.numel() > 12:
        shown += f" It keeps {int(got.sum())} of {want.numel()} weights; expected {int(want.sum())}."
    return shown


def _is(mask_fn: Callable[[], torch.Tensor]) -> Callable[[torch.Tensor], bool]:
    """The predicate "the answer is exactly the mask ``mask_fn()``" (False when that mask cannot be made)."""
    return lambda got: _same_mask(got, mask_fn())


# --------------------------------------------------------------------------- exercise: magnitude_prune


def _keep_above(a: torch.Tensor, k: int) -> torch.Tensor:
    """Prune the k smallest of ``a`` with the course's rule (keep a > k-th smallest); k == 0 keeps all."""
    if k <= 0:
        return torch.ones_like(a, dtype=torch.bool)
    return a > _kth(a, k)


def _breaks_ties(got: torch.Tensor, w: torch.Tensor, k: int) -> bool:
    """Exactly k pruned, all of them among the smallest, but some weight tied at the threshold kept."""
    a = w.detach().abs()
    if k < 1 or int((~got).sum()) != k:
        return False
    t = _kth(a, k)
    return bool((a[~got] <= t).all() and (a[got] >= t).all() and (a[got] == t).any())


def _magnitude_mistakes(w: torch.Tensor, s: float) -> list[tuple[str, Callable[[torch.Tensor], bool]]]:
    """(diagnosis, does the answer match it?) for each typical mistake of magnitude_prune on (w, s)."""
    w = w.detach()
    a, n = w.abs(), w.numel()
    k = round(s * n)

    def q(method: str) -> torch.Tensor:
        return torch.quantile(a.flatten(), s, interpolation=method)

    def rule(mask_fn: Callable[[], torch.Tensor]) -> Callable[[torch.Tensor], bool]:
        """A mistake in the threshold or the comparison, by a solution that handles k == 0 first."""
        return _is(lambda: torch.ones_like(a, dtype=torch.bool) if k == 0 else mask_fn())

    quantile = ("You used torch.quantile (or np.percentile): it interpolates between weights, so on "
                "small tensors it prunes a different number than k = round(sparsity * numel).\n"
                "Use the k-th smallest |w|: torch.kthvalue(weight.abs().flatten(), k).values.")
    abs_msg = ("Large negative weights were pruned: you forgot `abs`. Magnitude means |w|: use "
               "`weight.abs()` both to find the threshold and to compare.")
    mistakes = [
        ("Weights equal to the threshold were kept: use `>` (strictly greater keeps), not `>=`.\n"
         "The rule is: keep |w| > threshold, prune |w| <= threshold.",
         rule(lambda: a >= _kth(a, k))),
        (abs_msg, rule(lambda: w > _kth(w, k))),
        (abs_msg, rule(lambda: w >= _kth(w, k))),
        (abs_msg, rule(lambda: w > _kth(a, k))),
        (abs_msg, rule(lambda: a > _kth(w, k))),
        ("`weight > 0` keeps the positive weights: you forgot `abs` and the threshold.\n"
         "Keep |w| > threshold, the k-th smallest |w|.", _is(lambda: w > 0)),
        ("`weight != 0` keeps every non-zero weight; keep |w| > threshold, the k-th smallest |w|.",
         _is(lambda: w != 0)),
        ("The mask is inverted: True must mean *keep*. Return `weight.abs() > threshold` "
         "(the big weights), not the pruned ones.", _is(lambda: ~ref.magnitude_prune(w, s))),
        ("The mask is inverted: True must mean *keep*. Return `weight.abs() > threshold` "
         "(the big weights), not the pruned ones.", rule(lambda: a < _kth(a, k))),
        (f"You treated `sparsity` as the fraction to *keep*. sparsity is the fraction to remove: "
         f"prune k = round(sparsity * numel) weights.", _is(lambda: _keep_above(a, round((1 - s) * n)))),
        ("You treated `sparsity` as the fraction to *keep*. sparsity is the fraction to remove: "
         "prune k = round(sparsity * numel) weights.", _is(lambda: _keep_above(a, n - k))),
        ("The smallest weights were kept and the largest pruned. Keep |w| > threshold, the k-th "
         "smallest |w|.", _is(lambda: ~_keep_above(a, n - k))),
        ("When k = round(sparsity * numel) is 0 (sparsity 0, or close to it), every weight must be kept.\n"
         "torch.kthvalue needs k >= 1: when k == 0 return "
         "torch.ones_like(weight, dtype=torch.bool) (don't raise k to 1).",
         _is(lambda: _keep_above(a, max(k, 1)))),
        ("k must be round(sparsity * numel); int() truncates it (int(3.7) = 3). Use round(...).",
         _is(lambda: _keep_above(a, int(s * n)))),
        ("k must be round(sparsity * numel); math.ceil rounds up. Use round(...).",
         _is(lambda: _keep_above(a, math.ceil(s * n)))),
        ("k must be round(sparsity * numel), Python's round (2.5 -> 2, 3.5 -> 4); floor(x + 0.5) "
         "rounds halves up.", _is(lambda: _keep_above(a, math.floor(s * n + 0.5)))),
    ]
    for method in ("linear", "lower", "higher", "midpoint", "nearest"):
        mistakes += [(quantile, _is(lambda m=method: a > q(m))), (quantile, rule(lambda m=method: a > q(m))),
                     (quantile, _is(lambda m=method: a >= q(m))), (quantile, rule(lambda m=method: a >= q(m)))]
    mistakes += [
        ("Every weight tied at the threshold must be pruned (the rule is prune |w| <= threshold), so "
         "the sparsity can come out a little higher than asked.\nYou pruned exactly k and kept some "
         "tied ones (argsort/topk indices break ties by position): compare |w| with the threshold.",
         lambda got: _breaks_ties(got, w, k)),
        ("Here one weight too many was pruned: the threshold is the (k+1)-th smallest |w|. "
         "torch.kthvalue(x, k) counts from 1 (and sorted[k - 1] is the k-th smallest).",
         _is(lambda: _keep_above(a, k + 1) if k < n else None)),
        ("Here one weight too few was pruned: the threshold is the (k-1)-th smallest |w|. "
         "torch.kthvalue(x, k) counts from 1: k, not k - 1.", _is(lambda: _keep_above(a, k - 1))),
        ("k used len(weight), the number of rows; the count of all weights is weight.numel().",
         _is(lambda: _keep_above(a, round(s * len(w))))),
        ("Each row was pruned on its own; one threshold must hold for the whole tensor (the k-th "
         "smallest |w| of weight.abs().flatten()).", _is(lambda: _per_row(a, s))),
    ]
    return mistakes


def _per_row(a: torch.Tensor, s: float) -> torch.Tensor | None:
    if a.dim() < 2:
        return None
    rows = a.reshape(a.shape[0], -1)
    return torch.stack([_keep_above(r, round(s * r.numel())) for r in rows]).reshape(a.shape)


def _magnitude_count_hint(got: torch.Tensor, w: torch.Tensor, s: float) -> str | None:
    """A hint from the number of weights pruned, when no single mistake explains every answer."""
    n, k = w.numel(), round(s * w.numel())
    pruned = int((~got).sum())
    a = w.detach().abs()
    if pruned == k and k and bool((a[~got].max() > a[got].min()) if got.any() else False):
        return (f"The right number of weights was pruned ({k}), but not the smallest ones. Prune the "
                "entries with the smallest |w| (threshold = the k-th smallest |w|).")
    if pruned != k and not _same_mask(got, ref.magnitude_prune(w, s)):
        return (f"It prunes {pruned} of {n} weights; expected the {k} (= round(sparsity * numel)) with "
                "the smallest |w|, plus any tied with the k-th smallest.")
    return None


def _magnitude_cases() -> list[tuple[torch.Tensor, float]]:
    five = torch.tensor([0.3, -1.2, 0.05, 2.0, -0.7])
    ties = torch.tensor([0.5, -0.5, 0.5, 2.0, -3.0, 0.25, 4.0, 1.0])
    cases = [
        (five, 0.5),  # k = round(2.5) = 2; a quantile's interpolation prunes 3
        (five, 0.7),  # k = round(3.5) = 4; int() gives 3, a quantile 3
        (torch.tensor([-2.0]), 0.0),  # one weight, sparsity 0
        (torch.tensor([-5.0, 0.1, -4.0, 0.2, 3.0, -0.3, 2.0, 0.4]), 0.5),  # big negative weights
        (ties, 0.375),  # k = 3, three weights tied at the threshold 0.5: four pruned
        (ties.flip(0), 0.375),  # the same ties in the other order
        (torch.tensor([0.5, -0.5, 0.5, -0.5]), 0.5),  # all tied: all pruned
        (torch.zeros(6), 0.5),  # all zero: all pruned
        (_tie_free((10,), 1), 0.37),  # round(3.7) = 4, int() = 3
        (_tie_free((10,), 6), 0.33),  # round(3.3) = 3, ceil = 4
        (_tie_free((4, 5), 5), 0.6),  # 2-D: len(weight) = 4 rows, numel = 20
        (_tie_free((5, 4), 4), 0.0),  # sparsity 0 keeps everything
        (_tie_free((30, 20), 2), 0.9),
        (_tie_free((6, 3, 5, 5), 3), 0.66),  # a conv weight
    ]
    cases += [(torch.randn(40, 25, generator=torch.Generator().manual_seed(10 + i)), s)
              for i, s in enumerate((0.1, 0.5, 0.8, 0.95, 0.99))]
    torch.manual_seed(7)
    cases.append((nn.Linear(8, 4).weight, 0.5))  # a Parameter that requires grad: don't touch it
    return cases


def _crash_at_k0(exc: CheckFailed, w: torch.Tensor, s: float) -> None:
    """A crash on a case with k == 0 (kthvalue(k=0)) is the sparsity-0 mistake: say so."""
    cause = exc.__cause__
    if cause is None or round(s * w.numel()) != 0:
        raise exc
    raise CheckFailed(f"magnitude_prune({_show(w)}, {s}) raised {type(cause).__name__}: {cause}\n"
                      f"Here k = round({s} * {w.numel()}) = 0: nothing is pruned. torch.kthvalue needs "
                      "k >= 1, so handle k == 0 first: return torch.ones_like(weight, dtype=torch.bool).") from cause


def check_magnitude_prune(fn: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """``fn(weight, sparsity)``: bool keep-mask, prunes the round(sparsity*numel) smallest |w| and ties, ``>`` keeps."""
    cases = _magnitude_cases()
    expected = [ref.magnitude_prune(w, s) for w, s in cases]
    results: list[torch.Tensor] = []
    for (w, s), want in zip(cases, expected):
        try:
            got = call_unchanged(fn, w, s, exercise="magnitude_prune")
        except CheckFailed as exc:
            if any(not _same_mask(g, e) for g, e in zip(results, expected)):
                break  # a crash after wrong answers: the wrong answers say more
            _crash_at_k0(exc, w, s)
        results.append(_mask_of(got, f"magnitude_prune({_show(w)}, {s})", w))
    if all(_same_mask(g, e) for g, e in zip(results, expected)):
        passed(f"magnitude_prune prunes round(sparsity * numel) weights and ties on {len(cases)} tensors.")
        return
    i = _first_failing(results, expected)
    (w, s), got = cases[i], results[i]
    shown = _mask_mismatch("magnitude_prune", f"{_show(w)}, {s}", expected[i], got)
    why = _explain(results, cases, _magnitude_mistakes) or _explain_failing(
        results, expected, cases, _magnitude_mistakes) or _magnitude_count_hint(got, w, s)
    fail(f"{shown}\n{why}" if why else shown)


# --------------------------------------------------------------------------- exercise: threshold_prune


def _threshold_cases() -> list[tuple[torch.Tensor, float]]:
    g = torch.Generator().manual_seed(0)
    w_neg = torch.cat([torch.randn(200, generator=g) * 0.05, torch.tensor([-0.4, -0.3, 0.35])]).reshape(7, 29)
    cases = [
        # small integer layers whose std is exact in any precision, so the ties are exact too
        (torch.tensor([3.0, -3.0, -3.0, 1.0, -3.0, -1.0, -1.0, -1.0, -1.0]), 0.5),  # std 2: |w| = 1 tie
        (torch.tensor([5.0, -1.0, -1.0, 3.0, -1.0, 1.0, 1.0, 1.0, 1.0]), 1.5),  # std 2: |w| = 3 tie
        (torch.tensor([1.0, -1.0, 7.0, -7.0]), 0.2),  # population std 5: a tie for that one
        (torch.tensor([0.0, 0.0, 0.0, 0.0, 2.0, -2.0, 4.0, -4.0, 0.0, 0.0]), 0.9),  # an already pruned layer
        (torch.tensor([0.0, 0.0, 2.0, -1.0, 0.0, 3.0]), 0.0),  # quality 0 prunes only exact zeros
        (torch.zeros(4), 1.0),  # all zero: std 0, nothing is > 0
        (torch.full((4,), 0.5), 1.0),  # all equal: std 0, everything is > 0
        (w_neg, 1.0),  # large negative weights
    ]
    cases += [(torch.randn(30, 20, generator=g) * scale, q)
              for scale, q in [(0.01, 0.5), (0.1, 1.0), (1.0, 1.5), (0.05, 2.0), (3.0, 0.0)]]
    cases += [(torch.randn(30, 20, generator=g) * 0.1 + 0.3, 1.0),  # a layer with a large mean
              (torch.randn(6, 3, 5, 5, generator=g) * 0.2, 0.8)]  # a conv weight
    return cases


def _std(w: torch.Tensor, **kwargs) -> torch.Tensor:
    return w.std(**kwargs) if w.numel() > 1 else torch.zeros((), dtype=w.dtype)


def _threshold_mistakes(w: torch.Tensor, q: float) -> list[tuple[str, Callable[[torch.Tensor], bool]]]:
    w = w.detach()
    a, std = w.abs(), _std(w)
    abs_msg = "Large negative weights were pruned: compare `weight.abs()`, you forgot `abs`."
    ge = "Weights exactly at quality * std were kept: use `>` (strictly greater keeps)."
    return [
        (ge, _is(lambda: a >= q * std)),
        (ge, _is(lambda: a >= q * w.std(unbiased=False))),
        (abs_msg, _is(lambda: w > q * std)),
        (abs_msg, _is(lambda: w >= q * std)),
        ("You took the std of |w|; the threshold is quality * std of the weights themselves, "
         "`weight.std()`.", _is(lambda: a > q * a.std())),
        ("The threshold is quality * std(w), not quality alone: multiply by `weight.std()`.",
         _is(lambda: a > q)),
        ("Don't add the mean: the threshold is quality * std(w), around zero.",
         _is(lambda: a > w.mean() + q * std)),
        ("Don't add the mean: the threshold is quality * std(w), around zero.",
         _is(lambda: a > a.mean() + q * std)),
        ("Use the standard deviation `weight.std()`, not the variance.", _is(lambda: a > q * w.var())),
        ("That is the root mean square sqrt(mean(w**2)); the std subtracts the mean first: "
         "`weight.std()`.", _is(lambda: a > q * w.pow(2).mean().sqrt())),
        ("That is quality * mean(|w|); the threshold is quality * std(w): `weight.std()`.",
         _is(lambda: a > q * a.mean())),
        ("The std was taken over the non-zero weights only; it is the std of all the layer's weights, "
         "zeros included: `weight.std()`.", _is(lambda: a > q * w[w != 0].std())),
        ("The std was taken per column (dim=0); the threshold is one number per layer: `weight.std()`.",
         _is(lambda: a > q * w.std(dim=0) if w.dim() > 1 else None)),
        ("The std was taken per row; the threshold is one number per layer: `weight.std()` with no dim.",
         _is(lambda: a > q * w.std(dim=-1, keepdim=True) if w.dim() > 1 else None)),
        ("The std was taken per row; the threshold is one number per layer: `weight.std()` with no dim.",
         _is(lambda: a > q * w.flatten(1).std(dim=1).reshape(-1, *[1] * (w.dim() - 1))
             if w.dim() > 2 else None)),
        ("Multiply: the threshold is quality * std(w), not quality / std(w).",
         _is(lambda: a > q / std)),
        ("Multiply: the threshold is quality * std(w), not std(w) / quality.",
         _is(lambda: a > std / q if q > 0 else None)),
        ("That is quality * max|w|; the threshold is quality * std(w).", _is(lambda: a > q * a.max())),
        ("That prunes the fraction `quality` of the weights (magnitude_prune); here the rule is "
         "keep |w| > quality * std(w).", _is(lambda: ref.magnitude_prune(w, q))),
        ("The mask is inverted: True must mean keep (|w| > quality * std(w)).",
         _is(lambda: ~ref.threshold_prune(w, q))),
        ("The mask is inverted: True must mean keep (|w| > quality * std(w)).", _is(lambda: a < q * std)),
    ]


def check_threshold_prune(fn: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """``fn(weight, quality)``: keep ``|w| > quality * std(w)`` ([LW] §4)."""
    cases = _threshold_cases()
    expected = [ref.threshold_prune(w, q) for w, q in cases]
    # The population std (np.std's default) gives the same cut up to a weight or two: accepted.
    population = [w.abs() > q * _std(w, unbiased=False) for w, q in cases]
    results: list[torch.Tensor] = []
    for (w, q), want in zip(cases, expected):
        try:
            got = call_unchanged(fn, w, q, exercise="threshold_prune")
        except CheckFailed:
            if any(not _same_mask(g, e) for g, e in zip(results, expected)):
                break
            raise
        results.append(_mask_of(got, f"threshold_prune({_show(w)}, {q})", w))
    ok = len(results) == len(cases) and (all(_same_mask(g, e) for g, e in zip(results, expected))
                                         or all(_same_mask(g, e) for g, e in zip(results, population)))
    if ok:
        passed(f"threshold_prune keeps |w| > quality * std(w) on {len(cases)} layers (ties, zeros, scales).")
        return
    i = _first_failing(results, expected)
    (w, q), got = cases[i], results[i]
    shown = _mask_mismatch("threshold_prune", f"{_show(w)}, {q}", expected[i], got)
    why = _explain(results, cases, _threshold_mistakes) or _explain_failing(
        results, expected, cases, _threshold_mistakes)
    if why is None:
        want = expected[i]
        why = (f"It keeps {int(got.sum())} of {w.numel()} weights; |w| > quality * std(w) = "
               f"{q} * {float(_std(w)):.4g} keeps {int(want.sum())}.")
    fail(f"{shown}\n{why}")


# --------------------------------------------------------------------------- exercise: per-layer pruning


class _TwoLayers(nn.Module):
    """A small model with a quiet first layer and a loud second one: a global threshold shows."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(4, 3)
        self.second = nn.Linear(3, 2)
        with torch.no_grad():
            self.first.weight.copy_(_tie_free((3, 4), 21) * 0.1)
            self.second.weight.copy_(_tie_free((2, 3), 22) * 3.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(F.relu(self.first(x)))


def _scaled_lenet(seed: int = 0) -> nn.Module:
    """LeNet-300-100 whose layers have very different scales, so a global threshold shows."""
    torch.manual_seed(seed)
    model = LeNet300100()
    with torch.no_grad():
        model.fc1.weight.mul_(0.2)
        model.fc3.weight.mul_(5.0)
    return model


def _prune_model_cases() -> list[tuple[nn.Module, dict[str, float]]]:
    torch.manual_seed(3)
    return [
        (_TwoLayers(), {"first": 0.5, "second": 0.5}),
        (_scaled_lenet(), {"fc1": 0.92, "fc2": 0.91, "fc3": 0.74}),
        (LeNet5(), {"fc1": 0.92, "conv1": 0.34}),  # conv2 and fc2 are not pruned
    ]


def _global_threshold(model: nn.Module, masks: dict) -> torch.Tensor | None:
    """The single |w| cut that would explain all of ``masks`` at once, if there is one."""
    layers = prunable_layers(model)
    try:
        pruned = torch.cat([layers[n].weight.detach().abs()[~m] for n, m in masks.items()])
        kept = torch.cat([layers[n].weight.detach().abs()[m] for n, m in masks.items()])
    except (KeyError, RuntimeError, IndexError, TypeError):
        return None
    if pruned.numel() and kept.numel() and kept.min() > pruned.max():
        return pruned.max()
    return None


def _prune_model_once(fn: Callable, model: nn.Module, sparsities: dict[str, float]) -> None:
    """One case of check_prune_model: the masks, the weights after, the parameters themselves."""
    name = type(model).__name__
    original = copy.deepcopy(model)
    before = {n: l.weight for n, l in prunable_layers(model).items()}
    params = {n: p for n, p in model.named_parameters()}
    masks = call_unchanged(fn, model, sparsities, exercise="prune_model", may_change=(0,))
    call_text = f"prune_model({name}(), {sparsities})"
    if isinstance(masks, nn.Module):
        fail(f"{call_text} returned the model; return the masks, a dict {{layer_name: keep-mask}}.")
    if not isinstance(masks, dict):
        fail(f"{call_text} returned {type(masks).__name__}; return a dict {{layer_name: keep-mask}}, "
             "e.g. {'fc1': mask, ...}.")
    keys = set(masks)
    if any(isinstance(k, str) and k.endswith(".weight") for k in keys):
        fail(f"{call_text} returned masks keyed {sorted(map(str, keys))}; key them by layer name "
             f"({sorted(sparsities)}), as in `sparsities`.")
    if any(isinstance(k, str) and k.endswith("bias") for k in keys):
        fail(f"{call_text} returned masks for biases; prune only the weights (`layer.weight`), the "
             "biases stay.")
    if keys != set(sparsities):
        extra = " Prune only the layers named in `sparsities`." if keys > set(sparsities) else ""
        fail(f"{call_text} returned masks for {sorted(map(str, keys))}; expected one per layer asked "
             f"for: {sorted(sparsities)}.{extra}")
    layers = prunable_layers(original)
    got = {n: _mask_of(masks[n], f"{call_text}[{n!r}]", layers[n].weight, verb="is") for n in sparsities}
    # the masks
    want = {n: ref.magnitude_prune(layers[n].weight, s) for n, s in sparsities.items()}
    after = prunable_layers(model)
    for n in sparsities:
        if _same_mask(got[n], want[n]):
            continue
        w0, w1, s = layers[n].weight.detach(), after[n].weight.detach(), sparsities[n]
        shown = (f"{call_text}[{n!r}] keeps {int(got[n].sum())} of {got[n].numel()} weights; "
                 f"expected {int(want[n].sum())}." if got[n].numel() > 12 else
                 f"{call_text}[{n!r}] is {got[n].tolist()}; expected {want[n].tolist()}.")
        if _global_threshold(original, got) is not None or _same_mask(
                got[n], ref.global_masks(original, s, layers=list(sparsities))[n]):
            fail(f"The mask of {n} keeps {100 * got[n].float().mean():.1f}% of its weights instead of "
                 f"{100 * (1 - s):.1f}%: you used one global threshold for all layers.\nPer-layer pruning "
                 "gives each layer its own threshold from its own weights: call "
                 "magnitude_prune(layer.weight, sparsities[name]) for each layer.")
        if _same_mask(got[n], w1 > 0) or _same_mask(got[n], (w0 * want[n]) > 0):
            fail(f"{shown}\nThe mask of {n} marks its negative kept weights as pruned: `weight > 0` forgot "
                 "abs. Return the masks magnitude_prune gave (or `weight != 0` after zeroing).")
        why = next((m for m, p in _magnitude_mistakes(w0, s) if _holds(p, got[n])), None)
        fail(f"{shown}\n{why}" if why else shown)
    # the model
    for n, layer in after.items():
        if layer.weight is not before[n]:
            fail(f"{call_text}\nreplaced {n}.weight with a new tensor or nn.Parameter: an optimizer built "
                 "before still holds the old one and trains it, not your pruned weights.\nChange the "
                 "weights in place: `with torch.no_grad(): layer.weight.mul_(mask)`.")
    for pname, p in model.named_parameters():
        if pname in params and p is not params[pname]:
            fail(f"{call_text} replaced the parameter {pname}; change the weights in place "
                 "(`layer.weight.mul_(mask)` under torch.no_grad()).")
    if all(torch.equal(after[n].weight, layers[n].weight) for n in sparsities):
        fail(f"After {call_text}\nthe pruned weights are not zero in the model: zero them in place, "
             "`with torch.no_grad(): layer.weight.mul_(mask)`, in the model you were given (not a copy).")
    for n, mask in want.items():
        w = after[n].weight.detach()
        w0 = layers[n].weight.detach()
        if torch.equal(w, w0 * ~mask):
            fail(f"After {call_text}\nthe kept weights of {n} are zero and the pruned ones kept: "
                 "multiply by the mask (True = keep), not by ~mask.")
        if not bool((w[~mask] == 0).all()):
            fail(f"After {call_text}\n{int((w[~mask] != 0).sum())} pruned weights of {n} are not zero in "
                 "the model: multiply in place, `with torch.no_grad(): layer.weight.mul_(mask)`.")
        if not torch.equal(w[mask], w0[mask]):
            fail(f"After {call_text}\nthe kept weights of {n} changed; only the pruned ones may become zero.")
    for pname, p in original.named_parameters():
        now = dict(model.named_parameters())[pname]
        layer_name, _, kind = pname.rpartition(".")
        if kind == "weight" and layer_name in sparsities:
            continue
        if not torch.equal(now, p):
            what = "biases are not pruned" if kind == "bias" else "only the layers in `sparsities` are pruned"
            fail(f"After {call_text}\nthe parameter {pname} changed; {what}.")


def check_prune_model(fn: Callable[[nn.Module, dict], dict]) -> None:
    """``fn(model, sparsities)``: per-layer masks ``{name: mask}``; zeros the pruned weights in place."""
    for model, sparsities in _prune_model_cases():
        _prune_model_once(fn, model, sparsities)
    passed("prune_model: a threshold per layer, pruned weights zeroed in place, biases left alone.")
