"""Checks for notebook 05: k-means weight sharing and trained centroids ([DC] §3, Eq. 1, Eq. 3).

The typical mistakes named: ``bits`` clusters instead of ``2**bits`` (bits ignored), centroids
never updated (the linear initialisation returned as is), an empty cluster turned into NaN,
values not assigned to their nearest centroid, clusters computed over the pruned zeros,
pruned weights that come back non-zero, ``k`` instead of ``log2(k)`` bits per index, a
missing codebook term, averaging instead of summing the gradients of a cluster (Eq. 3),
gradients of pruned weights counted, and a gradient with the wrong sign.

Each exercise is the library function of the same name: :func:`course_lib.weight_sharing.kmeans_codebook`
(linear initialisation, its default), :func:`~course_lib.weight_sharing.codebook_for_layer`,
:func:`~course_lib.weight_sharing.sharing_compression_rate` and
:func:`~course_lib.weight_sharing.centroid_gradient`.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from ... import weight_sharing as ref
from .core import call, fail, passed


def _kmeans_cases() -> list[tuple[torch.Tensor, int, str]]:
    gen = torch.Generator().manual_seed(5)
    normal = torch.randn(600, generator=gen) * 0.1
    outliers = torch.cat([torch.randn(300, generator=gen) * 0.05, torch.tensor([1.5, -1.2])])
    few = torch.tensor([0.5, -0.25, 0.5, 0.5, 1.0, -0.25])
    return [(normal, 2, "600 values ~ N(0, 0.1^2)"), (normal, 3, "the same values"),
            (outliers, 3, "values with two outliers (some clusters start empty)"),
            (few, 2, "6 values with 3 distinct ones")]


def _distortion(values: torch.Tensor, shared: torch.Tensor) -> float:
    return (values.to(torch.float64) - shared.to(torch.float64)).pow(2).mean().item()


def check_kmeans_codebook(fn: Callable) -> None:
    """``fn(values, bits)`` must return ``(centroids [2**bits], assignments)`` of 1-D k-means, linear init."""
    for values, bits, what in _kmeans_cases():
        k = 2**bits
        shown = f"kmeans_codebook({what}, bits={bits})"
        out = call(fn, values.clone(), bits, exercise="kmeans_codebook")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            fail(f"{shown} must return (centroids, assignments).")
        c, a = out
        if not isinstance(c, torch.Tensor) or not isinstance(a, torch.Tensor):
            fail(f"{shown} must return two tensors, got {type(c).__name__} and {type(a).__name__}.")
        c = c.reshape(-1)
        if c.numel() == bits and bits != k:
            fail(f"{shown} returned {bits} centroids: bits is the number of bits per index, so there are "
                 f"k = 2**bits = {k} clusters.")
        if c.numel() != k:
            fail(f"{shown} returned {c.numel()} centroids, expected k = 2**bits = {k}.")
        if torch.isnan(c).any():
            fail(f"{shown}: a centroid is NaN: an empty cluster's mean is 0/0. Keep an empty cluster's centroid where it is "
                 "(torch.where(counts > 0, sums / counts, centroids)).")
        if a.shape != values.shape or a.dtype in (torch.float16, torch.float32, torch.float64):
            fail(f"{shown}: assignments must be integer cluster numbers, one per value (shape {tuple(values.shape)}).")
        if a.min() < 0 or a.max() >= k:
            fail(f"{shown}: assignments must lie in [0, {k - 1}].")
        shared = c[a]
        nearest = c[(values[:, None] - c[None, :]).abs().argmin(1)]
        if not torch.allclose((values - shared).abs(), (values - nearest).abs(), atol=1e-6):
            fail(f"{shown}: some values are not assigned to their nearest centroid. Assign with "
                 "(values[:, None] - centroids[None, :]).abs().argmin(dim=1), after the last update.")
        want_c, want_a = ref.kmeans_codebook(values, bits, init="linear")
        want = want_c[want_a]
        if torch.allclose(shared, want, atol=1e-5):
            continue
        init = torch.linspace(values.min().item(), values.max().item(), k)
        init_shared = init[(values[:, None] - init[None, :]).abs().argmin(1)]
        if torch.allclose(shared, init_shared, atol=1e-6):
            fail(f"{shown}: the centroids were never updated: they are still the linear initialisation. "
                 "In each iteration move every centroid to the mean of its members.")
        if _distortion(values, shared) <= _distortion(values, want) * (1 + 1e-4):
            continue
        fail(f"{shown}: the clustering differs from 1-D k-means with linear init, run until no assignment "
             f"changes (mean squared error {_distortion(values, shared):.3g}, expected {_distortion(values, want):.3g}).")
    passed("kmeans_codebook: 2**bits centroids from linear init, each value on its nearest centroid, Lloyd updates.")


def check_codebook_for_layer(fn: Callable) -> None:
    """``fn(weight, bits)``: the layer's ``Codebook(centroids, index, mask)``, k-means over its kept (non-zero) weights."""
    gen = torch.Generator().manual_seed(6)
    w = torch.randn(40, 30, generator=gen) * 0.1
    w[w.abs() < 0.08] = 0.0  # about 58% pruned
    for bits in (2, 3):
        shown = f"codebook_for_layer(a 40x30 weight matrix with {int((w == 0).sum())} pruned zeros, bits={bits})"
        cb = call(fn, w.clone(), bits, exercise="codebook_for_layer")
        if not isinstance(cb, ref.Codebook):
            if isinstance(cb, torch.Tensor):
                fail(f"{shown} returned a tensor; return the layer's Codebook(centroids, index, mask). "
                     "Its .weight() is the tensor of shared weights.")
            fail(f"{shown} must return a Codebook(centroids, index, mask), got {type(cb).__name__}.")
        if cb.index.shape != w.shape:
            fail(f"{shown}: index and mask must have the weight's shape {tuple(w.shape)}, got {tuple(cb.index.shape)}.")
        got = cb.weight()
        mask = w != 0
        if not torch.all(got[~mask] == 0):
            fail(f"{shown}: pruned weights came back non-zero. The mask is True at the kept weights only: "
                 "mask = weight != 0.")
        if not torch.equal(cb.mask, mask):
            fail(f"{shown}: the mask must be True at every kept weight and False at the pruned zeros: mask = weight != 0.")
        n = ref.distinct_nonzero_values(got)
        if cb.k > 2**bits or n > 2**bits:
            fail(f"{shown} has {cb.k} centroids and {n} distinct non-zero values, more than 2**bits = {2**bits}: "
                 "bits is ignored.")
        want = ref.codebook_for_layer(w, bits).weight()
        if torch.allclose(got, want, atol=1e-5):
            continue
        c, a = ref.kmeans_codebook(w.reshape(-1), bits)
        with_zeros = c[a].reshape(w.shape)
        if torch.allclose(got, with_zeros * mask, atol=1e-5) or (got[mask] == 0).any():
            fail(f"{shown}: the clusters were computed over the pruned zeros too. Pruned weights are not weights to "
                 "share: cluster weight[weight != 0] only, or a centroid is wasted near 0.")
        if _distortion(w[mask], got[mask]) <= 1.01 * _distortion(w[mask], want[mask]):
            continue
        fail(f"{shown}: the kept weights are further from their shared values (mean squared error "
             f"{_distortion(w[mask], got[mask]):.3g}) than k-means over the kept weights gives "
             f"({_distortion(w[mask], want[mask]):.3g}).")
    passed("codebook_for_layer clusters the kept weights only, keeps the pruned zeros, and uses at most 2**bits values.")


def check_sharing_compression_rate(fn: Callable) -> None:
    """``fn(n, k, b)`` must return [DC] Eq. 1: ``n*b / (n*log2(k) + k*b)``."""
    for n, k, b in [(16, 4, 32), (21_000, 64, 32), (1000, 2, 32), (500, 256, 16)]:
        shown = f"sharing_compression_rate(n={n}, k={k}, b={b})"
        got = call(fn, n, k, b, exercise="sharing_compression_rate")
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            fail(f"{shown} must return a number, got {type(got).__name__}.")
        want = ref.sharing_compression_rate(n, k, b)
        if math.isclose(got, want, rel_tol=1e-6):
            continue
        if math.isclose(got, n * b / (n * k + k * b), rel_tol=1e-6):
            fail(f"{shown} = {got:.4g}: each index takes log2(k) bits (math.log2(k)), not k bits.")
        if math.isclose(got, b / math.log2(k), rel_tol=1e-6):
            fail(f"{shown} = {got:.4g}: the codebook is missing: add k * b bits for the k shared values.")
        if math.isclose(got, 1 / want, rel_tol=1e-6):
            fail(f"{shown} = {got:.4g}: upside down. The rate is original bits / compressed bits.")
        if math.isclose(got, n * b / (math.log2(k) + k * b), rel_tol=1e-6):
            fail(f"{shown} = {got:.4g}: every one of the n weights needs an index: n * log2(k).")
        fail(f"{shown} = {got!r}, expected n*b / (n*log2(k) + k*b) = {want:.4g}.")
    passed("sharing_compression_rate is [DC] Eq. 1; the paper's Fig. 3 example gives 3.2.")


def _step_case(seed: int):
    gen = torch.Generator().manual_seed(seed)
    k = 4
    centroids = torch.tensor([-0.3, -0.1, 0.1, 0.4])
    index = torch.randint(0, k, (8, 6), generator=gen)
    mask = torch.rand(8, 6, generator=gen) < 0.6
    grad = torch.randn(8, 6, generator=gen)
    return centroids, grad, index, mask


def check_centroid_gradient(fn: Callable) -> None:
    """``fn(weight_grad, codebook)`` must return [DC] Eq. 3's ``dL/dC``: per cluster, the sum of its kept weights' gradients."""
    for seed in (0, 1, 2):
        centroids, grad, index, mask = _step_case(seed)
        cb = ref.Codebook(centroids, index, mask)
        k = cb.k
        shown = f"centroid_gradient(an 8x6 weight gradient, a codebook of {k} centroids)"
        got = call(fn, grad.clone(), cb.clone(), exercise="centroid_gradient")
        if isinstance(got, torch.Tensor) and got.shape == grad.shape:
            fail(f"{shown} returned a tensor of the weight's shape; add up the gradients of each cluster into "
                 f"one gradient per centroid, a tensor of shape ({k},).")
        if not isinstance(got, torch.Tensor) or got.shape != centroids.shape:
            fail(f"{shown} must return one gradient per centroid, a tensor of shape ({k},).")
        got = got.to(grad.dtype)
        want = ref.centroid_gradient(grad, cb)
        if torch.allclose(got, want, atol=1e-6):
            continue
        if torch.all(got == 0):
            fail(f"{shown} returned zeros: the gradients were never added up. Add each kept weight's gradient "
                 "to its cluster's entry (index_add_ or bincount with weights).")
        counts = torch.bincount(index[mask], minlength=k).clamp(min=1).to(grad.dtype)
        if torch.allclose(got, want / counts, atol=1e-6):
            fail(f"{shown}: you averaged the gradients of each cluster. [DC] Eq. 3 sums them: "
                 "dL/dC_k = Σ dL/dW_ij over the weights with I_ij = k (index_add_ or bincount with weights).")
        with_pruned = torch.zeros(k).index_add_(0, index.reshape(-1), grad.reshape(-1))
        if torch.allclose(got, with_pruned, atol=1e-6):
            fail(f"{shown}: the gradients of pruned weights were counted. Pruned weights belong to no cluster: "
                 "use codebook.index[codebook.mask] and weight_grad[codebook.mask].")
        if torch.allclose(got, -want, atol=1e-6):
            fail(f"{shown}: the sign is flipped. dL/dC_k is the sum of the dL/dW_ij themselves; the step "
                 "(centroids - lr * gradient) comes later, in the optimizer.")
        fail(f"{shown} returned {got.tolist()}, expected {want.tolist()}.")
    passed("centroid_gradient sums each cluster's gradients over the kept weights only (Eq. 3).")
