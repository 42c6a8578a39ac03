"""Checks for notebook 05: k-means weight sharing and trained centroids ([DC] §3, Eq. 1, Eq. 3).

The contracts (from the notebook):

- ``kmeans_codebook(values, bits)`` returns ``(centroids, assignments)``: ``k = 2**bits`` float
  centroids from linear initialisation (``torch.linspace(values.min(), values.max(), k)``) and
  one integer cluster number per value; Lloyd rounds (assign to the nearest centroid, a value
  exactly between two going to the first, i.e. lower, one as ``argmin`` does; move each
  centroid to the mean of its members, an empty cluster keeping its centroid) until no
  assignment changes, at most 300 rounds, the assignments matching the final centroids.
- ``codebook_for_layer(weight, bits, mask=None)`` returns ``Codebook(centroids, index, mask)``
  with the mask given (the pruning mask decides, whatever the values), else ``weight != 0``,
  and k-means over the kept weights only, for a weight of any shape (linear or conv).
- ``sharing_compression_rate(n, k, b)`` returns [DC] Eq. 1, a Python number.
- ``centroid_gradient(weight_grad, codebook)`` returns [DC] Eq. 3, the **sum** of each
  cluster's kept weight gradients, a float tensor ``[k]`` (0 for an empty cluster).
- ``centroid_gradient_autograd(model, layer_name, codebook, x, y)`` returns the same sum from
  autograd: ``dL/dC`` for ``L = F.cross_entropy(model(x), y)`` with the layer's weight written
  as ``W = C[I] * mask`` of a leaf copy ``C`` of the centroids.
- No function changes its arguments in place (the model and the codebook included).

The checks run small hand-made cases first (so a failure shows the smallest input), keep
pristine copies of the arguments, coerce the answers (a tensor or a ``float`` subclass is not
a plain number, float assignments are not cluster numbers), and name the mistake whose output
matches what came back: ``bits`` clusters instead of ``2**bits``, centroids never updated,
an empty cluster turned into NaN or reset to 0, ties sent to the upper centroid, no final
assignment after the last update, stopping early, another initialisation, clusters computed
over the pruned zeros, ``mask = weight > 0`` (negative weights dropped), the mask argument
ignored or combined with ``weight != 0``, ``k`` instead of ``log2(k)`` bits per index, a
missing codebook term, averaging instead of summing the gradients of a cluster (Eq. 3), one
gradient per cluster kept (``out[idx] += g``), empty clusters dropped (``bincount`` without
``minlength``), gradients of pruned weights counted, a flipped sign; for the autograd route a
detached ``C`` (no gradient flows, or autograd raises), ``requires_grad`` set on the codebook's
own centroids, ``W`` written into the model, the mask left out of ``W``, the gradient taken at
the layer's own weight, a summed loss, ``nll_loss`` on logits, ``dL/dW`` returned. When none
fits, the message shows the input, the expected value and the value returned.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from ... import weight_sharing as ref
from ...models import LeNet300100, prunable_layers
from .core import CheckFailed, as_float, as_tensor, call_unchanged, fail, mismatch, passed
from .quantization import differs, show

ROUNDS = 300


# ----------------------------------------------------------------- kmeans_codebook


@functools.lru_cache(maxsize=1)
def _slow_values() -> torch.Tensor:
    """Values on which k-means with 2 clusters moves one value across per round, for about 340 rounds.

    40 zeros, 40 ones, and 700 values in between placed so that every round the boundary between
    the clusters passes exactly one more of them (with a margin of 2e-4, far above rounding error).
    """
    heavy, n, margin = 40, 700, 2e-4
    p = torch.linspace(0.3, 0.7, n, dtype=torch.float64)
    t = torch.arange(n + 1, dtype=torch.float64)
    for _ in range(5000):
        left = torch.cat([p.new_zeros(1), torch.cumsum(p, 0)])
        right = p.sum() - left
        mid = (left / (heavy + t) + (right + heavy) / (heavy + n - t)) / 2
        new = mid[:n] - margin
        if torch.allclose(new, p, atol=1e-13, rtol=0):
            break
        p = (p + new) / 2
    values = torch.cat([torch.zeros(heavy, dtype=torch.float64), p, torch.ones(heavy, dtype=torch.float64)])
    order = torch.randperm(values.numel(), generator=torch.Generator().manual_seed(0))
    return values[order].float()


def _kmeans_cases() -> list[tuple[torch.Tensor, int, str | None, str]]:
    """``(values, bits, description, kind)``: kind "exact" (dyadic, compare everything), "float", "slow"."""
    gen = torch.Generator().manual_seed(5)
    normal = torch.randn(600, generator=gen) * 0.1
    outliers = torch.cat([torch.randn(300, generator=gen) * 0.05, torch.tensor([1.5, -1.2])])
    t = torch.tensor
    return [
        (t([0.0, 1.0, 2.0, 3.0, 4.0]), 1, None, "exact"),  # 2 is exactly between the initial centroids 0 and 4
        (t([0.0, -1.0, -2.0, -3.0, -4.0]), 1, None, "exact"),  # the same tie, mirrored and in decreasing order
        (t([0.5]), 2, None, "exact"),
        (t([0.25, 0.25, 0.25]), 1, None, "exact"),
        (t([0.0, 0.125, 0.25, 0.375, 3.0]), 2, None, "exact"),  # two clusters stay empty
        (t([0.5, -0.25, 0.5, 0.5, 1.0, -0.25]), 2, None, "exact"),  # 3 distinct values, 4 clusters
        (t([-1.0, 1.0, 1.0]), 1, None, "exact"),
        (normal, 2, "600 values ~ N(0, 0.1^2)", "float"), (normal, 3, "the same values", "float"),
        (outliers, 3, "values with two outliers (some clusters stay empty)", "float"),
        (_slow_values().clone(), 1, "780 values that need about 340 rounds to converge", "slow"),
    ]


def _lloyd(values: torch.Tensor, k: int, empty: str = "keep", tie: str = "lower", init: str = "linear",
           rounds: int = ROUNDS, centre: str = "mean") -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The states ``(centroids after t updates, assignments to them)`` of Lloyd's algorithm, in float64.

    ``empty``: what an empty cluster's centroid becomes ("keep" it, "zero", "nan"); ``tie``: where a
    value exactly between two centroids goes ("lower" as argmin does, "upper"); ``init``: "linear"
    or "density" (quantiles); ``centre``: where a centroid moves ("mean" of its members, or
    "median"). Stops when no assignment changes, or after ``rounds`` updates.
    """
    v = values.to(torch.float64).reshape(-1)
    if init == "linear":
        c = torch.linspace(v.min().item(), v.max().item(), k, dtype=torch.float64)
    else:
        c = torch.quantile(v, torch.linspace(0, 1, k, dtype=torch.float64))

    def assign(c: torch.Tensor) -> torch.Tensor:
        d = (v[:, None] - c[None, :]).abs()
        return d.argmin(1) if tie == "lower" else k - 1 - d.flip(1).argmin(1)

    a = assign(c)
    states = [(c, a)]
    for _ in range(rounds):
        counts = torch.bincount(a, minlength=k)
        sums = torch.zeros(k, dtype=torch.float64).index_add_(0, a, v)
        fill = {"keep": c, "zero": torch.zeros_like(c), "nan": torch.full_like(c, math.nan),
                "mean": torch.full_like(c, v.mean().item())}[empty]
        means = sums / counts.clamp(min=1)
        if centre == "median":
            means = torch.stack([v[a == j].median() if counts[j] else c[j] for j in range(k)])
        c = torch.where(counts > 0, means, fill)
        new = assign(c)
        states.append((c, new))
        if torch.equal(new, a):
            break
        a = new
    return states


def _matches(c: torch.Tensor, a: torch.Tensor, values: torch.Tensor, want_c: torch.Tensor, want_a: torch.Tensor,
             exact: bool) -> bool:
    """Same centroids (to rounding) and every value on a centroid as near as the reference's."""
    if c.numel() != want_c.numel() or torch.isnan(want_c).any():
        return False
    c, want_c = c.to(torch.float64), want_c.to(torch.float64)
    tol = 1e-5 * max(1.0, values.abs().max().item())
    if not torch.allclose(c, want_c, atol=tol, rtol=0):
        return False
    if exact:
        return torch.equal(a, want_a)
    v = values.to(torch.float64)
    return bool(torch.allclose((v - c[a]).abs(), (v - want_c[want_a]).abs(), atol=tol, rtol=0))


def _nearest(values: torch.Tensor, c: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """True where the value sits on a nearest centroid (to rounding)."""
    v, c = values.to(torch.float64), c.to(torch.float64)
    d = (v[:, None] - c[None, :]).abs()
    tol = 1e-6 * max(1.0, values.abs().max().item())
    return d.gather(1, a[:, None]).squeeze(1) <= d.min(1).values + tol


def _kmeans_inputs(values: torch.Tensor, bits: int, what: str | None) -> str:
    return f"{what if what else 'values=' + show(values)}, bits={bits}"


def check_kmeans_codebook(fn: Callable) -> None:
    """``fn(values, bits)`` must return ``(centroids [2**bits], assignments)`` of 1-D k-means, linear init."""
    for values, bits, what, kind in _kmeans_cases():
        inputs = _kmeans_inputs(values, bits, what)
        shown = f"kmeans_codebook({inputs})"
        k = 2**bits
        lib = ref.kmeans_codebook(values, bits, init="linear") if kind != "slow" else None
        out = call_unchanged(fn, values, bits, exercise="kmeans_codebook")
        c, a = _kmeans_output(out, values, bits, shown)
        _check_kmeans_case(c, a, values, bits, k, kind, inputs, shown, lib)
    passed("kmeans_codebook: 2**bits centroids from linear init; Lloyd rounds until no assignment changes.")


def _kmeans_output(out: Any, values: torch.Tensor, bits: int, shown: str) -> tuple[torch.Tensor, torch.Tensor]:
    k = 2**bits
    if isinstance(out, torch.Tensor) or not isinstance(out, (tuple, list)) or len(out) != 2:
        got = "one tensor" if isinstance(out, torch.Tensor) else (
            f"{len(out)} things" if isinstance(out, (tuple, list)) else f"a {type(out).__name__}")
        fail(f"{shown} returned {got}; return two tensors: (centroids, assignments).")
    c, a = out
    if (isinstance(c, torch.Tensor) and isinstance(a, torch.Tensor) and not c.is_floating_point()
            and a.is_floating_point() and c.shape == values.shape and a.numel() == k):
        fail(f"{shown}: the two results are swapped. Return (centroids, assignments), centroids first.")
    if not isinstance(c, torch.Tensor) or not isinstance(a, torch.Tensor):
        fail(f"{shown} must return two tensors (centroids, assignments), got {type(c).__name__} and "
             f"{type(a).__name__}.")
    c = as_tensor(c, f"{shown}: the centroids", kind="float").reshape(-1)
    if c.numel() != k:
        if c.numel() == bits:
            fail(f"{shown} returned {bits} centroids: bits is the number of bits per index, so there are "
                 f"k = 2**bits = {k} clusters.")
        full_c, full_a = _lloyd(values, k)[-1]
        filled = torch.bincount(full_a, minlength=k) > 0
        if c.numel() == int(filled.sum()) and torch.allclose(c.double(), full_c[filled], atol=1e-5):
            fail(f"{shown} returned {c.numel()} centroids, expected k = 2**bits = {k}. Keep every centroid, "
                 "an empty cluster's too: it stays where it is.")
        fail(f"{shown} returned {c.numel()} centroids, expected k = 2**bits = {k}.")
    if torch.isnan(c).any():
        fail(f"{shown}: a centroid is NaN: an empty cluster's mean is 0/0. Keep an empty cluster's centroid "
             "where it is (torch.where(counts > 0, sums / counts.clamp(min=1), centroids)).")
    if a.is_floating_point() and a.shape == values.shape and torch.isin(a.detach(), c).all():
        fail(f"{shown}: the second result holds the shared values centroids[assignments]; return the "
             "assignments themselves, the integer cluster number of each value.")
    if a.is_floating_point():
        fail(f"{shown}: the assignments are floats ({a.dtype}); return integer cluster numbers, as argmin "
             "gives them (a LongTensor).")
    a = as_tensor(a, f"{shown}: the assignments", kind="int", shape=values.shape).to(torch.int64)
    if a.numel() and (a.min() < 0 or a.max() >= k):
        fail(f"{shown}: assignments must lie in [0, {k - 1}], got values from {int(a.min())} to {int(a.max())}.")
    return c, a


def _check_kmeans_case(c, a, values, bits, k, kind, inputs, shown, lib) -> None:
    states = _lloyd(values, k, rounds=2000 if kind == "slow" else ROUNDS)
    exact = kind == "exact"
    near = _nearest(values, c, a)
    if not near.all():
        for (c1, _), (_, a0) in zip(states[1:], states[:-1]):
            if _matches(c, a, values, c1, a0, exact):
                fail(f"{shown}: the assignments are those from before the last centroid update: some values are "
                     "not on their nearest centroid. Assign once more after the last update (or stop only when "
                     "no assignment changes), so the assignments match the centroids returned.")
        v, cd = values.to(torch.float64), c.to(torch.float64)
        if torch.all(a == a[0]):
            fail(f"{shown}: every value is assigned to cluster {int(a[0])}, but they are not all nearest to it. "
                 "Nearest means smallest distance: (values[:, None] - centroids[None, :]).abs().argmin(dim=1); "
                 "without .abs(), argmin picks the same centroid for every value.")
        if torch.equal(a, (v[:, None] - cd[None, :]).abs().argmax(1)):
            fail(f"{shown}: the assignments come from argmax, the farthest centroid. Use argmin: "
                 "(values[:, None] - centroids[None, :]).abs().argmin(dim=1).")
        order = torch.argsort(values, stable=True)
        if not torch.equal(order, torch.arange(values.numel())) and _nearest(values[order], c, a).all():
            fail(f"{shown}: the assignments follow the values in sorted order, not in the order given. "
                 "Return one cluster number per value, in the order of values (map them back after sorting).")
        i = int((~near).nonzero()[0])
        fail(f"{shown}: some values are not assigned to their nearest centroid (e.g. {values[i].item():.4g} "
             f"on {c[a[i]].item():.4g}). Assign with (values[:, None] - centroids[None, :]).abs().argmin(dim=1), "
             "after the last update.")
    accepted = [states[-1]] + ([(lib.centroids, lib.assignments)] if exact or kind == "float" else [])
    if kind == "slow":  # a cap slightly different from 300 rounds, or none, is fine here
        accepted = states[min(290, len(states) - 1):]
    if any(_matches(c, a, values, wc, wa, exact) for wc, wa in accepted):
        return
    _diagnose_kmeans(c, a, values, k, states, exact, inputs, shown)


def _diagnose_kmeans(c, a, values, k, states, exact, inputs, shown) -> None:
    if _matches(c, a, values, *states[0], exact) or torch.allclose(c.double(), states[0][0], atol=1e-6):
        fail(f"{shown}: the centroids were never updated: they are still the linear initialisation. "
             "In each round move every centroid to the mean of its members.")
    variants = [
        (dict(empty="zero"), "an empty cluster's centroid was reset to 0. A cluster with no members keeps "
                             "its centroid where it is: torch.where(counts > 0, sums / counts, centroids)."),
        (dict(tie="upper"), "a value exactly halfway between two centroids went to the upper one. Ties go to "
                            "the lower (first) centroid, as argmin does: use a strict < when you compare."),
        (dict(empty="mean"), "an empty cluster's centroid was moved to the mean of all values. A cluster with "
                             "no members keeps its centroid where it is."),
        (dict(centre="median"), "the centroids moved to the median of their members; k-means moves each to "
                                "the mean: sums / counts."),
        (dict(init="density"), "the centroids start at quantiles (density initialisation). This exercise uses "
                               "linear initialisation: torch.linspace(values.min(), values.max(), k)."),
    ]
    for kwargs, words in variants:
        if any(_matches(c, a, values, wc, wa, exact) for wc, wa in _lloyd(values, k, **kwargs)[-1:]):
            fail(f"{shown}: {words}")
    for t, (wc, wa) in enumerate(states[1:-1], start=1):
        if _matches(c, a, values, wc, wa, exact):
            fail(f"{shown}: you stopped after {t} round{'s' if t > 1 else ''}, before the assignments settled. "
                 f"Repeat update and assignment until no assignment changes (at most {ROUNDS} rounds).")
    want_c, want_a = states[-1]
    if torch.allclose(c.double(), want_c, atol=1e-5):
        fail(differs("kmeans_codebook", inputs, want_a, a, "assignments")
             + " The centroids are right; assign each value to its nearest centroid.")
    fail(differs("kmeans_codebook", inputs, want_c, c.double(), "centroids")
         + " Linear init, then Lloyd rounds until no assignment changes.")


# ----------------------------------------------------------------- codebook_for_layer


def _layer_cases() -> list[tuple[torch.Tensor, int, torch.Tensor | None, str | None]]:
    """``(weight, bits, mask or None, description)``, smallest first."""
    gen = torch.Generator().manual_seed(6)
    w = torch.randn(40, 30, generator=gen) * 0.1
    w[w.abs() < 0.08] = 0.0  # about 58% pruned
    n0 = int((w == 0).sum())
    conv = torch.randn(2, 1, 3, 3, generator=gen) * 0.2
    conv[conv.abs() < 0.15] = 0.0
    dense = torch.randn(12, 10, generator=gen) * 0.1
    t = torch.tensor
    return [
        (t([[0.5, 0.0, -0.25], [0.0, 1.0, -0.5]]), 1, None, None),
        (t([[0.375, 0.0, -0.5], [0.25, -0.125, 0.0], [0.0, 0.75, -0.25]]), 2, None, None),
        (conv, 2, None, f"a conv weight of shape (2, 1, 3, 3) with {int((conv == 0).sum())} pruned zeros"),
        (w, 2, None, f"a 40x30 weight matrix with {n0} pruned zeros"),
        (w, 3, None, f"a 40x30 weight matrix with {n0} pruned zeros"),
        # the mask decides: a kept weight that is exactly 0, and a pruned one that is not 0 (yet)
        (t([[0.5, 0.0, -0.25], [0.75, 1.0, -0.5]]), 1, t([[True, True, True], [False, True, True]]), None),
        (dense, 2, dense.abs() > 0.08, "a dense 12x10 weight and its pruning mask |w| > 0.08 (not applied yet)"),
    ]


def _takes_mask(fn: Callable) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return True
    if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in params):
        return True
    positional = [p for p in params if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                  inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3


def check_codebook_for_layer(fn: Callable) -> None:
    """``fn(weight, bits, mask=None)``: the layer's ``Codebook(centroids, index, mask)``, k-means over the kept
    weights (``mask``, by default ``weight != 0``); every weight outside the mask is pruned."""
    if not _takes_mask(fn):
        fail("codebook_for_layer takes three arguments: codebook_for_layer(weight, bits, mask=None). The third is "
             "the layer's pruning mask; without one, the kept weights are weight != 0.")
    for w, bits, mask, what in _layer_cases():
        inputs = f"{what if what else 'weight=' + show(w)}, bits={bits}"
        if mask is not None and what is None:
            inputs += f", mask={show(mask.int())}"
        shown = f"codebook_for_layer({inputs})"
        want = ref.codebook_for_layer(w, bits, mask=mask).weight()
        args = (w, bits) if mask is None else (w, bits, mask)
        cb = call_unchanged(fn, *args, exercise="codebook_for_layer")
        _check_layer_case(cb, w, bits, mask, inputs, shown, want)
    passed("codebook_for_layer clusters the kept weights (the mask, else weight != 0), 2**bits clusters.")


def _check_layer_case(cb, w, bits, given, inputs, shown, want) -> None:
    if not isinstance(cb, ref.Codebook):
        if isinstance(cb, torch.Tensor):
            fail(f"{shown} returned a tensor; return the layer's Codebook(centroids, index, mask). "
                 "Its .weight() is the tensor of shared weights.")
        fail(f"{shown} must return a Codebook(centroids, index, mask), got {type(cb).__name__}.")
    centroids = as_tensor(cb.centroids, f"{shown}: the codebook's centroids", kind="float").reshape(-1)
    index, mask = cb.index, cb.mask
    if not isinstance(index, torch.Tensor) or not isinstance(mask, torch.Tensor):
        fail(f"{shown}: index and mask must be tensors of the weight's shape {tuple(w.shape)}.")
    if index.shape != w.shape or mask.shape != w.shape:
        fail(f"{shown}: index and mask must have the weight's shape {tuple(w.shape)}, got {tuple(index.shape)} "
             f"and {tuple(mask.shape)}.")
    if index.dtype != torch.long:
        fail(f"{shown}: the index must be a LongTensor (dtype torch.long), got {index.dtype}.")
    if mask.dtype != torch.bool:
        fail(f"{shown}: the mask must be a BoolTensor (weight != 0, or the mask given), got {mask.dtype}.")
    index, mask = index.detach(), mask.detach()
    if centroids.numel() == 0 or index.min() < 0 or index.max() >= centroids.numel():
        fail(f"{shown}: index values must lie in [0, {centroids.numel() - 1}] for {centroids.numel()} centroids.")
    got = centroids[index] * mask
    kept = w != 0 if given is None else given
    if not torch.equal(mask, kept):
        _diagnose_mask(mask, kept, given, got, w, shown)
    k = centroids.numel()
    if k != 2**bits:
        other = round(math.log2(k)) if k > 0 and 2 ** round(math.log2(k)) == k else None
        which = f"the {other}-bit codebook" if other is not None else "not 2**bits"
        fail(f"{shown} has {k} centroids ({which}), expected 2**bits = {2**bits}: bits is ignored or changed. "
             "Pass bits on to kmeans_codebook.")
    if torch.allclose(got, want, atol=1e-5):
        return
    c_all, a_all = ref.kmeans_codebook(w.reshape(-1), bits)
    if torch.allclose(got, c_all[a_all].reshape(w.shape) * kept, atol=1e-5):
        fail(f"{shown}: the clusters were computed over the pruned zeros too. Pruned weights are not weights to "
             "share: cluster the kept weights only, or a centroid is wasted near 0.")
    if given is not None and bool((w != 0).any()):
        nonzero = ref.kmeans_codebook(w[w != 0], bits)
        if not torch.equal(w != 0, given) and (torch.allclose(torch.sort(centroids).values, nonzero.centroids,
                                                              atol=1e-5)):
            fail(f"{shown}: the centroids are those of weight[weight != 0], but the mask was given: the kept "
                 "weights are weight[mask], whatever their values.")
    c_ref = ref.kmeans_codebook(w[kept], bits).centroids
    if torch.allclose(torch.sort(centroids).values, torch.sort(c_ref).values, atol=1e-5):
        fail(f"{shown}: the centroids are right, but the index sends kept weights to the wrong ones. "
             "index[mask] = assignments, in the order of weight[mask].")
    fail(differs("codebook_for_layer", inputs, want, got, "shared weights")
         + " Expected k-means over the kept weights, written back at the kept positions.")


def _diagnose_mask(mask, kept, given, got, w, shown) -> None:
    """The codebook's mask differs from the kept weights (``kept``): name how."""
    nonzero = w != 0
    if given is not None:
        if torch.equal(mask, nonzero):
            fail(f"{shown}: the codebook's mask is weight != 0, but a mask was given: use it. The pruning mask "
                 "decides which weights are kept, whatever their values; weight != 0 is only the default "
                 "(mask=None).")
        if torch.equal(mask, given & nonzero):
            fail(f"{shown}: kept weights that are exactly 0 were dropped (mask & (weight != 0)). The given mask "
                 "decides: a kept weight stays kept, even at 0.")
        if torch.equal(mask, given | nonzero):
            fail(f"{shown}: weights outside the given mask were kept (mask | (weight != 0)). Outside the mask "
                 "a weight is pruned, whatever its value.")
        if torch.equal(mask, ~given):
            fail(f"{shown}: the mask is inverted: True must mark the kept weights.")
        n = int((mask != kept).sum())
        fail(f"{shown}: the codebook's mask must be the mask given; it differs at {n} of {w.numel()} positions.")
    if torch.equal(mask, w > 0):
        fail(f"{shown}: the mask is weight > 0, which drops the negative weights. The mask must be True at "
             "every kept weight, negative or positive: mask = weight != 0.")
    if torch.equal(mask, w < 0):
        fail(f"{shown}: the mask is weight < 0, which drops the positive weights. The mask must be True at "
             "every kept weight: mask = weight != 0.")
    if not torch.all(got[~kept] == 0):
        fail(f"{shown}: pruned weights came back non-zero: the mask is True at pruned zeros. The mask is "
             "True at the kept weights only: without a mask given, mask = weight != 0.")
    n = int((mask != kept).sum())
    fail(f"{shown}: the mask must be True at every kept weight and False at the pruned zeros "
         f"(mask = weight != 0); it differs at {n} of {w.numel()} positions.")


# ----------------------------------------------------------------- sharing_compression_rate


def _rate_variants(n: int, k: int, b: int) -> list[tuple[float, str]]:
    lg = math.log2(k)
    return [
        (n * b / (n * k + k * b), "each index takes log2(k) bits (math.log2(k)), not k bits."),
        (n * b / (n * math.log(k) + k * b), "math.log is the natural logarithm; an index takes log2(k) bits: "
                                            "math.log2(k)."),
        (n * b / (n * math.log10(k) + k * b), "math.log10 is the base-10 logarithm; an index takes log2(k) "
                                              "bits: math.log2(k)."),
        (b / lg, "the codebook is missing: add k * b bits for the k shared values."),
        ((n * lg + k * b) / (n * b), "upside down. The rate is original bits / compressed bits."),
        (n * b / (lg + k * b), "every one of the n weights needs an index: n * log2(k)."),
        (n * b / (n * lg + k), "each of the k shared values takes b bits: the codebook costs k * b bits."),
        (n * b / (n * lg + b), "the codebook holds k values of b bits each: k * b, not b."),
        (n * b / (n * lg) + k * b, "brackets: divide by the whole sum, n*b / (n*log2(k) + k*b)."),
        (b * lg + k * b, "brackets: n*b / n*log2(k) + k*b is read left to right; write n*b / (n*log2(k) + k*b)."),
        (n * b // (n * lg + k * b), "floor division (//) drops the fraction: use /."),
        (n * lg + k * b, "this is the compressed size in bits; the rate is the original n*b bits divided by it."),
        (n * b / (n * lg + k * 32), "the codebook's values take b bits each: k * b, not k * 32."),
        (n * 32 / (n * lg + k * b), "the original weights take b bits each: n * b, not n * 32."),
        (k * b / (k * math.log2(n) + n * b) if n > 0 else math.nan, "n and k are swapped: n weights, k clusters."),
    ]


def check_sharing_compression_rate(fn: Callable) -> None:
    """``fn(n, k, b)`` must return [DC] Eq. 1: ``n*b / (n*log2(k) + k*b)``."""
    for n, k, b in [(16, 4, 32), (1, 2, 32), (1000, 2, 32), (21_000, 64, 32), (500, 256, 16), (7, 8, 8)]:
        shown = f"sharing_compression_rate(n={n}, k={k}, b={b})"
        out = call_unchanged(fn, n, k, b, exercise="sharing_compression_rate")
        if type(out) is torch.Tensor and out.numel() == 1 and out.is_floating_point() and not out.requires_grad:
            out = out.item()  # a plain one-element tensor is a number too (no type is prescribed here)
        got = as_float(out, f"{shown}: the rate")
        want = ref.sharing_compression_rate(n, k, b)
        if math.isclose(got, want, rel_tol=1e-6):
            continue
        for value, words in _rate_variants(n, k, b):
            if math.isclose(got, value, rel_tol=1e-6):
                fail(f"{shown} = {got:.6g}: {words}")
        for digits in range(0, 4):
            if math.isclose(got, round(want, digits), rel_tol=1e-12) or got == math.floor(want):
                fail(f"{shown} = {got!r}: the rate was rounded; return it unrounded ({want!r}).")
        fail(mismatch("sharing_compression_rate", f"n={n}, k={k}, b={b}", want, got)
             + " [DC] Eq. 1: n*b / (n*log2(k) + k*b).")
    default = _default_b(fn)
    if default is not None and default != 32:
        fail(f"sharing_compression_rate has the default b={default!r}; the weights are 32-bit floats: b=32.")
    passed("sharing_compression_rate is [DC] Eq. 1; the paper's Fig. 3 example gives 3.2.")


def _default_b(fn: Callable) -> Any:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if len(params) < 3 or params[2].default is inspect.Parameter.empty:
        return None
    return params[2].default


# ----------------------------------------------------------------- centroid_gradient


def _gradient_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, str | None]]:
    """``(centroids, weight_grad, index, mask, description)``, smallest first."""
    t = torch.tensor
    small = [
        # cluster 1 has two kept members and a pruned one; cluster 3 is empty
        (t([-0.3, -0.1, 0.1, 0.4]), t([[0.5, 1.0, -0.25], [2.0, 4.0, 0.125]]),
         t([[0, 1, 1], [1, 0, 2]]), t([[True, True, True], [False, False, True]]), None),
        # index 0 at the pruned positions, as codebook_for_layer writes it
        (t([-0.2, 0.3]), t([[1.5, -0.5], [0.25, 3.0]]), t([[1, 0], [0, 1]]), t([[True, False], [True, True]]), None),
        # the middle cluster 1 is empty (its only member is pruned)
        (t([-0.2, 0.0, 0.3]), t([[1.5, -0.5], [0.25, 3.0]]), t([[2, 1], [0, 2]]), t([[True, False], [True, True]]),
         None),
    ]
    for seed in (0, 1, 2):
        gen = torch.Generator().manual_seed(seed)
        index = torch.randint(0, 4, (8, 6), generator=gen)
        mask = torch.rand(8, 6, generator=gen) < 0.6
        grad = torch.randn(8, 6, generator=gen)
        small.append((t([-0.3, -0.1, 0.1, 0.4]), grad, index, mask, "an 8x6 weight gradient, 4 centroids"))
    return small


def _codebook_text(cb: ref.Codebook) -> str:
    return f"codebook(centroids={show(cb.centroids)}, index={show(cb.index)}, mask={show(cb.mask.int())})"


def check_centroid_gradient(fn: Callable) -> None:
    """``fn(weight_grad, codebook)`` must return [DC] Eq. 3's ``dL/dC``: per cluster, the sum of its kept weights' gradients."""
    for centroids, grad, index, mask, what in _gradient_cases():
        cb = ref.Codebook(centroids, index, mask)
        k = cb.k
        inputs = what if what else f"weight_grad={show(grad)}, {_codebook_text(cb)}"
        shown = f"centroid_gradient({inputs})"
        want = ref.centroid_gradient(grad, cb)
        pristine = cb.clone()
        got = call_unchanged(fn, grad, cb, exercise="centroid_gradient", may_change=(1,))
        for field in ("centroids", "index", "mask"):
            after = getattr(cb, field)
            if not (isinstance(after, torch.Tensor) and after.dtype == getattr(pristine, field).dtype
                    and torch.equal(after, getattr(pristine, field))):
                fail(f"centroid_gradient changed codebook.{field} in place. It only computes the gradient; "
                     "the step (centroids - lr * gradient) is the optimizer's job. Leave the codebook as it is.")
        if isinstance(got, torch.Tensor) and got.shape == grad.shape and got.shape != (k,):
            fail(f"{shown} returned a tensor of the weight's shape; add up the gradients of each cluster into "
                 f"one gradient per centroid, a tensor of shape ({k},).")
        if isinstance(got, torch.Tensor) and got.shape != (k,) and got.numel() == k:
            fail(f"{shown} returned shape {tuple(got.shape)}; return one gradient per centroid, shape ({k},).")
        if isinstance(got, torch.Tensor) and got.dim() == 1 and got.numel() < k:
            _diagnose_dropped_clusters(got, want, index, mask, k, shown)
        g = as_tensor(got, f"The value returned by {shown}", kind="float", shape=(k,)).to(torch.float64)
        w = want.to(torch.float64)
        if torch.allclose(g, w, atol=1e-6):
            continue
        _diagnose_gradient(g, w, grad.to(torch.float64), index, mask, k, inputs, shown)
    passed("centroid_gradient sums each cluster's gradients over the kept weights only (Eq. 3).")


def _diagnose_dropped_clusters(got, want, index, mask, k, shown) -> None:
    """Fewer than ``k`` gradients came back: name the empty clusters that were dropped."""
    filled = torch.bincount(index[mask], minlength=k) > 0
    g, w = got.detach().to(torch.float64), want.to(torch.float64)
    empty = [int(j) for j in (~filled).nonzero().flatten()]
    n = g.numel()
    if n == int(filled.sum()) and torch.allclose(g, w[filled], atol=1e-6):
        why = (" (torch.bincount stops at the largest index it sees: pass minlength=codebook.k)"
               if not filled[n:].any() else "")
        fail(f"{shown} returned {n} gradients for {k} centroids: the empty clusters {empty} were left "
             f"out{why}. Every centroid gets a gradient, an empty cluster's is 0: shape ({k},).")


def _diagnose_gradient(g, want, grad, index, mask, k, inputs, shown) -> None:
    def close(x: torch.Tensor) -> bool:
        return bool(torch.allclose(g, x, atol=1e-6, equal_nan=True))

    if torch.all(g == 0):
        fail(f"{shown} returned zeros: the gradients were never added up. Add each kept weight's gradient "
             "to its cluster's entry (index_add_ or bincount with weights).")
    counts = torch.bincount(index[mask], minlength=k).to(torch.float64)
    all_counts = torch.bincount(index.reshape(-1), minlength=k).to(torch.float64)
    averages = [want / counts.clamp(min=1), want / counts, want / (counts + 1), want / max(1, int(mask.sum())),
                want / grad.numel()]
    filled = counts > 0
    if any(close(x) for x in averages) or (filled.any() and torch.allclose(g[filled], want[filled] / counts[filled],
                                                                             atol=1e-6)):
        fail(f"{shown}: you averaged the gradients of each cluster. [DC] Eq. 3 sums them: "
             "dL/dC_k = sum of dL/dW_ij over the kept weights with I_ij = k (index_add_ or bincount with weights).")
    with_pruned = torch.zeros(k, dtype=torch.float64).index_add_(0, index.reshape(-1), grad.reshape(-1))
    if close(with_pruned) or close(with_pruned / all_counts.clamp(min=1)):
        fail(f"{shown}: the gradients of pruned weights were counted. Pruned weights belong to no cluster: "
             "use codebook.index[codebook.mask] and weight_grad[codebook.mask].")
    if close(-want):
        fail(f"{shown}: the sign is flipped. dL/dC_k is the sum of the dL/dW_ij themselves; the step "
             "(centroids - lr * gradient) comes later, in the optimizer.")
    last = torch.zeros(k, dtype=torch.float64).index_put_((index[mask],), grad[mask])
    if close(last) and not close(want):
        fail(f"{shown}: only one gradient per cluster was kept: out[idx] = g and out[idx] += g (and scatter_) do "
             "not add up repeated indices. Use index_add_ (or scatter_add_, bincount with weights).")
    absolute = torch.zeros(k, dtype=torch.float64).index_add_(0, index[mask], grad[mask].abs())
    if close(absolute):
        fail(f"{shown}: you summed the absolute values of the gradients; sum the gradients themselves, "
             "with their signs.")
    if close(counts):
        fail(f"{shown} returned the number of members of each cluster; add up their gradients "
             "(index_add_ with weight_grad[mask], or bincount with weights=).")
    fail(differs("centroid_gradient", inputs, want, g) + " Eq. 3: per cluster, the sum of its kept weights' gradients.")


# ----------------------------------------------------------------- centroid_gradient_autograd


class _TinyNet(nn.Module):
    """fc1, ReLU, fc2: small enough to show a failing case in one line."""

    def __init__(self, sizes: tuple[int, int, int]):
        super().__init__()
        self.fc1 = nn.Linear(sizes[0], sizes[1])
        self.fc2 = nn.Linear(sizes[1], sizes[2])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


class _TinyConv(nn.Module):
    """conv1 (3x3, 2 channels), ReLU, fc1 to 3 classes, on 6x6 images."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3)
        self.fc1 = nn.Linear(2 * 4 * 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc1(torch.relu(self.conv1(x)).flatten(1))


def _autograd_cases() -> list[tuple[nn.Module, str, ref.Codebook, torch.Tensor, torch.Tensor, str]]:
    """``(model, layer name, codebook, x, y, description)``, smallest first. Each model's own weight
    differs from the codebook's ``W``, so a gradient taken at the wrong weight shows."""
    t = torch.tensor
    with torch.random.fork_rng(devices=[]):  # the learner's random state stays as it was
        torch.manual_seed(0)
        tiny = _TinyNet((4, 3, 3))
        torch.manual_seed(1)
        conv = _TinyConv()
        torch.manual_seed(2)
        lenet = LeNet300100()
    gen = torch.Generator().manual_seed(1)
    x4 = torch.randn(5, 4, generator=gen)
    y4 = t([0, 2, 1, 2, 0])
    # fc2 is 3x3: cluster 2 of 4 is empty, two weights pruned
    cb_fc2 = ref.Codebook(t([-0.5, -0.125, 0.25, 0.75]), t([[0, 1, 3], [3, 0, 1], [1, 3, 0]]),
                          t([[True, True, True], [True, False, True], [True, True, False]]))
    cb_fc1 = ref.Codebook(t([-0.375, 0.5]), torch.randint(0, 2, (3, 4), generator=gen),
                          torch.rand(3, 4, generator=gen) < 0.7)
    x6 = torch.randn(4, 1, 6, 6, generator=gen)
    y6 = t([1, 0, 2, 1])
    cb_conv = ref.Codebook(t([-0.25, -0.0625, 0.125, 0.375]), torch.randint(0, 4, (2, 1, 3, 3), generator=gen),
                           torch.rand(2, 1, 3, 3, generator=gen) < 0.6)
    with torch.no_grad():  # a real layer too
        w = lenet.fc2.weight * (torch.rand(lenet.fc2.weight.shape, generator=gen) < 0.3)
    cb_lenet = ref.codebook_for_layer(w, 3)
    x28 = torch.randn(16, 1, 28, 28, generator=gen)
    y28 = torch.randint(0, 10, (16,), generator=gen)
    net = "a net 4 -> fc1 -> 3 -> ReLU -> fc2 -> 3"
    return [
        (tiny, "fc2", cb_fc2, x4, y4, f"{net}, layer 'fc2' (3x3), 4 centroids, cluster 2 empty, 5 inputs"),
        (tiny, "fc1", cb_fc1, x4, y4, f"{net}, layer 'fc1' (3x4), 2 centroids, 5 inputs"),
        (conv, "conv1", cb_conv, x6, y6, "a net conv1 (2 filters 3x3) -> ReLU -> fc1, layer 'conv1', 4 centroids"),
        (lenet, "fc2", cb_lenet, x28, y28, "LeNet-300-100 (random weights), layer 'fc2', 8 centroids, 16 images"),
    ]


def _gradient_of(model: nn.Module, name: str, weight: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                 loss: str = "mean") -> torch.Tensor:
    """``dL/dW`` at ``weight`` for the layer ``name`` (``loss``: "mean", "sum", "nll", "softmax")."""
    w = weight.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = torch.func.functional_call(model, {f"{name}.weight": w}, (x,))
        if loss == "nll":
            value = F.nll_loss(logits, y)
        elif loss == "softmax":
            value = F.cross_entropy(torch.softmax(logits, 1), y)
        else:
            value = F.cross_entropy(logits, y, reduction=loss)
        (grad,) = torch.autograd.grad(value, w)
    return grad


def _autograd_text(fn: Callable, exc: BaseException) -> str | None:
    """A message for the autograd errors a learner meets, or None."""
    text = str(exc)
    if "does not require grad" in text:
        return ("autograd found nothing to differentiate: C does not require grad. Make C a leaf that does, "
                "C = codebook.centroids.detach().clone().requires_grad_(True), build W from C, and keep "
                "the forward pass out of torch.no_grad().")
    if "leaf Variable that requires grad" in text:
        return ("an in-place change of the leaf C: build W = C[codebook.index] * codebook.mask as a new "
                "tensor, and leave C as it is.")
    return None


def _call_autograd(fn: Callable, args: tuple, shown: str) -> Any:
    try:
        return call_unchanged(fn, *args, exercise="centroid_gradient_autograd", may_change=(0, 2))
    except CheckFailed as exc:
        cause = exc.__cause__
        words = _autograd_text(fn, cause) if isinstance(cause, RuntimeError) else None
        if words is None:
            raise
        fail(f"{shown} raised RuntimeError: {words}")


def check_centroid_gradient_autograd(fn: Callable) -> None:
    """``fn(model, layer_name, codebook, x, y)`` must return ``dL/dC`` ([DC] Eq. 3) by autograd through
    ``W = C[I] * mask``, for ``L = cross_entropy(model(x), y)``, changing neither the model nor the codebook."""
    for model, name, cb, x, y, what in _autograd_cases():
        k = cb.k
        shown = f"centroid_gradient_autograd({what})"
        want = ref.centroid_gradient_autograd(model, name, cb, x, y).to(torch.float64)
        model_before = {key: v.detach().clone() for key, v in model.state_dict().items()}
        pristine = cb.clone()
        got = _call_autograd(fn, (model, name, cb, x, y), shown)
        _autograd_arguments_unchanged(model, model_before, cb, pristine, shown)
        weight = prunable_layers(model)[name].weight
        if got is None:
            fail(f"{shown} returned None: no gradient reached C. C must be a leaf tensor with requires_grad "
                 "(codebook.centroids.detach().clone().requires_grad_(True)), W must be computed from C, and the "
                 "forward pass must use W, not the layer's own weight.")
        if isinstance(got, torch.Tensor) and got.shape == weight.shape and got.shape != (k,):
            fail(f"{shown} returned a tensor of the weight's shape {tuple(weight.shape)}, dL/dW; return C.grad, "
                 f"one gradient per centroid, shape ({k},).")
        if isinstance(got, torch.Tensor) and got.shape != (k,) and got.numel() == k:
            fail(f"{shown} returned shape {tuple(got.shape)}; return C.grad, one gradient per centroid, "
                 f"shape ({k},).")
        if (isinstance(got, torch.Tensor) and got.shape == (k,) and got.is_floating_point()
                and torch.allclose(got.detach().to(torch.float64), cb.centroids.to(torch.float64))):
            fail(f"{shown} returned the centroids C themselves; return their gradient, C.grad, after the "
                 "backward pass.")
        g = as_tensor(got, f"The value returned by {shown}", kind="float", shape=(k,)).to(torch.float64)
        if torch.allclose(g, want, atol=1e-6, rtol=1e-4):
            continue
        _diagnose_autograd(g, want, model, name, cb, x, y, what, shown)
    passed("centroid_gradient_autograd: autograd through W = C[I] * mask sums each cluster (Eq. 3).")


def _autograd_arguments_unchanged(model, model_before, cb, pristine, shown) -> None:
    after = model.state_dict()
    if after.keys() != model_before.keys() or any(
            not torch.equal(after[key].detach(), model_before[key]) for key in model_before):
        fail(f"{shown} changed the model's weights. Run the model with W in place of the layer's weight without "
             "writing it in: torch.func.functional_call(model, {layer_name + '.weight': W}, (x,)), or a copy.")
    for field in ("centroids", "index", "mask"):
        now = getattr(cb, field)
        if not (isinstance(now, torch.Tensor) and now.dtype == getattr(pristine, field).dtype
                and torch.equal(now.detach(), getattr(pristine, field))):
            fail(f"{shown} changed codebook.{field} in place. It only computes the gradient; leave the "
                 "codebook as it is.")
    if cb.centroids.requires_grad or cb.centroids.grad is not None:
        fail(f"{shown} set requires_grad on codebook.centroids itself, so the codebook now collects gradients "
             "(and a second call adds to the first). Work on a copy: "
             "C = codebook.centroids.detach().clone().requires_grad_(True).")


def _diagnose_autograd(g, want, model, name, cb, x, y, what, shown) -> None:
    def close(t: torch.Tensor) -> bool:
        return bool(torch.allclose(g, t.to(torch.float64), atol=1e-6, rtol=1e-4, equal_nan=True))

    shared = cb.weight()
    eq3 = functools.partial(ref.centroid_gradient, codebook=cb)
    if torch.all(g == 0):
        fail(f"{shown} returned zeros: the gradient never reached C (was it zeroed, or taken before "
             "backward?). Return C.grad after loss.backward(), or torch.autograd.grad(loss, C).")
    if close(-want):
        fail(f"{shown}: the sign is flipped. Return dL/dC itself; the step (C - lr * gradient) is the optimizer's.")
    if close(want * x.shape[0]):
        fail(f"{shown}: the loss is the sum over the batch; use the mean, F.cross_entropy(logits, y) "
             "with its default reduction.")
    unmasked = ref.Codebook(cb.centroids, cb.index, torch.ones_like(cb.mask))
    if close(ref.centroid_gradient(_gradient_of(model, name, unmasked.weight(), x, y), unmasked)):
        fail(f"{shown}: the mask is missing: W = C[index] puts a centroid at every pruned position too. "
             "Multiply by the mask: W = C[codebook.index] * codebook.mask.")
    own = prunable_layers(model)[name].weight
    if close(eq3(_gradient_of(model, name, own, x, y))):
        fail(f"{shown}: the gradient was taken at the layer's own weight, not at W = C[I] * mask. Run the "
             "forward pass with W in the layer's place (torch.func.functional_call).")
    counts = torch.bincount(cb.index[cb.mask], minlength=cb.k).to(torch.float64)
    if close(want / counts.clamp(min=1)):
        fail(f"{shown}: the gradients were averaged over each cluster. Autograd through C[I] sums them, as "
             "[DC] Eq. 3 does: return C.grad as it is.")
    for loss, words in (("nll", "F.nll_loss on the logits is not the cross-entropy (it expects log-probabilities): "
                                "use F.cross_entropy(logits, y)."),
                        ("softmax", "a softmax before F.cross_entropy applies it twice: F.cross_entropy takes the "
                                    "logits, model(x) as it is.")):
        if close(eq3(_gradient_of(model, name, shared, x, y, loss=loss))):
            fail(f"{shown}: {words}")
    fail(differs("centroid_gradient_autograd", what, want, g)
         + " Expected dL/dC for L = F.cross_entropy(model(x), y), with W = C[I] * mask in the layer.")


__all__ = ["check_kmeans_codebook", "check_codebook_for_layer", "check_sharing_compression_rate",
           "check_centroid_gradient", "check_centroid_gradient_autograd"]
