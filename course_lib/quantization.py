"""Linear (affine) quantization: the scheme every framework ships ([JQ] §2.1).

A real value ``r`` is stored as a ``b``-bit unsigned integer code ``q`` with

    r = S * (q - Z)                                              ([JQ] Eq. 1)

where ``S > 0`` is a real **scale** and ``Z`` an integer **zero point**. The codes
live in ``[0, 2**b - 1]``. For weights the range ``[min w, max w]`` is widened to
include 0, so that real 0 is exactly representable (``q = Z``): pruned weights
stay exactly zero after quantization.

- :func:`scale_and_zero_point` picks ``S`` and ``Z`` from a tensor's range.
- :func:`quantize` maps reals to codes (round to nearest, then clamp).
- :func:`dequantize` maps codes back to reals.
- :func:`linear_quantize` does the first two at once; :func:`linear_quantize_per_channel`
  gives every output channel its own ``S`` and ``Z``.
- :func:`fake_quantize` and :func:`quantize_model_linear` round-trip weights, for
  measuring post-training quantization.
- :func:`broken_blog_quantize` is the "quantize(bits)" of popular blog posts, kept
  here so the course can measure what is wrong with it. Don't use it.

Deep Compression itself does not quantize linearly; it shares weights through
k-means ([DC] §3, see :mod:`course_lib.weight_sharing`). Linear quantization is the
contrast learners meet in PyTorch, TensorFlow Lite and ONNX.
"""

from __future__ import annotations

import copy
import numbers
from typing import NamedTuple

import torch
from torch import nn

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


def scale_and_zero_point(x: torch.Tensor, bits: int) -> tuple[float, int]:
    """Scale ``S`` and zero point ``Z`` for ``x`` at ``bits`` bits ([JQ] §2.1).

    The range is ``[min(x.min(), 0), max(x.max(), 0)]`` (widened to include 0), and

    - ``S = (rmax - rmin) / (2**bits - 1)``,
    - ``Z = -round(rmin / S)``, an integer in ``[0, 2**bits - 1]``.

    Then real 0 maps exactly to the code ``Z``. This is what PyTorch's
    ``MinMaxObserver`` computes for ``torch.quint8`` with the affine scheme.
    """
    check_values(x)
    bits = check_bits(bits)
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    rmin, rmax = torch.minimum(x.min(), zero), torch.maximum(x.max(), zero)
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


def fake_quantize(x: torch.Tensor, bits: int, per_channel: bool = False, axis: int = 0) -> torch.Tensor:
    """``dequantize(quantize(x))``: the values ``x`` takes after a round trip through ``bits``-bit codes."""
    if per_channel:
        q, s, z = linear_quantize_per_channel(x, bits, axis)
        return dequantize_per_channel(q, s, z, axis).to(x.dtype)
    q, s, z = linear_quantize(x, bits)
    return dequantize(q, s, z).to(x.dtype)


@torch.no_grad()
def quantize_model_linear(model: nn.Module, bits: int | dict[str, int], per_channel: bool = False) -> nn.Module:
    """A copy of ``model`` whose Linear/Conv2d weights went through ``bits``-bit linear quantization.

    Post-training quantization, simulated in float ("fake quantization"): the copy
    computes with the dequantized weights. ``bits`` is one int for every layer, or a
    dict ``{layer name: bits}`` (layers left out stay float). Biases stay float.
    Pruned weights stay exactly 0, because 0 is on the grid.
    """
    out = copy.deepcopy(model)
    layers = prunable_layers(out)
    plan = {name: bits for name in layers} if not isinstance(bits, dict) else dict(bits)
    unknown = sorted(set(plan) - set(layers))
    if unknown:
        raise ValueError(f"No layer named {unknown} in {type(model).__name__}; its layers are {sorted(layers)}.")
    for name, b in plan.items():
        w = layers[name].weight
        w.copy_(fake_quantize(w, check_bits(b), per_channel=per_channel))
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
