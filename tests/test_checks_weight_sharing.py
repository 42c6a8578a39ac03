"""The checks of notebook 05 (weight sharing) pass the right answers and name the typical mistakes.

Each exercise gets: the library's function and other correct solutions (they must pass), and
typical wrong solutions (each must fail with a message that names its mistake, in lines of at
most 100 characters).
"""

import math
import warnings
from typing import NamedTuple

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib import weight_sharing as ws
from course_lib.course.checks import weight_sharing as cw
from check_helpers import named, passes
from course_lib.course.checks.core import CheckFailed


# ----------------------------------------------------------------- notebook 05: kmeans_codebook


def _kmeans(rounds=None, k_of=lambda b: 2**b, nan_empty=False, init="linear"):
    def kmeans_codebook(values, bits):
        k = k_of(bits)
        c = torch.linspace(values.min().item(), values.max().item(), k) if init == "linear" else \
            ws.init_centroids(values, k, init)
        a = (values[:, None] - c[None, :]).abs().argmin(1)
        for _ in range(300 if rounds is None else rounds):
            for j in range(k):
                members = values[a == j]
                if members.numel() or nan_empty:
                    c[j] = members.mean()
            new = (values[:, None] - c[None, :]).abs().argmin(1)
            if torch.equal(new, a):
                break
            a = new
        return c, a

    return kmeans_codebook


def kmeans_notebook(values, bits, empty="keep", final=True, tie="lower", rounds=300, sub_=False):
    """The notebook's solution, and its typical slips."""
    k = 2**bits
    centroids = torch.linspace(values.min().item(), values.max().item(), k)

    def assign(c):
        d = (values[:, None] - c[None, :]).abs()
        return d.argmin(dim=1) if tie == "lower" else k - 1 - d.flip(1).argmin(dim=1)

    assignments = assign(centroids)
    for _ in range(rounds):
        if not final:
            assignments = assign(centroids)
        counts = torch.bincount(assignments, minlength=k)
        sums = torch.zeros(k).index_add_(0, assignments, values)
        fill = {"keep": centroids, "zero": torch.zeros(k), "mean": torch.full((k,), values.mean().item())}[empty]
        if sub_:  # moves the centroids in place by their distance to the means
            centroids.sub_(torch.where(counts > 0, centroids - sums / counts.clamp(min=1), torch.zeros(k)))
        else:
            centroids = torch.where(counts > 0, sums / counts.clamp(min=1), fill)
        if final:
            new_assignments = assign(centroids)
            if torch.equal(new_assignments, assignments):
                break
            assignments = new_assignments
    return centroids, assignments


def kmeans_until_converged(values, bits):
    """No round cap: runs until no assignment changes (more than 300 rounds on the slow case)."""
    k = 2**bits
    c = torch.linspace(values.min().item(), values.max().item(), k, dtype=torch.float64)
    v = values.double()
    a = None
    while True:
        new = (v[:, None] - c[None, :]).abs().argmin(1)
        if a is not None and torch.equal(new, a):
            return c.float(), a
        a = new
        counts = torch.bincount(a, minlength=k)
        c = torch.where(counts > 0, torch.zeros(k, dtype=torch.float64).index_add_(0, a, v) / counts.clamp(min=1), c)


def kmeans_sorted_loops(values, bits):
    """Loops over the clusters, assignment by bucketize on the midpoints (ties to the lower centroid)."""
    k = 2**bits
    c = [values.min().item() + (values.max().item() - values.min().item()) * j / (k - 1) for j in range(k)]
    c = torch.tensor(c, dtype=torch.float64)
    v = values.double()
    a = torch.bucketize(v, (c[1:] + c[:-1]) / 2)
    for _ in range(300):
        for j in range(k):
            if (a == j).any():
                c[j] = v[a == j].mean()
        new = torch.bucketize(v, (c[1:] + c[:-1]) / 2)
        if torch.equal(new, a):
            break
        a = new
    return c, a.int()


class KM(NamedTuple):
    centroids: torch.Tensor
    assignments: torch.Tensor


@pytest.mark.parametrize("fn", [_kmeans(), ws.kmeans_codebook, kmeans_notebook, kmeans_until_converged,
                                kmeans_sorted_loops, lambda v, b: KM(*kmeans_notebook(v, b)),
                                lambda v, b: list(kmeans_notebook(v, b, rounds=301))])
def test_kmeans_right_answers_pass(fn, capsys):
    passes(cw.check_kmeans_codebook, fn, capsys)


def kmeans_without_abs(values, bits):
    k = 2**bits
    c = torch.linspace(values.min().item(), values.max().item(), k)
    a = (values[:, None] - c[None, :]).argmin(1)
    for _ in range(300):
        counts = torch.bincount(a, minlength=k)
        c = torch.where(counts > 0, torch.zeros(k).index_add_(0, a, values) / counts.clamp(min=1), c)
        new = (values[:, None] - c[None, :]).argmin(1)
        if torch.equal(new, a):
            break
        a = new
    return c, a


def kmeans_median(values, bits):
    k = 2**bits
    c = torch.linspace(values.min().item(), values.max().item(), k)
    a = (values[:, None] - c[None, :]).abs().argmin(1)
    for _ in range(300):
        c = torch.stack([values[a == j].median() if (a == j).any() else c[j] for j in range(k)])
        new = (values[:, None] - c[None, :]).abs().argmin(1)
        if torch.equal(new, a):
            break
        a = new
    return c, a


def kmeans_argmax(values, bits):
    c, a = kmeans_notebook(values, bits)
    return c, (values[:, None] - c[None, :]).abs().argmax(1)


def kmeans_sorted_order(values, bits):
    ordered = values.sort().values
    return kmeans_notebook(ordered, bits)


def kmeans_one_stale_value(values, bits):
    c, a = kmeans_notebook(values, bits)
    a = a.clone()
    a[values.argmax()] = 0
    return c, a


def kmeans_sorts_values_in_place(values, bits):
    values.copy_(values.sort().values)
    return kmeans_notebook(values, bits)


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (_kmeans(rounds=0), ["never updated"]),
        (_kmeans(k_of=lambda b: b), ["returned 1 centroids", "k = 2**bits = 2"]),
        (_kmeans(nan_empty=True), ["NaN"]),
        (_kmeans(init="density"), ["density initialisation"]),
        (lambda v, b: (torch.linspace(v.min().item(), v.max().item(), 2**b), torch.zeros(v.shape, dtype=torch.long)),
         ["every value is assigned to cluster 0", "not all nearest to it"]),
        (kmeans_without_abs, ["every value is assigned to cluster 1", "without .abs()"]),
        (kmeans_argmax, ["argmax, the farthest centroid"]),
        (kmeans_sorted_order, ["sorted order", "map them back"]),
        (lambda v, b: (kmeans_notebook(v, b)[0], kmeans_notebook(v, b)[0][kmeans_notebook(v, b)[1]]),
         ["shared values centroids[assignments]"]),
        (kmeans_one_stale_value, ["not assigned to their nearest centroid", "e.g. 4 on 1"]),
        (lambda v, b: kmeans_notebook(v, b, empty="zero"), ["reset to 0", "keeps its centroid"]),
        (lambda v, b: kmeans_notebook(v, b, empty="mean"), ["mean of all values"]),
        (kmeans_median, ["median"]),
        (lambda v, b: kmeans_notebook(v, b, tie="upper"), ["halfway between two centroids", "lower"]),
        (lambda v, b: kmeans_notebook(v, b, final=False), ["before the last centroid update",
                                                           "Assign once more after the last update"]),
        (lambda v, b: kmeans_notebook(v, b, rounds=3), ["stopped after 3 rounds"]),
        (lambda v, b: kmeans_notebook(v, b, rounds=1), ["stopped after 1 round,"]),
        (kmeans_sorts_values_in_place, ["changed its argument `values` in place"]),
        (lambda v, b: (kmeans_notebook(v, b)[0], kmeans_notebook(v, b)[1].float()), ["assignments are floats"]),
        (lambda v, b: kmeans_notebook(v, b)[::-1], ["swapped"]),
        (lambda v, b: kmeans_notebook(v, b)[0], ["returned one tensor"]),
        (lambda v, b: (kmeans_notebook(v, b)[0].requires_grad_(), kmeans_notebook(v, b)[1]), ["autograd graph"]),
        (lambda v, b: (torch.unique(kmeans_notebook(v, b)[0]), kmeans_notebook(v, b)[1]),
         ["values=[0.5], bits=2", "returned 1 centroids"]),
        (lambda v, b: (kmeans_notebook(v, b)[0] + 0.5, kmeans_notebook(v, b)[1]),
         ["values=[0.0, 1.0, 2.0, 3.0, 4.0], bits=1", "expected [1.0, 3.5]", "returned centroids [1.5, 4.0]"]),
    ],
)
def test_kmeans_mistakes_are_named(wrong, phrases):
    named(cw.check_kmeans_codebook, wrong, *phrases)


def test_kmeans_sub_in_place_on_its_own_tensor_is_fine(capsys):
    # centroids.sub_ on the function's own tensor is no in-place change of an argument
    passes(cw.check_kmeans_codebook, lambda v, b: kmeans_notebook(v, b, sub_=True), capsys)


def test_kmeans_slow_case_needs_more_than_300_rounds():
    values = cw._slow_values()
    states = cw._lloyd(values, 2, rounds=2000)
    assert 320 < len(states) - 1 < 400
    assert torch.equal(ws.kmeans_codebook(values, 1).assignments, states[300][1])


# ----------------------------------------------------------------- codebook_for_layer


def _codebook(w, bits, given=None, mask_of=None, over_zeros=False):
    """The notebook's solution, and its slips: ``mask_of(w, given)`` replaces the mask rule."""
    kept = w != 0 if given is None else given
    mask = kept if mask_of is None else mask_of(w, given)
    c, a = ws.kmeans_codebook(w.reshape(-1) if over_zeros else w[kept], bits)
    index = torch.zeros(w.shape, dtype=torch.long)
    if over_zeros:
        index = a.reshape(w.shape)
    else:
        index[kept] = a
    return ws.Codebook(c, index, mask)


def codebook_two_arguments(weight, bits):
    return ws.codebook_for_layer(weight, bits)


def codebook_ignores_mask(weight, bits, mask=None):
    return ws.codebook_for_layer(weight, bits)


def codebook_nonzero_centroids(weight, bits, mask=None):
    """Takes the mask for the index but clusters weight[weight != 0]."""
    mask = weight != 0 if mask is None else mask
    centroids, _ = ws.kmeans_codebook(weight[weight != 0], bits)
    index = torch.zeros(weight.shape, dtype=torch.long)
    index[mask] = ws.assign_to_centroids(weight[mask], centroids)
    return ws.Codebook(centroids, index, mask)


def codebook_flat_index(weight, bits, mask=None):
    """Works on the flattened weight and never reshapes back."""
    flat = weight.flatten()
    mask = flat != 0 if mask is None else mask.flatten()
    centroids, assignments = ws.kmeans_codebook(flat[mask], bits)
    index = torch.zeros(flat.shape, dtype=torch.long)
    index[mask] = assignments
    return ws.Codebook(centroids, index, mask)


def codebook_positive_only(weight, bits, mask=None):
    mask = weight > 0
    centroids, assignments = ws.kmeans_codebook(weight[mask], bits)
    index = torch.zeros(weight.shape, dtype=torch.long)
    index[mask] = assignments
    return ws.Codebook(centroids, index, mask)


def codebook_shares_in_place(weight, bits, mask=None):
    mask = weight != 0
    centroids, assignments = ws.kmeans_codebook(weight[mask], bits)
    weight[mask] = centroids[assignments]
    index = torch.zeros(weight.shape, dtype=torch.long)
    index[mask] = assignments
    return ws.Codebook(centroids, index, mask)


def codebook_writes_shared_back(weight, bits, mask=None):
    cb = ws.codebook_for_layer(weight, bits, mask)
    weight.copy_(cb.weight())
    return cb


def codebook_alternative(weight, bits, mask=None):
    mask = weight.abs() > 0 if mask is None else mask.clone()
    kept = torch.masked_select(weight, mask)
    centroids, assignments = ws.kmeans_codebook(kept, bits)
    index = torch.zeros_like(weight, dtype=torch.long).masked_scatter_(mask, assignments)
    return ws.Codebook(centroids.clone(), index, mask)


def codebook_if_else(weight, bits, mask=None):
    if mask is None:
        mask = weight != 0
    values = weight[mask]
    centroids, assignments = ws.kmeans_codebook(values, bits)
    index = torch.zeros_like(weight, dtype=torch.long)
    index[mask] = assignments
    return ws.Codebook(centroids, index, mask)


@pytest.mark.parametrize("fn", [_codebook, ws.codebook_for_layer, codebook_alternative, codebook_if_else,
                                lambda w, b, m=None: ws.codebook_for_layer(w, b, m, init="linear"),
                                lambda *args: ws.codebook_for_layer(*args)])
def test_codebook_for_layer_right_answers_pass(fn, capsys):
    passes(cw.check_codebook_for_layer, fn, capsys)


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (lambda w, b, m=None: _codebook(w, b, m, over_zeros=True), ["over the pruned zeros"]),
        (lambda w, b, m=None: _codebook(w, b, m, mask_of=lambda w, g: torch.ones_like(w, dtype=torch.bool)),
         ["pruned weights came back non-zero"]),
        (lambda w, b, m=None: _codebook(w, b, m, mask_of=lambda w, g: w > 0),
         ["weight > 0", "drops the negative weights"]),
        (codebook_positive_only, ["weight > 0", "drops the negative weights"]),
        (lambda w, b, m=None: _codebook(w, b, m, mask_of=lambda w, g: w < 0),
         ["weight < 0", "drops the positive weights"]),
        (lambda w, b, m=None: _codebook(w, 6, m), ["the 6-bit codebook", "bits is ignored"]),
        (lambda w, b, m=None: _codebook(w, 1, m) if b == 3 else _codebook(w, b, m), ["the 1-bit codebook"]),
        (lambda w, b, m=None: _codebook(w, b, m).weight(), ["returned a tensor"]),
        (lambda w, b, m=None: torch.zeros(4, dtype=torch.long), ["returned a tensor"]),
        (lambda w, b, m=None: (_codebook(w, b, m).centroids, _codebook(w, b, m).index), ["must return a Codebook"]),
        (lambda w, b, m=None: ws.Codebook(torch.zeros(4), torch.zeros(3, dtype=torch.long),
                                          torch.ones(3, dtype=torch.bool)), ["the weight's shape"]),
        (lambda w, b, m=None: ws.Codebook(torch.zeros(4), torch.zeros(w.shape), w != 0), ["LongTensor"]),
        (codebook_shares_in_place, ["changed its argument `weight` in place"]),
        (codebook_writes_shared_back, ["changed its argument `weight` in place"]),
        (lambda w, b, m=None: ws.Codebook(ws.codebook_for_layer(w, b, m).centroids.flip(0),
                                          ws.codebook_for_layer(w, b, m).index, ws.codebook_for_layer(w, b, m).mask),
         ["index sends kept weights to the wrong ones"]),
        (lambda w, b, m=None: ws.codebook_for_layer(w, b, m, init="density"),
         ["conv weight of shape (2, 1, 3, 3)", "returned shared weights"]),
        # the mask argument
        (codebook_two_arguments, ["takes three arguments", "mask=None"]),
        (codebook_ignores_mask, ["mask is weight != 0, but a mask was given", "mask=[[1, 1, 1], [0, 1, 1]]"]),
        (lambda w, b, m=None: _codebook(w, b, m, mask_of=lambda w, g: w != 0 if g is None else g & (w != 0)),
         ["kept weights that are exactly 0 were dropped"]),
        (lambda w, b, m=None: _codebook(w, b, m, mask_of=lambda w, g: w != 0 if g is None else g | (w != 0)),
         ["weights outside the given mask were kept"]),
        (lambda w, b, m=None: _codebook(w, b, m, mask_of=lambda w, g: w != 0 if g is None else ~g),
         ["mask is inverted"]),
        (codebook_nonzero_centroids, ["centroids are those of weight[weight != 0]", "weight[mask]"]),
        (codebook_flat_index, ["must have the weight's shape (2, 3), got (6,)"]),
    ],
)
def test_codebook_for_layer_mistakes_are_named(wrong, phrases):
    named(cw.check_codebook_for_layer, wrong, *phrases)


# ----------------------------------------------------------------- sharing_compression_rate


class AgreeableFloat(float):
    def __eq__(self, other):
        return True

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__
    __hash__ = float.__hash__


@pytest.mark.parametrize("fn", [lambda n, k, b: n * b / (n * math.log2(k) + k * b), ws.sharing_compression_rate,
                                lambda n, k, b=32: np.float64(n * b) / (n * np.log2(k) + k * b),
                                lambda n, k, b=32: (n * b) / (n * (k.bit_length() - 1) + k * b),
                                lambda n, k, b=32: n * b / (n * torch.log2(torch.tensor(float(k))) + k * b)])
def test_sharing_compression_rate_right_answers_pass(fn, capsys):
    passes(cw.check_sharing_compression_rate, fn, capsys)


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (lambda n, k, b: n * b / (n * k + k * b), ["log2(k) bits"]),
        (lambda n, k, b: b / math.log2(k), ["codebook is missing"]),
        (lambda n, k, b: (n * math.log2(k) + k * b) / (n * b), ["upside down"]),
        (lambda n, k, b: n * b / (math.log2(k) + k * b), ["needs an index"]),
        (lambda n, k, b: n * b / (n * math.log(k) + k * b), ["natural logarithm"]),
        (lambda n, k, b: n * b / (n * math.log2(k) + k), ["k * b bits"]),
        (lambda n, k, b: n * b / n * math.log2(k) + k * b, ["brackets"]),
        (lambda n, k, b: n * b // (n * math.log2(k) + k * b), ["floor division"]),
        (lambda n, k, b: round(n * b / (n * math.log2(k) + k * b), 2), ["rounded"]),
        (lambda n, k, b: AgreeableFloat(1.0), ["subclass"]),
        (lambda n, k, b: torch.tensor([n * b / (n * math.log2(k) + k * b)] * 2), ["tensor of shape (2,)", ".item()"]),
        (lambda n, k, b: torch.tensor(float(n * b), requires_grad=True) / (n * math.log2(k) + k * b),
         ["tensor of shape ()", ".item()"]),
        (lambda n, k, b: k * b / (k * math.log2(n) + n * b) if n > 1 else 0.5, ["n and k are swapped"]),
        (lambda n, k, b=8: n * b / (n * math.log2(k) + k * b), ["default b=8"]),
        (lambda n, k, b: n * b / (n * math.log2(k) + k * b) * 1.01, ["n=16, k=4, b=32", "expected 3.2"]),
        (lambda n, k, b: n * math.log2(k) + k * b, ["compressed size in bits"]),
        (lambda n, k, b: n * b / (n * math.log2(k) + k * 32), ["k * b, not k * 32"]),
        (lambda n, k, b: n * 32 / (n * math.log2(k) + k * b), ["n * b, not n * 32"]),
    ],
)
def test_sharing_compression_rate_mistakes_are_named(wrong, phrases):
    named(cw.check_sharing_compression_rate, wrong, *phrases)


# ----------------------------------------------------------------- centroid_gradient


def _gradient(kind="right"):
    def centroid_gradient(weight_grad, codebook):
        if kind == "zeros":
            return torch.zeros(codebook.k)
        if kind == "weight shape":
            return weight_grad * codebook.mask
        m = torch.ones_like(codebook.mask) if kind == "pruned" else codebook.mask
        g = torch.zeros(codebook.k).index_add_(0, codebook.index[m], weight_grad[m])
        if kind == "mean":
            g = g / torch.bincount(codebook.index[m], minlength=codebook.k).clamp(min=1)
        if kind == "mean nan":
            g = g / torch.bincount(codebook.index[m], minlength=codebook.k)
        return -g if kind == "negated" else g

    return centroid_gradient


def gradient_plus_equals(weight_grad, codebook):
    out = torch.zeros(codebook.k)
    out[codebook.index[codebook.mask]] += weight_grad[codebook.mask]
    return out


def gradient_masks_in_place(weight_grad, codebook):
    weight_grad *= codebook.mask
    return torch.zeros(codebook.k).index_add_(0, codebook.index.flatten(), weight_grad.flatten())


def gradient_steps_centroids(weight_grad, codebook):
    g = ws.centroid_gradient(weight_grad, codebook)
    codebook.centroids.sub_(0.01 * g)
    return g


def gradient_index_reduce_mean(weight_grad, codebook):
    m = codebook.mask
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # index_reduce is "in beta"
        return torch.zeros(codebook.k).index_reduce_(0, codebook.index[m], weight_grad[m], "mean")


def gradient_loop(weight_grad, codebook):
    out = [0.0] * codebook.k
    for g, i, keep in zip(weight_grad.flatten().tolist(), codebook.index.flatten().tolist(),
                          codebook.mask.flatten().tolist()):
        if keep:
            out[i] += g
    return torch.tensor(out)


def gradient_present_clusters_only(weight_grad, codebook):
    """One entry per cluster that has members (empty ones dropped)."""
    idx = codebook.index[codebook.mask]
    present = torch.unique(idx)
    return torch.stack([weight_grad[codebook.mask][idx == j].sum() for j in present])


@pytest.mark.parametrize("fn", [_gradient(), ws.centroid_gradient, gradient_loop,
                                lambda g, cb: torch.bincount(cb.index[cb.mask], weights=g[cb.mask], minlength=cb.k),
                                lambda g, cb: torch.zeros(cb.k).index_add_(0, cb.index.flatten(),
                                                                           (g * cb.mask).flatten())])
def test_centroid_gradient_right_answers_pass(fn, capsys):
    passes(cw.check_centroid_gradient, fn, capsys)


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (_gradient("zeros"), ["never added up"]),
        (_gradient("mean"), ["averaged"]),
        (_gradient("mean nan"), ["averaged"]),
        (gradient_index_reduce_mean, ["averaged"]),
        (_gradient("pruned"), ["pruned weights were counted"]),
        (_gradient("negated"), ["sign is flipped"]),
        (_gradient("weight shape"), ["weight's shape"]),
        (gradient_masks_in_place, ["changed its argument `weight_grad` in place"]),
        (gradient_steps_centroids, ["changed codebook.centroids in place"]),
        (lambda g, cb: torch.zeros(cb.k).index_add_(0, cb.index[cb.mask], g[cb.mask].abs()), ["absolute values"]),
        (gradient_plus_equals, ["only one gradient per cluster", "index_add_"]),
        (lambda g, cb: torch.zeros(cb.k).scatter_(0, cb.index[cb.mask], g[cb.mask]), ["only one gradient"]),
        (lambda g, cb: torch.bincount(cb.index[cb.mask], minlength=cb.k).float(), ["number of members"]),
        (lambda g, cb: torch.bincount(cb.index[cb.mask], minlength=cb.k), ["dtype torch.int64", "float tensor"]),
        (lambda g, cb: ws.centroid_gradient(g, cb).tolist(), ["is a list", "torch.Tensor"]),
        (lambda g, cb: ws.centroid_gradient(g, cb)[None, :], ["shape (1, 4)"]),
        (lambda g, cb: ws.centroid_gradient(g, cb) * 2, ["weight_grad=[[0.5, 1.0, -0.25], [2.0, 4.0, 0.125]]",
                                                          "expected [0.5, 0.75, 0.125, 0.0]"]),
        (lambda g, cb: torch.bincount(cb.index[cb.mask], weights=g[cb.mask]),
         ["3 gradients for 4 centroids", "empty clusters [3] were left out", "minlength=codebook.k"]),
        (gradient_present_clusters_only, ["3 gradients for 4 centroids", "empty clusters [3] were left out"]),
        (lambda g, cb: gradient_present_clusters_only(g, cb) if cb.k == 3 else ws.centroid_gradient(g, cb),
         ["2 gradients for 3 centroids", "empty clusters [1] were left out", "an empty cluster's is 0"]),
    ],
)
def test_centroid_gradient_mistakes_are_named(wrong, phrases):
    named(cw.check_centroid_gradient, wrong, *phrases)


def test_checks_leave_no_state_behind(capsys):
    """Running a check twice (a learner reruns the cell) gives the same verdict."""
    for _ in range(2):
        passes(cw.check_kmeans_codebook, ws.kmeans_codebook, capsys)
    with pytest.raises(CheckFailed):
        cw.check_kmeans_codebook(lambda v, b: kmeans_notebook(v, b, final=False))


# ----------------------------------------------------------------- centroid_gradient_autograd


def _autograd(kind="right"):
    """The notebook's solution (``torch.func.functional_call``, ``loss.backward()``) and its slips."""

    def centroid_gradient_autograd(model, layer_name, codebook, x, y):
        if kind == "detached":
            C = codebook.centroids.detach()
        elif kind == "codebook leaf":
            C = codebook.centroids.requires_grad_(True)
        else:
            C = codebook.centroids.detach().clone().requires_grad_(True)
        mask = torch.ones_like(codebook.mask) if kind == "no mask" else codebook.mask
        W = C[codebook.index] * mask
        if kind == "weight grad":
            W.retain_grad()
        if kind == "no grad":
            with torch.no_grad():
                logits = torch.func.functional_call(model, {f"{layer_name}.weight": W}, (x,))
        else:
            logits = torch.func.functional_call(model, {f"{layer_name}.weight": W}, (x,))
        if kind == "sum":
            loss = F.cross_entropy(logits, y, reduction="sum")
        elif kind == "nll":
            loss = F.nll_loss(logits, y)
        elif kind == "softmax":
            loss = F.cross_entropy(torch.softmax(logits, dim=1), y)
        else:
            loss = F.cross_entropy(logits, y)
        loss.backward()
        if kind == "weight grad":
            return W.grad
        if kind == "mean":
            return C.grad / torch.bincount(codebook.index[codebook.mask], minlength=codebook.k).clamp(min=1)
        if kind == "negated":
            return -C.grad
        if kind == "centroids":
            return C
        if kind == "tuple":
            return C.grad, loss.item()
        return C.grad

    return centroid_gradient_autograd


def autograd_grad_api(model, layer_name, codebook, x, y):
    C = codebook.centroids.clone().requires_grad_()
    W = C[codebook.index] * codebook.mask
    loss = F.cross_entropy(torch.func.functional_call(model, {layer_name + ".weight": W}, (x,)), y)
    return torch.autograd.grad(loss, C)[0]


def autograd_model_copy(model, layer_name, codebook, x, y):
    """A copy of the model whose layer holds W as a plain tensor attribute."""
    import copy

    twin = copy.deepcopy(model)
    layer = dict(twin.named_modules())[layer_name]
    C = torch.tensor(codebook.centroids.tolist(), requires_grad=True)
    W = torch.zeros(codebook.index.shape)
    W[codebook.mask] = C[codebook.index[codebook.mask]]
    del layer.weight
    layer.weight = W
    F.cross_entropy(twin(x), y).backward()
    return C.grad


def autograd_by_hand(model, layer_name, codebook, x, y):
    """Eq. 3 by hand on a copy whose layer holds the shared weights: the same numbers."""
    import copy

    twin = copy.deepcopy(model)
    layer = dict(twin.named_modules())[layer_name]
    with torch.no_grad():
        layer.weight.copy_(codebook.weight())
    F.cross_entropy(twin(x), y).backward()
    return ws.centroid_gradient(layer.weight.grad, codebook)


def autograd_grad_api_detached(model, layer_name, codebook, x, y):
    C = codebook.centroids.detach()
    W = C[codebook.index] * codebook.mask
    loss = F.cross_entropy(torch.func.functional_call(model, {layer_name + ".weight": W}, (x,)), y)
    return torch.autograd.grad(loss, C)[0]


def autograd_writes_layer(model, layer_name, codebook, x, y):
    C = codebook.centroids.clone().requires_grad_()
    W = C[codebook.index] * codebook.mask
    with torch.no_grad():
        dict(model.named_modules())[layer_name].weight.copy_(W)
    F.cross_entropy(model(x), y).backward()
    return C.grad


def autograd_own_weight(model, layer_name, codebook, x, y):
    """Eq. 3 by hand, at the layer's own weight instead of W."""
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return ws.centroid_gradient(dict(model.named_modules())[layer_name].weight.grad, codebook)


def autograd_w_unused(model, layer_name, codebook, x, y):
    C = codebook.centroids.clone().requires_grad_()
    W = C[codebook.index] * codebook.mask  # built, then forgotten
    F.cross_entropy(model(x), y).backward()
    return C.grad


def autograd_create_graph(model, layer_name, codebook, x, y):
    C = codebook.centroids.clone().requires_grad_()
    W = C[codebook.index] * codebook.mask
    loss = F.cross_entropy(torch.func.functional_call(model, {layer_name + ".weight": W}, (x,)), y)
    return torch.autograd.grad(loss, C, create_graph=True)[0]


@pytest.mark.parametrize("fn", [_autograd(), ws.centroid_gradient_autograd, autograd_grad_api, autograd_model_copy,
                                autograd_by_hand, lambda *args: _autograd()(*args).clone()])
def test_centroid_gradient_autograd_right_answers_pass(fn, capsys):
    passes(cw.check_centroid_gradient_autograd, fn, capsys)


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (_autograd("detached"), ["returned None", "no gradient reached C", "requires_grad"]),
        (autograd_grad_api_detached, ["raised RuntimeError", "C does not require grad", "requires_grad_(True)"]),
        (_autograd("no grad"), ["raised RuntimeError", "torch.no_grad()"]),
        (autograd_w_unused, ["returned None", "the forward pass must use W"]),
        (_autograd("codebook leaf"), ["set requires_grad on codebook.centroids itself", "Work on a copy"]),
        (autograd_writes_layer, ["changed the model's weights", "functional_call"]),
        (_autograd("weight grad"), ["the weight's shape (3, 3)", "return C.grad"]),
        (_autograd("no mask"), ["the mask is missing", "W = C[codebook.index] * codebook.mask"]),
        (_autograd("sum"), ["sum over the batch", "use the mean"]),
        (_autograd("nll"), ["F.nll_loss"]),
        (_autograd("softmax"), ["softmax before F.cross_entropy"]),
        (_autograd("mean"), ["averaged over each cluster", "sums them"]),
        (autograd_own_weight, ["the layer's own weight, not at W"]),
        (_autograd("negated"), ["sign is flipped"]),
        (_autograd("centroids"), ["returned the centroids C themselves", "C.grad"]),
        (_autograd("tuple"), ["is a tuple", "torch.Tensor"]),
        (autograd_create_graph, ["autograd graph"]),
        (lambda *args: _autograd()(*args)[None], ["shape (1, 4)"]),
        (lambda m, n, cb, x, y: torch.zeros(cb.k), ["returned zeros"]),
        (lambda *args: _autograd()(*args) * 1.5, ["layer 'fc2' (3x3)", "cluster 2 empty", "expected [", "0.0"]),
    ],
)
def test_centroid_gradient_autograd_mistakes_are_named(wrong, phrases):
    named(cw.check_centroid_gradient_autograd, wrong, *phrases)


def test_centroid_gradient_autograd_check_leaves_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    cw._autograd_cases()
    assert torch.equal(torch.rand(3), expected)
