"""Weight sharing by k-means, and trained quantization: stage two of Deep Compression ([DC] §3).

Each layer's kept (non-pruned) weights are clustered by 1-D k-means into
``k = 2**bits`` clusters; every weight is then replaced by its cluster's centroid.
A layer is stored as a small **codebook** of ``k`` float centroids plus one
``bits``-bit **index** per kept weight ([DC] Fig. 3). Layers do not share
centroids with each other.

The API, in the order a pipeline calls it:

- :func:`kmeans_codebook` clusters a 1-D tensor of values: ``(centroids, assignments)``.
  Initialisations ([DC] §3.2, Fig. 4): ``"linear"`` (evenly spaced between min and max),
  ``"random"`` (Forgy: ``k`` of the values drawn at random) and ``"density"``
  (evenly spaced on the cumulative distribution).
- :class:`Codebook` holds one layer: ``centroids [k]``, ``index`` (``LongTensor``,
  the weight's shape) and ``mask`` (``BoolTensor``, True = kept). Its weight is
  ``centroids[index] * mask``.
- :func:`quantize_model` builds a codebook for every layer and writes the shared
  weights into the model; :func:`apply_codebooks` rewrites the weights from codebooks.
- :func:`finetune_centroids` trains the centroids ([DC] §3.3, Eq. 3): the gradient of a
  centroid is the **sum** of the gradients of the weights in its cluster
  (:func:`centroid_gradient`). Pruned weights stay exactly 0, and each layer keeps at
  most ``k`` distinct non-zero values.
- :func:`centroid_gradient_autograd` gets the same gradient from autograd: the layer's
  weight is written as ``W = C[I] * mask`` of a leaf tensor ``C``, and the backward pass
  of the indexing adds every weight's gradient into its centroid's entry.
- :func:`sharing_compression_rate` is [DC] Eq. 1, ``r = n*b / (n*log2(k) + k*b)``.
- :func:`codebooks_from_model` recovers the codebooks from a weight-shared model
  (for example a checkpoint written by ``python -m course_lib.commands.make_quantized``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .models import prunable_layers
from .quantization import check_bits
from .train import train

INITS = ("linear", "random", "density")


class KMeansResult(NamedTuple):
    """``centroids`` (float, ``[k]``, ascending) and ``assignments`` (long, one cluster per value)."""

    centroids: torch.Tensor
    assignments: torch.Tensor


def _check_values_1d(values, what: str = "values") -> torch.Tensor:
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(values).__name__}.")
    if not values.is_floating_point():
        raise TypeError(f"{what} must be a floating tensor, got {values.dtype}. Use .float().")
    if values.numel() == 0:
        raise ValueError(
            f"{what} is empty: there are no weights to cluster. A fully pruned layer has nothing "
            "to share; leave it out of the bits plan."
        )
    if not torch.isfinite(values).all():
        raise ValueError(f"{what} contains NaN or infinite values; k-means needs finite numbers.")
    return values.detach().reshape(-1)


def _check_init(init: str) -> str:
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS} ([DC] §3.2), got {init!r}.")
    return init


def init_centroids(values: torch.Tensor, k: int, init: str = "linear", seed: int = 0) -> torch.Tensor:
    """``k`` starting centroids for 1-D k-means ([DC] §3.2, Fig. 4), in ascending order.

    - ``"linear"``: ``torch.linspace(min, max, k)``, evenly spaced over the range of the values.
    - ``"random"`` (Forgy): ``k`` distinct values drawn at random (seeded); repeats pad
      the list when there are fewer than ``k`` distinct values.
    - ``"density"``: the ``k`` quantiles at ``torch.linspace(0, 1, k)``: evenly spaced on
      the y-axis of the cumulative distribution, so they crowd where weights are dense.
    """
    values = _check_values_1d(values)
    _check_init(init)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    if init == "linear":
        return torch.linspace(values.min().item(), values.max().item(), k, dtype=values.dtype, device=values.device)
    if init == "density":
        levels = torch.linspace(0, 1, k, dtype=torch.float64, device=values.device)
        return torch.quantile(values.to(torch.float64), levels).to(values.dtype)
    unique = torch.unique(values)
    gen = torch.Generator().manual_seed(seed)
    if unique.numel() >= k:
        pick = torch.randperm(unique.numel(), generator=gen)[:k].to(values.device)
        return torch.sort(unique[pick]).values
    return _pad(unique, k)


def _pad(sorted_values: torch.Tensor, k: int) -> torch.Tensor:
    """``sorted_values`` followed by repeats of its last entry, ``k`` in all."""
    extra = k - sorted_values.numel()
    return torch.cat([sorted_values, sorted_values[-1:].expand(extra)]) if extra > 0 else sorted_values


def assign_to_centroids(values: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Index of the nearest centroid for each value (``centroids`` ascending).

    Equivalent to ``(values[:, None] - centroids[None, :]).abs().argmin(1)``, computed with
    ``torch.bucketize`` on the midpoints between neighbouring centroids, so it needs no
    ``n x k`` matrix. A value exactly halfway between two centroids goes to the lower one.
    """
    if centroids.numel() == 1:
        return torch.zeros(values.shape, dtype=torch.long, device=values.device)
    midpoints = (centroids[1:] + centroids[:-1]) / 2
    return torch.bucketize(values, midpoints)


def _cluster_edges(ordered: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Cluster ``j`` holds ``ordered[edges[j]:edges[j + 1]]`` (nearest centroid, ties to the lower one)."""
    midpoints = (centroids[1:] + centroids[:-1]) / 2
    inner = torch.searchsorted(ordered, midpoints, right=True)
    n = torch.tensor([ordered.numel()], device=ordered.device)
    return torch.cat([torch.zeros(1, dtype=inner.dtype, device=ordered.device), inner, n])


def kmeans_codebook(
    values: torch.Tensor,
    bits: int,
    init: str = "linear",
    seed: int = 0,
    max_iter: int = 300,
) -> KMeansResult:
    """1-D k-means with ``k = 2**bits`` clusters ([DC] §3.1): ``(centroids, assignments)``.

    Pass a layer's **kept** weights only (``weight[mask]``): the pruned zeros are not
    weights to share, and clustering them would pull a centroid to 0.

    Lloyd's algorithm: assign every value to its nearest centroid, move every centroid to
    the mean of its members, repeat until no assignment changes (or ``max_iter``). A
    cluster that loses all its members keeps its position. Each iteration works on the
    sorted values (clusters are contiguous runs of them in 1-D), so it costs ``O(k log n)``. When the values hold at most
    ``k`` distinct numbers, each gets its own centroid (the exact solution) and the
    remaining centroids repeat the largest one. Deterministic for a given ``seed``
    (only ``"random"`` init draws random numbers).
    """
    bits = check_bits(bits)
    values = _check_values_1d(values)
    _check_init(init)
    k = 2**bits
    unique = torch.unique(values)
    if unique.numel() <= k:
        centroids = _pad(unique, k)
        return KMeansResult(centroids, torch.searchsorted(unique, values))
    centroids = torch.sort(init_centroids(values, k, init, seed)).values
    # Lloyd's iterations on the sorted values: each cluster is a contiguous run of them,
    # so its size and sum come from a binary search and a cumulative sum, in O(k log n).
    ordered = torch.sort(values).values
    cumsum = torch.cat([ordered.new_zeros(1, dtype=torch.float64), torch.cumsum(ordered.to(torch.float64), 0)])
    edges = _cluster_edges(ordered, centroids)
    for _ in range(max_iter):
        counts = edges[1:] - edges[:-1]
        means = ((cumsum[edges[1:]] - cumsum[edges[:-1]]) / counts.clamp(min=1)).to(values.dtype)
        centroids = torch.sort(torch.where(counts > 0, means, centroids)).values
        new_edges = _cluster_edges(ordered, centroids)
        converged = torch.equal(new_edges, edges)
        edges = new_edges
        if converged:
            break
    assignments = assign_to_centroids(values, centroids)
    return KMeansResult(centroids, assignments)


@dataclass
class Codebook:
    """One layer stored by weight sharing ([DC] Fig. 3).

    - ``centroids``: float tensor ``[k]``, the shared weights (the codebook);
    - ``index``: ``LongTensor`` of the weight's shape, the cluster of each weight
      (0 at pruned positions, where it is unused);
    - ``mask``: ``BoolTensor`` of the weight's shape, True where the weight is kept.

    The layer's weight is ``centroids[index] * mask`` (:meth:`weight`).
    """

    centroids: torch.Tensor
    index: torch.Tensor
    mask: torch.Tensor

    def __post_init__(self) -> None:
        if self.centroids.dim() != 1 or self.centroids.numel() == 0:
            raise ValueError(f"centroids must be a non-empty 1-D tensor, got shape {tuple(self.centroids.shape)}.")
        if self.index.dtype != torch.long:
            raise TypeError(f"index must be a LongTensor (torch.long), got {self.index.dtype}.")
        if self.mask.dtype != torch.bool:
            raise TypeError(f"mask must be a BoolTensor, got {self.mask.dtype}.")
        if self.index.shape != self.mask.shape:
            raise ValueError(f"index {tuple(self.index.shape)} and mask {tuple(self.mask.shape)} must have the same shape.")
        if self.index.numel() and (self.index.min() < 0 or self.index.max() >= self.k):
            raise ValueError(f"index values must lie in [0, {self.k - 1}] for a codebook of {self.k} centroids.")

    @property
    def k(self) -> int:
        """Number of centroids (clusters)."""
        return self.centroids.numel()

    @property
    def bits(self) -> int:
        """Bits per index: ``ceil(log2 k)`` (at least 1)."""
        return max(1, math.ceil(math.log2(self.k)))

    @property
    def kept(self) -> int:
        """Number of kept (non-pruned) weights, ``n`` in [DC] Eq. 1."""
        return int(self.mask.sum())

    def weight(self) -> torch.Tensor:
        """The shared weights ``centroids[index] * mask``, in the layer's shape."""
        return self.centroids[self.index] * self.mask

    def to(self, device) -> "Codebook":
        return Codebook(self.centroids.to(device), self.index.to(device), self.mask.to(device))

    def clone(self) -> "Codebook":
        return Codebook(self.centroids.clone(), self.index.clone(), self.mask.clone())


def codebook_for_layer(
    weight: torch.Tensor,
    bits: int,
    mask: torch.Tensor | None = None,
    init: str = "linear",
    seed: int = 0,
    max_iter: int = 300,
) -> Codebook:
    """k-means codebook of one weight tensor (any shape) over its kept weights.

    The kept weights are those of ``mask`` (the pruning mask decides, whatever the values: a
    kept weight at exactly 0 is clustered too, and a weight outside the mask is pruned even
    if it is not 0), by default ``weight != 0``. ``index`` holds each kept weight's cluster
    (0 at pruned positions), so ``codebook.weight()`` is 0 wherever the mask is False.
    """
    weight = weight.detach()
    if mask is None:
        mask = weight != 0
    if mask.shape != weight.shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} differs from weight shape {tuple(weight.shape)}.")
    mask = mask.to(torch.bool)
    if not mask.any():
        raise ValueError("every weight of this layer is pruned; there is nothing to cluster. Leave the layer out.")
    centroids, assignments = kmeans_codebook(weight[mask], bits, init=init, seed=seed, max_iter=max_iter)
    index = torch.zeros(weight.shape, dtype=torch.long, device=weight.device)
    index[mask] = assignments
    return Codebook(centroids, index, mask)


def _bits_plan(model: nn.Module, bits: int | Mapping[str, int]) -> dict[str, int]:
    layers = prunable_layers(model)
    plan = {name: bits for name in layers} if not isinstance(bits, Mapping) else dict(bits)
    unknown = sorted(set(plan) - set(layers))
    if unknown:
        raise ValueError(f"No layer named {unknown} in {type(model).__name__}; its layers are {sorted(layers)}.")
    return {name: check_bits(b) for name, b in plan.items()}


@torch.no_grad()
def quantize_model(
    model: nn.Module,
    bits: int | Mapping[str, int],
    init: str = "linear",
    seed: int = 0,
    masks: Mapping[str, torch.Tensor] | None = None,
    max_iter: int = 300,
) -> dict[str, Codebook]:
    """Share the weights of ``model`` by k-means, layer by layer, **in place** ([DC] §3).

    ``bits`` is one int for every Linear/Conv2d layer, or ``{layer name: bits}`` (layers
    left out stay as they are), e.g. ``{"conv1": 8, "conv2": 8, "fc1": 5, "fc2": 5}``.
    ``masks`` gives the kept weights per layer; by default ``weight != 0``, so a pruned
    model keeps its zeros and only the kept weights are clustered. Biases stay float.

    Returns ``{layer name: Codebook}``; the model's weights become ``codebook.weight()``.
    """
    _check_init(init)
    layers = prunable_layers(model)
    codebooks: dict[str, Codebook] = {}
    for name, b in _bits_plan(model, bits).items():
        w = layers[name].weight
        mask = None if masks is None or name not in masks else masks[name].to(w.device)
        codebooks[name] = codebook_for_layer(w, b, mask=mask, init=init, seed=seed, max_iter=max_iter)
    apply_codebooks(model, codebooks)
    return codebooks


@torch.no_grad()
def apply_codebooks(model: nn.Module, codebooks: Mapping[str, Codebook]) -> nn.Module:
    """Write ``centroids[index] * mask`` into each layer's weight; returns the model."""
    layers = prunable_layers(model)
    for name, cb in codebooks.items():
        if name not in layers:
            raise ValueError(f"No layer named {name!r} in {type(model).__name__}; its layers are {sorted(layers)}.")
        w = layers[name].weight
        if cb.index.shape != w.shape:
            raise ValueError(f"codebook of {name!r} has index shape {tuple(cb.index.shape)}, weight is {tuple(w.shape)}.")
        w.copy_(cb.weight().to(w.device, w.dtype))
    return model


def centroid_gradient(weight_grad: torch.Tensor, codebook: Codebook) -> torch.Tensor:
    """[DC] Eq. 3: ``dL/dC_k = sum over kept (i, j) with I_ij = k of dL/dW_ij``, a tensor ``[k]``.

    The gradients of a cluster's members are **summed** (not averaged), and pruned
    positions (``mask`` False) belong to no cluster.
    """
    if weight_grad.shape != codebook.index.shape:
        raise ValueError(f"weight_grad shape {tuple(weight_grad.shape)} differs from index shape {tuple(codebook.index.shape)}.")
    mask = codebook.mask
    out = torch.zeros(codebook.k, dtype=weight_grad.dtype, device=weight_grad.device)
    return out.index_add_(0, codebook.index[mask], weight_grad[mask])


def centroid_gradient_autograd(
    model: nn.Module,
    layer_name: str,
    codebook: Codebook,
    x: torch.Tensor,
    y: torch.Tensor,
) -> torch.Tensor:
    """[DC] Eq. 3 by autograd: ``dL/dC``, a tensor ``[k]``, for ``L = cross_entropy(model(x), y)``
    with the weight of layer ``layer_name`` written as ``W = C[I] * mask``.

    ``C`` is a fresh leaf copy of ``codebook.centroids`` that requires grad; ``W`` is built
    from it and replaces the layer's weight in the forward pass
    (``torch.func.functional_call``). The backward pass of the indexing ``C[I]`` adds the
    gradient of every kept weight into its centroid's entry, so the result equals
    :func:`centroid_gradient` of ``dL/dW`` taken at ``W``. Neither ``model`` nor
    ``codebook`` changes, and no ``.grad`` is left behind.
    """
    layers = prunable_layers(model)
    if layer_name not in layers:
        raise ValueError(f"No layer named {layer_name!r} in {type(model).__name__}; its layers are {sorted(layers)}.")
    weight = layers[layer_name].weight
    if codebook.index.shape != weight.shape:
        raise ValueError(f"codebook index shape {tuple(codebook.index.shape)} differs from the weight of "
                         f"{layer_name!r}, {tuple(weight.shape)}.")
    centroids = codebook.centroids.detach().clone().to(weight.device, weight.dtype).requires_grad_(True)
    shared = centroids[codebook.index.to(weight.device)] * codebook.mask.to(weight.device)
    with torch.enable_grad():
        logits = torch.func.functional_call(model, {f"{layer_name}.weight": shared}, (x.to(weight.device),))
        loss = F.cross_entropy(logits, y.to(weight.device))
        (grad,) = torch.autograd.grad(loss, centroids)
    return grad.to(codebook.centroids.device)


class CentroidSGD(torch.optim.Optimizer):
    """SGD with momentum on shared centroids ([DC] §3.3, Eq. 3), for ``course_lib.train.train``.

    The forward and backward passes use the layers' dense weights as usual. ``step``
    then groups each quantized layer's weight gradient by cluster
    (:func:`centroid_gradient`), updates the centroids, and rewrites the weights as
    ``centroids[index] * mask``: pruned weights stay 0 and each layer keeps at most
    ``k`` distinct values. The other trainable parameters (biases) get plain SGD with
    momentum and ``weight_decay``; weights of layers without a codebook stay frozen.
    """

    def __init__(
        self,
        model: nn.Module,
        codebooks: Mapping[str, Codebook],
        lr: float = 1e-3,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        bias_lr: float | None = None,
    ) -> None:
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}.")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}.")
        layers = prunable_layers(model)
        for name, cb in codebooks.items():
            if name not in layers:
                raise ValueError(f"No layer named {name!r} in {type(model).__name__}; its layers are {sorted(layers)}.")
            if cb.index.shape != layers[name].weight.shape:
                raise ValueError(f"codebook of {name!r} does not match its weight's shape.")
        self.model = model
        self.codebooks = dict(codebooks)
        self._entries = {id(cb.centroids): (layers[name], cb) for name, cb in self.codebooks.items()}
        if len(self._entries) != len(self.codebooks):
            raise ValueError("two codebooks share one centroids tensor; give each layer its own (Codebook.clone()).")
        layer_weights = {id(m.weight) for m in layers.values()}
        others = [p for p in model.parameters() if id(p) not in layer_weights and p.requires_grad]
        self._frozen = [m.weight for n, m in layers.items() if n not in self.codebooks]
        groups = [{"params": [cb.centroids for cb in self.codebooks.values()], "lr": lr, "kind": "centroids", "weight_decay": 0.0}]
        if others:
            groups.append({"params": others, "lr": lr if bias_lr is None else bias_lr, "kind": "others", "weight_decay": weight_decay})
        super().__init__(groups, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if group["kind"] == "centroids":
                    layer, cb = self._entries[id(p)]
                    grad = layer.weight.grad
                    if grad is None:
                        continue
                    d_p = centroid_gradient(grad, cb)
                else:
                    if p.grad is None:
                        continue
                    d_p = p.grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad
                if group["momentum"]:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = d_p.detach().clone()
                    else:
                        buf.mul_(group["momentum"]).add_(d_p)
                    d_p = buf
                p.add_(d_p, alpha=-group["lr"])
        apply_codebooks(self.model, self.codebooks)
        for layer, _ in self._entries.values():
            layer.weight.grad = None
        for w in self._frozen:
            w.grad = None
        return loss


def finetune_centroids(
    model: nn.Module,
    codebooks: Mapping[str, Codebook],
    data,
    epochs: int = 1,
    lr: float = 1e-3,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    bias_lr: float | None = None,
    batch_size: int = 128,
    train_subset: int | None = None,
    seed: int = 0,
    schedule: str = "cosine",
    augment: bool = False,
    progress: bool = True,
    evaluate_every_epoch: bool = True,
    desc: str | None = None,
):
    """Trained quantization ([DC] §3.1): fine-tune the centroids of ``codebooks`` in place.

    Trains ``model`` with :func:`course_lib.train.train` and a :class:`CentroidSGD`
    optimizer: each step sums the weight gradients of every cluster (Eq. 3), moves the
    centroids, and rewrites the weights ``centroids[index] * mask``. Indices and masks
    never change, so afterwards every quantized layer still holds at most ``k`` distinct
    non-zero values, and pruned weights are still 0. Biases train as usual.

    ``lr`` applies to the centroids (their gradient is a sum over many weights, so it is
    much smaller than a weight learning rate); ``bias_lr`` to the biases (default ``lr``).
    Returns the :class:`course_lib.train.History`.
    """
    apply_codebooks(model, codebooks)
    optimizer = CentroidSGD(model, codebooks, lr=lr, momentum=momentum, weight_decay=weight_decay, bias_lr=bias_lr)
    return train(
        model,
        data,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        optimizer=optimizer,
        schedule=schedule,
        augment=augment,
        train_subset=train_subset,
        evaluate_every_epoch=evaluate_every_epoch,
        progress=progress,
        desc=desc or f"fine-tune centroids {type(model).__name__}",
    )


def sharing_compression_rate(n: int, k: int, b: int = 32) -> float:
    """[DC] Eq. 1: ``r = n*b / (n*log2(k) + k*b)``.

    ``n`` weights of ``b`` bits each are replaced by ``n`` indices of ``log2(k)`` bits and
    a codebook of ``k`` centroids of ``b`` bits. The paper's Fig. 3 example: 16 weights,
    4 clusters, 32 bits: ``16*32 / (16*2 + 4*32) = 3.2``.
    """
    for name, v in (("n", n), ("k", k), ("b", b)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 1:
            raise ValueError(f"{name} must be a number >= 1, got {v!r}.")
    return n * b / (n * math.log2(k) + k * b)


def codebook_storage_bits(codebook: Codebook, b: int = 32) -> int:
    """Bits to store a layer's kept weights as indices plus codebook: ``n*ceil(log2 k) + k*b``.

    The positions of the kept weights (the sparse index) are not counted here; [DC] §2
    stores them separately (notebook 06).
    """
    return codebook.kept * codebook.bits + codebook.k * b


def distinct_nonzero_values(weight: torch.Tensor) -> int:
    """How many different non-zero values ``weight`` holds."""
    return int(torch.unique(weight[weight != 0]).numel())


@torch.no_grad()
def codebooks_from_model(model: nn.Module, bits: int | Mapping[str, int]) -> dict[str, Codebook]:
    """The codebooks of a model whose layers already share their weights.

    For each layer in the plan, the centroids are its distinct non-zero values (padded to
    ``2**bits`` by repeating the largest), the mask is ``weight != 0`` and the index points
    each kept weight to its value. Raises ``ValueError`` if a layer holds more than
    ``2**bits`` distinct non-zero values (it was not weight-shared at that width).
    """
    layers = prunable_layers(model)
    out: dict[str, Codebook] = {}
    for name, b in _bits_plan(model, bits).items():
        w = layers[name].weight.detach()
        mask = w != 0
        if not mask.any():
            raise ValueError(f"layer {name!r} is entirely zero; it has no codebook.")
        unique = torch.unique(w[mask])
        k = 2**b
        if unique.numel() > k:
            raise ValueError(
                f"layer {name!r} holds {unique.numel()} distinct non-zero values, more than 2**{b} = {k}: "
                "it is not weight-shared at that bit-width. Run quantize_model first."
            )
        index = torch.zeros(w.shape, dtype=torch.long, device=w.device)
        index[mask] = torch.searchsorted(unique, w[mask])
        out[name] = Codebook(_pad(unique, k), index, mask)
    return out
