"""Linear (affine) quantization: the scheme every framework ships ([JQ] §2.1).

A real value ``r`` is stored as a ``b``-bit unsigned integer code ``q`` with

    r = S * (q - Z)                                              ([JQ] Eq. 1)

where ``S > 0`` is a real **scale** and ``Z`` an integer **zero point**. The codes
live in ``[0, 2**b - 1]``. For weights the range ``[min w, max w]`` is widened to
include 0, so that real 0 is exactly representable (``q = Z``): pruned weights
stay exactly zero after quantization.

- :func:`scale_and_zero_point` picks ``S`` and ``Z`` from a tensor's range (optionally
  clipped at ``clip_std`` standard deviations).
- :func:`quantize` maps reals to codes (round to nearest, then clamp).
- :func:`dequantize` maps codes back to reals.
- :func:`linear_quantize` does the first two at once; :func:`linear_quantize_per_channel`
  gives every output channel its own ``S`` and ``Z``.
- :func:`symmetric_quantize`: the symmetric variant, ``Z = 0`` and signed codes.
- :func:`fake_quantize` and :func:`quantize_model_linear` round-trip weights, for
  measuring post-training quantization (PTQ).
- Quantization-aware training (QAT, [JQ] §3): :func:`fake_quantize_ste` is the round trip
  with the straight-through estimator as its gradient ([STE]); :func:`prepare_qat` makes
  every layer compute with fake-quantized weights, :func:`convert_qat` keeps the quantized
  weights once training is over.
- :func:`broken_blog_quantize` is the "quantize(bits)" of popular blog posts, kept
  here so the course can measure what is wrong with it. Don't use it.

Integer-only inference with these codes ([JQ] §2.2-2.4) is in :mod:`course_lib.integer_inference`.
Deep Compression itself does not quantize linearly; it shares weights through
k-means ([DC] §3, see :mod:`course_lib.weight_sharing`). Linear quantization is the
contrast learners meet in PyTorch, TensorFlow Lite and ONNX.

[JQ] Jacob et al., *Quantization and Training of Neural Networks for Efficient
Integer-Arithmetic-Only Inference*, CVPR 2018. [STE] Bengio, Léonard, Courville,
*Estimating or Propagating Gradients Through Stochastic Neurons for Conditional
Computation*, 2013, arXiv:1308.3432.
"""

from __future__ import annotations

import copy
import numbers
from typing import NamedTuple

import torch
from torch import nn
from torch.nn.utils import parametrize

from .models import prunable_layers

MIN_BITS = 1
MAX_BITS = 16


class LinearQuantized(NamedTuple):
    """Integer codes with their scale and zero point: ``r ≈ scale * (q - zero_point)``.

    Per-tensor: ``scale`` is a float and ``zero_point`` an int. Per-channel: both are
    1-D tensors with one entry per channel along ``axis``.
    """

    q: torch.Tensor
    scale: float | torch.Tensor
    zero_point: int | torch.Tensor


def check_bits(bits) -> int:
    """Return ``bits`` as an int after checking it lies in 1..16; raise a clear error otherwise."""
    if isinstance(bits, bool) or not isinstance(bits, numbers.Integral):
        if isinstance(bits, torch.Tensor) and bits.numel() == 1 and not bits.is_floating_point():
            bits = bits.item()
        else:
            raise TypeError(f"bits must be an int between {MIN_BITS} and {MAX_BITS}, got {type(bits).__name__} {bits!r}.")
    bits = int(bits)
    if not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(
            f"bits must be between {MIN_BITS} and {MAX_BITS}, got {bits}. "
            f"{bits}-bit codes make no sense here; pick e.g. 8 (int8), 4 or 2."
        )
    return bits


def check_values(x, what: str = "x") -> torch.Tensor:
    """Return ``x`` if it is a non-empty floating tensor of finite values; raise a clear error otherwise."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(x).__name__}. Wrap it with torch.as_tensor(...).")
    if x.numel() == 0:
        raise ValueError(f"{what} is empty (shape {tuple(x.shape)}); there is nothing to quantize.")
    if not x.is_floating_point():
        raise TypeError(f"{what} must hold real numbers (a floating dtype), got {x.dtype}. Use x.float().")
    if not torch.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or infinite values; quantization needs a finite range.")
    return x


def qrange(bits: int) -> tuple[int, int]:
    """The unsigned code range ``(0, 2**bits - 1)``."""
    return 0, 2 ** check_bits(bits) - 1


def _scale_zero_point_from_range(rmin: torch.Tensor, rmax: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``S = (rmax - rmin) / (2**b - 1)`` and ``Z = -round(rmin / S)`` (elementwise, range already holds 0)."""
    qmin, qmax = qrange(bits)
    span = (rmax - rmin).to(torch.float64)
    # An all-zero tensor has no range: any scale represents it exactly; use 1.
    scale = torch.where(span > 0, span / (qmax - qmin), torch.ones_like(span))
    zero_point = (qmin - torch.round(rmin.to(torch.float64) / scale)).clamp(qmin, qmax).to(torch.int64)
    return scale, zero_point


def scale_and_zero_point(x: torch.Tensor, bits: int, clip_std: float | None = None) -> tuple[float, int]:
    """Scale ``S`` and zero point ``Z`` for ``x`` at ``bits`` bits ([JQ] §2.1).

    The range is ``[min(x.min(), 0), max(x.max(), 0)]`` (widened to include 0), and

    - ``S = (rmax - rmin) / (2**bits - 1)``,
    - ``Z = -round(rmin / S)``, an integer in ``[0, 2**bits - 1]``.

    Then real 0 maps exactly to the code ``Z``. This is what PyTorch's
    ``MinMaxObserver`` computes for ``torch.quint8`` with the affine scheme.

    ``clip_std``: clip the range to ``[-c, c]`` first, ``c = clip_std * x.std()``, so that a
    few large values do not stretch the grid; values beyond it land on the first or last code.
    """
    check_values(x)
    bits = check_bits(bits)
    x = x.detach()
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    lo, hi = x.min(), x.max()
    if clip_std is not None:
        if not float(clip_std) > 0:
            raise ValueError(f"clip_std must be a positive number of standard deviations, got {clip_std!r}.")
        c = float(clip_std) * x.std(correction=0)
        lo, hi = torch.maximum(lo, -c), torch.minimum(hi, c)
    rmin, rmax = torch.minimum(lo, zero), torch.maximum(hi, zero)
    scale, zero_point = _scale_zero_point_from_range(rmin, rmax, bits)
    return float(scale), int(zero_point)


def quantize(x: torch.Tensor, scale, zero_point, bits: int) -> torch.Tensor:
    """Codes ``q = clamp(round(x / S) + Z, 0, 2**bits - 1)`` as ``int32``.

    ``torch.round`` rounds to the nearest integer (halves to even), not towards zero;
    the clamp keeps values outside the range on the first or last code. ``scale`` and
    ``zero_point`` may be tensors that broadcast against ``x`` (per-channel).
    """
    check_values(x)
    qmin, qmax = qrange(bits)
    work = torch.promote_types(x.dtype, torch.float32)
    scale = torch.as_tensor(scale, device=x.device).to(work)
    zero_point = torch.as_tensor(zero_point, device=x.device)
    if (scale <= 0).any():
        raise ValueError(f"scale must be positive, got {scale.min().item()}.")
    # Multiply by 1/S in the working precision, as PyTorch's kernels do, so that the
    # codes agree with torch.quantize_per_tensor bit for bit.
    q = torch.round(x.to(work) * torch.reciprocal(scale)) + zero_point
    return q.clamp(qmin, qmax).to(torch.int32)


def dequantize(q: torch.Tensor, scale, zero_point) -> torch.Tensor:
    """Reals ``S * (q - Z)`` as ``float32`` (the inverse of :func:`quantize` on the grid)."""
    if not isinstance(q, torch.Tensor):
        raise TypeError(f"q must be a torch.Tensor of integer codes, got {type(q).__name__}.")
    scale = torch.as_tensor(scale, dtype=torch.float64, device=q.device)
    zero_point = torch.as_tensor(zero_point, device=q.device)
    return (scale * (q.to(torch.float64) - zero_point)).to(torch.float32)


def linear_quantize(x: torch.Tensor, bits: int) -> LinearQuantized:
    """Per-tensor affine quantization: ``(q, scale, zero_point)`` with ``x ≈ scale * (q - zero_point)``.

    At 8 bits the codes equal ``torch.quantize_per_tensor(x, scale, zero_point, torch.quint8).int_repr()``.
    """
    scale, zero_point = scale_and_zero_point(x, bits)
    return LinearQuantized(quantize(x, scale, zero_point, bits), scale, zero_point)


def linear_quantize_per_channel(x: torch.Tensor, bits: int, axis: int = 0) -> LinearQuantized:
    """Affine quantization with one ``(scale, zero_point)`` per slice along ``axis``.

    For a ``Linear`` or ``Conv2d`` weight, ``axis=0`` gives each output channel (row,
    filter) its own range. Returns ``scale`` (float64) and ``zero_point`` (int64) as
    1-D tensors of length ``x.shape[axis]``.
    """
    check_values(x)
    bits = check_bits(bits)
    if x.dim() == 0:
        raise ValueError("per-channel quantization needs at least one dimension; use linear_quantize for a scalar.")
    axis = axis % x.dim()
    moved = x.movedim(axis, 0).reshape(x.shape[axis], -1)
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    rmin = torch.minimum(moved.min(dim=1).values, zero)
    rmax = torch.maximum(moved.max(dim=1).values, zero)
    scale, zero_point = _scale_zero_point_from_range(rmin, rmax, bits)
    shape = [1] * x.dim()
    shape[axis] = -1
    q = quantize(x, scale.view(shape), zero_point.view(shape), bits)
    return LinearQuantized(q, scale, zero_point)


def dequantize_per_channel(q: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor, axis: int = 0) -> torch.Tensor:
    """Inverse of :func:`linear_quantize_per_channel`."""
    shape = [1] * q.dim()
    shape[axis % q.dim()] = -1
    return dequantize(q, torch.as_tensor(scale).view(shape), torch.as_tensor(zero_point).view(shape))


def symmetric_quantize(x: torch.Tensor, bits: int) -> LinearQuantized:
    """Symmetric quantization: ``Z = 0`` and signed codes in ``[-(2**(bits-1) - 1), 2**(bits-1) - 1]``.

    ``S = max|x| / (2**(bits - 1) - 1)``, ``q = clamp(round(x / S), -qmax, qmax)`` as ``int32``.
    The range ``[-max|x|, max|x|]`` is symmetric about 0 whatever the data: a one-sided
    tensor (post-ReLU activations) leaves half the codes unused. The most negative code
    (-128 at 8 bits) is left out, so that ``-q`` is always a code (the "narrow range" of
    TensorFlow Lite's int8 weights; torchao's int8 weights, :mod:`course_lib.int8`, use all of
    ``[-128, 127]`` with ``S = max|x| / 127.5``). :func:`dequantize` inverts it with ``zero_point = 0``.
    """
    check_values(x)
    bits = check_bits(bits)
    if bits < 2:
        raise ValueError("symmetric quantization needs at least 2 bits (codes -1, 0, 1).")
    qmax = 2 ** (bits - 1) - 1
    m = float(x.detach().abs().max())
    scale = m / qmax if m > 0 else 1.0
    q = torch.round(x.detach().to(torch.float64) / scale).clamp(-qmax, qmax).to(torch.int32)
    return LinearQuantized(q, scale, 0)


def fake_quantize(x: torch.Tensor, bits: int, per_channel: bool = False, axis: int = 0,
                  clip_std: float | None = None) -> torch.Tensor:
    """``dequantize(quantize(x))``: the values ``x`` takes after a round trip through ``bits``-bit codes.

    No gradient flows through it (the codes are integers); :func:`fake_quantize_ste` is the
    version training can go through.
    """
    if per_channel:
        if clip_std is not None:
            raise ValueError("clip_std is for per-tensor ranges; per-channel ranges are not clipped here.")
        q, s, z = linear_quantize_per_channel(x, bits, axis)
        return dequantize_per_channel(q, s, z, axis).to(x.dtype)
    s, z = scale_and_zero_point(x, bits, clip_std)
    return dequantize(quantize(x.detach(), s, z, bits), s, z).to(x.dtype)


class _StraightThrough(torch.autograd.Function):
    """Forward: the fake-quantized values. Backward: the incoming gradient where ``x`` lies in
    the clipping range, 0 elsewhere."""

    @staticmethod
    def forward(ctx, x, scale, zero_point, bits):
        values = dequantize(quantize(x, scale, zero_point, bits), scale, zero_point).to(x.dtype)
        s = torch.as_tensor(scale, dtype=torch.float64, device=x.device)
        z = torch.as_tensor(zero_point, dtype=torch.float64, device=x.device)
        inside = (x >= s * (0 - z)) & (x <= s * (2**bits - 1 - z))
        ctx.save_for_backward(inside)
        return values

    @staticmethod
    def backward(ctx, grad_output):
        (inside,) = ctx.saved_tensors
        return grad_output * inside, None, None, None


def fake_quantize_ste(x: torch.Tensor, scale, zero_point, bits: int) -> torch.Tensor:
    """Fake quantization that training can go through ([JQ] §3, [STE]).

    - Forward: ``S * (clamp(round(x / S) + Z, 0, 2**bits - 1) - Z)``, the values the codes
      stand for (:func:`fake_quantize` with the given ``S`` and ``Z``), in ``x``'s dtype.
    - Backward: the straight-through estimator. ``round`` has derivative 0 almost
      everywhere, so the true gradient would stop every update; the STE passes the
      incoming gradient through unchanged where ``x`` lies inside the clipping range
      ``[S * (0 - Z), S * (2**bits - 1 - Z)]``, and 0 outside, where the clamp makes the
      output constant.

    ``scale`` and ``zero_point`` are numbers, or tensors that broadcast against ``x``. The
    usual two-line version is ``xc = x.clamp(lo, hi); xc + (values - xc).detach()``;
    ``torch.fake_quantize_per_tensor_affine`` agrees except within half a step outside the
    range, which it counts as inside.
    """
    check_values(x)
    bits = check_bits(bits)
    return _StraightThrough.apply(x, scale, zero_point, bits)


class FakeQuantizedWeight(nn.Module):
    """A parametrization (``torch.nn.utils.parametrize``): the layer sees its weight fake-quantized.

    Each forward pass takes ``S`` and ``Z`` from the current float weight (its min/max
    range, as [JQ] §3 does for weights; clipped at ``clip_std`` standard deviations if
    given) and applies :func:`fake_quantize_ste`. The optimizer updates the float weight
    underneath (``layer.parametrizations.weight.original``).
    """

    def __init__(self, bits: int, clip_std: float | None = None) -> None:
        super().__init__()
        self.bits = check_bits(bits)
        self.clip_std = clip_std

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        scale, zero_point = scale_and_zero_point(w, self.bits, self.clip_std)
        return fake_quantize_ste(w, scale, zero_point, self.bits)

    def extra_repr(self) -> str:
        return f"bits={self.bits}, clip_std={self.clip_std}"


def _plan(model: nn.Module, layers: dict[str, nn.Module], bits: int | dict[str, int]) -> dict[str, int]:
    plan = {name: bits for name in layers} if not isinstance(bits, dict) else dict(bits)
    unknown = sorted(set(plan) - set(layers))
    if unknown:
        raise ValueError(f"No layer named {unknown} in {type(model).__name__}; its layers are {sorted(layers)}.")
    return {name: check_bits(b) for name, b in plan.items()}


def prepare_qat(model: nn.Module, bits: int | dict[str, int], clip_std: float | None = None) -> nn.Module:
    """A copy of ``model`` ready for quantization-aware training ([JQ] §3).

    Every Linear/Conv2d weight named in ``bits`` (one int for all layers, or ``{layer: bits}``)
    gets a :class:`FakeQuantizedWeight`: the forward pass computes with its ``bits``-bit
    values and the backward pass reaches the float weights through the STE. Train the copy
    with :func:`course_lib.train.train` as any model, then :func:`convert_qat`.
    """
    out = copy.deepcopy(model)
    layers = prunable_layers(out)
    for name, b in _plan(model, layers, bits).items():
        parametrize.register_parametrization(layers[name], "weight", FakeQuantizedWeight(b, clip_std))
    return out


def convert_qat(model: nn.Module) -> nn.Module:
    """A plain copy of a :func:`prepare_qat` model whose weights are their quantized values.

    It computes exactly what the trained model computed, and holds at most ``2**bits``
    distinct values per layer: post-training quantization of the float weights underneath
    with the same settings (:func:`quantize_model_linear`) gives the same model.
    """
    out = copy.deepcopy(model)
    for layer in prunable_layers(out).values():
        if parametrize.is_parametrized(layer, "weight"):
            # A deep copy shares the parametrized class with the original, and removing the
            # parametrization deletes a property of that class: give the copy its own first.
            cls = type(layer)
            layer.__class__ = type(cls.__name__, cls.__bases__, {k: v for k, v in vars(cls).items()
                                                                 if k not in ("__dict__", "__weakref__")})
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
    return out


@torch.no_grad()
def quantize_model_linear(model: nn.Module, bits: int | dict[str, int], per_channel: bool = False,
                          clip_std: float | None = None) -> nn.Module:
    """A copy of ``model`` whose Linear/Conv2d weights went through ``bits``-bit linear quantization.

    Post-training quantization, simulated in float ("fake quantization"): the copy
    computes with the dequantized weights. ``bits`` is one int for every layer, or a
    dict ``{layer name: bits}`` (layers left out stay float). Biases stay float.
    Pruned weights stay exactly 0, because 0 is on the grid. ``clip_std`` clips each
    per-tensor range at that many standard deviations of the layer's weights.
    """
    out = copy.deepcopy(model)
    layers = prunable_layers(out)
    for name, b in _plan(model, layers, bits).items():
        w = layers[name].weight
        w.copy_(fake_quantize(w, b, per_channel=per_channel, clip_std=clip_std))
    return out


def distinct_values(x: torch.Tensor) -> int:
    """How many different values ``x`` holds (``torch.unique``)."""
    return int(torch.unique(x).numel())


def broken_blog_quantize(w: torch.Tensor, bits: int) -> torch.Tensor:
    """DON'T USE. The "quantize(bits)" of popular blog posts, reproduced to measure it.

    It halves the weights, rounds, clamps to [-1, 1] and never reads ``bits``: every
    bit-width gives the same tensor, with at most three values {-1, 0, 1} (and for
    typical weights, |w| < 1, only 0). Notebook 04 measures it and fixes it with
    :func:`fake_quantize`.
    """
    return torch.clamp(torch.round(w / 2), -1, 1)
