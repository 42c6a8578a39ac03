"""Integer-only inference of a fully connected layer ([JQ] §2.2-2.4).

Give the input activations, the weights and the output their own affine scheme
``r = S * (q - Z)`` ([JQ] Eq. 1): ``(S1, Z1)``, ``(S2, Z2)`` and ``(S3, Z3)``. The layer's
product ``r3 = sum_j r1_j * r2_j`` becomes, in codes ([JQ] Eq. 4-5),

    q3 = Z3 + M * sum_j (q1_j - Z1) (q2_j - Z2),       M = S1 * S2 / S3.

- :func:`integer_matmul`: the sum, in ``int32`` accumulators, expanded as in [JQ] Eq. 7-8
  so that the inner loop multiplies codes only:
  ``sum q1 q2 - Z2 * sum_j q1_j - Z1 * sum_j q2_j + N * Z1 * Z2``. The last two terms
  depend on the weights only and can be computed once; with symmetric weights (``Z2 = 0``)
  the second term, a sum over every input, disappears too.
- :func:`quantize_multiplier`: the one real number left, ``M``, as an integer: ``M = M0 * 2**-n``
  with ``M0`` in ``[0.5, 1)`` held as the ``int32`` ``m0 = round(M0 * 2**31)`` ([JQ] Eq. 6).
- :func:`multiply_by_quantized_multiplier`: ``round(acc * m0 / 2**(31 + n))`` with integer
  operations only (a 64-bit product and a rounding shift).
- :func:`integer_linear`: a whole layer: the bias in ``int32`` with scale ``S1 * S2`` and zero
  point 0 ([JQ] §2.4), the requantization to ``uint8`` codes, and a fused ReLU (a clamp).
- :func:`activation_ranges` and :func:`integer_mlp`: a stack of such layers (LeNet-300-100):
  the activations' scales and zero points chosen once on calibration images, then the whole
  network run on integer codes.

Everything between the input codes and the output codes is integer arithmetic; a float
appears only when the scales are chosen, once, before inference.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

from .quantization import LinearQuantized, check_bits, linear_quantize, quantize, scale_and_zero_point, symmetric_quantize

Q31 = 31  # m0 is a Q31 fixed-point number: M0 = m0 / 2**31
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def quantize_multiplier(M: float) -> tuple[int, int]:
    """``(m0, n)`` with ``M ≈ m0 * 2**-(31 + n)``, ``2**30 <= m0 <= 2**31 - 1`` ([JQ] Eq. 6).

    ``M = M0 * 2**-n`` with ``M0`` in ``[0.5, 1)`` (``n >= 0`` when ``M < 1``, the usual case;
    ``M >= 1`` gives ``n < 0``),
    and ``m0 = round(M0 * 2**31)``, an ``int32``. When ``M0`` is so close to 1 that it rounds
    to ``2**31``, which does not fit in an ``int32``, the result is ``(2**30, n - 1)``: the
    same number, one power of two over.
    """
    if isinstance(M, bool) or not isinstance(M, numbers.Real):
        raise TypeError(f"M must be a real number, got {type(M).__name__}.")
    M = float(M)
    if not (math.isfinite(M) and M > 0):
        raise ValueError(f"M must be a positive finite number, got {M}.")
    mantissa, exponent = math.frexp(M)  # M = mantissa * 2**exponent, 0.5 <= mantissa < 1
    m0 = round(mantissa * 2**Q31)
    n = -exponent
    if m0 == 2**Q31:
        m0, n = m0 // 2, n - 1
    return int(m0), int(n)


def multiply_by_quantized_multiplier(acc: torch.Tensor, m0: int, n: int) -> torch.Tensor:
    """``round(acc * m0 / 2**(31 + n))`` in integers (``int64``), halves rounded away from zero.

    The product ``acc * m0`` of an ``int32`` and a Q31 multiplier needs 64 bits; the rounding
    shift adds half of the divisor before shifting the magnitude right.
    """
    if acc.is_floating_point():
        raise TypeError(f"acc must hold integer accumulators, got {acc.dtype}.")
    product = acc.to(torch.int64) * int(m0)
    shift = Q31 + int(n)
    if shift <= 0:
        return product * 2 ** (-shift)
    magnitude = (product.abs() + (1 << (shift - 1))) >> shift
    return torch.where(product < 0, -magnitude, magnitude)


def integer_matmul(q1: torch.Tensor, z1: int, q2: torch.Tensor, z2: int) -> torch.Tensor:
    """``acc[b, k] = sum_j (q1[b, j] - z1) * (q2[k, j] - z2)`` as ``int32`` ([JQ] Eq. 7-8).

    ``q1`` holds one row of input codes per example (``[B, N]``), ``q2`` the weight codes in
    PyTorch's ``Linear`` layout (``[K, N]``). Computed as
    ``q1 @ q2.T - z2 * rowsum(q1) - z1 * rowsum(q2) + N * z1 * z2``: the matrix product
    multiplies codes only; the zero points enter through sums.
    """
    a = q1.to(torch.int64)
    w = q2.to(torch.int64)
    n = a.shape[-1]
    acc = a @ w.T - z2 * a.sum(dim=1, keepdim=True) - z1 * w.sum(dim=1) + n * z1 * z2
    if acc.numel() and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise OverflowError("the accumulators do not fit in int32.")
    return acc.to(torch.int32)


def integer_linear(x: LinearQuantized, w: LinearQuantized, bias: torch.Tensor | None, out_scale: float,
                   out_zero_point: int, relu: bool = False, bits: int = 8) -> LinearQuantized:
    """A ``Linear`` layer (``y = x W^T + b``, then ReLU if ``relu``) in integer arithmetic only ([JQ] §2.2-2.4).

    ``x``: the input codes with their scale and zero point (``[B, N]``); ``w``: the weight
    codes (``[K, N]``, per-tensor ``S2``, ``Z2``); ``bias``: the float bias, stored as ``int32``
    ``round(b / (S1 * S2))`` with zero point 0. The ``int32`` accumulators are scaled by the
    fixed-point ``M = S1 * S2 / S3`` and shifted by ``Z3``; the codes are clamped to
    ``[0, 2**bits - 1]``, or to ``[Z3, 2**bits - 1]`` with ``relu`` (ReLU fused into the clamp).
    Returns the output codes (``uint8`` at 8 bits) with ``(out_scale, out_zero_point)``.
    """
    bits = check_bits(bits)
    s1, z1 = float(x.scale), int(x.zero_point)
    s2, z2 = float(w.scale), int(w.zero_point)
    acc = integer_matmul(x.q, z1, w.q, z2).to(torch.int64)
    if bias is not None:
        acc = acc + torch.round(bias.detach().to(torch.float64) / (s1 * s2)).to(torch.int64)
    m0, n = quantize_multiplier(s1 * s2 / out_scale)
    codes = multiply_by_quantized_multiplier(acc, m0, n) + int(out_zero_point)
    low = int(out_zero_point) if relu else 0
    codes = codes.clamp(low, 2**bits - 1)
    return LinearQuantized(codes.to(torch.uint8 if bits <= 8 else torch.int32), float(out_scale), int(out_zero_point))


def _linear_layers(model: nn.Module) -> list[nn.Linear]:
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers or not all(isinstance(m, nn.Linear) for m in layers):
        raise ValueError(f"{type(model).__name__} is not a stack of Linear layers (LeNet-300-100 is); "
                         "integer_mlp runs only those.")
    return layers


@torch.no_grad()
def activation_ranges(model: nn.Module, x: torch.Tensor, bits: int = 8) -> list[tuple[float, int]]:
    """``(S, Z)`` of the input and of every layer's output of a Linear/ReLU stack, from the float model on ``x``.

    Calibration ([JQ] §3 uses running min/max): the ranges are the min/max seen on the
    calibration images ``x`` (widened to include 0), so choose them on held-out images,
    not on the images you report. Hidden layers are measured after their ReLU.
    """
    layers = _linear_layers(model)
    h = x.flatten(1)
    ranges = [scale_and_zero_point(h, bits)]
    for i, layer in enumerate(layers):
        h = layer(h)
        if i < len(layers) - 1:
            h = F.relu(h)
        ranges.append(scale_and_zero_point(h, bits))
    return ranges


@torch.no_grad()
def integer_mlp(model: nn.Module, x: torch.Tensor, ranges: list[tuple[float, int]],
                symmetric_weights: bool = False, bits: int = 8) -> LinearQuantized:
    """Run a Linear/ReLU stack (LeNet-300-100) on integer codes only: the output codes of its last layer.

    The input is quantized once with ``ranges[0]``; each layer is an :func:`integer_linear`
    with its weights quantized per tensor (affine ``uint8``-range codes, or symmetric signed
    codes with ``Z = 0`` if ``symmetric_weights``) and its output requantized with
    ``ranges[i + 1]``; ReLU is fused into the hidden layers' clamps. The predicted class is
    ``argmax`` of the output codes (the scale is positive, so the order is the logits').
    """
    layers = _linear_layers(model)
    if len(ranges) != len(layers) + 1:
        raise ValueError(f"ranges needs {len(layers) + 1} entries (input and each layer), got {len(ranges)}.")
    s, z = ranges[0]
    h = LinearQuantized(quantize(x.flatten(1), s, z, bits), s, z)
    for i, layer in enumerate(layers):
        w = symmetric_quantize(layer.weight, bits) if symmetric_weights else linear_quantize(layer.weight, bits)
        h = integer_linear(h, w, layer.bias, *ranges[i + 1], relu=i < len(layers) - 1, bits=bits)
    return h
