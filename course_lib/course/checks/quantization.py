"""Checks for notebook 04: linear (affine) quantization ([JQ] §2.1) and the fixed blog "quantize".

The typical mistakes named: dividing by ``2**bits`` instead of ``2**bits - 1``, ignoring
``bits`` (always 255 steps), a range that does not include 0, a zero point off by one or
with the wrong sign, rounding by truncation (``.int()``, ``floor``), a missing clamp,
forgetting the zero point when dequantizing, and a "quantize" that ignores its bit-width.
"""

from __future__ import annotations

from typing import Callable

import torch

from ... import quantization as ref
from .core import call, fail, passed


def _cases() -> list[tuple[torch.Tensor, int, str]]:
    gen = torch.Generator().manual_seed(4)
    mixed = torch.randn(400, generator=gen) * 0.3 + 0.05
    mixed[:5] = 0.0
    positive = torch.rand(200, generator=gen) * 2 + 0.5
    negative = -(torch.rand(200, generator=gen) * 0.7 + 0.1)
    weights = torch.randn(30, 20, generator=gen) * 0.05
    return [(mixed, 8, "x ~ N(0.05, 0.3^2) with some exact zeros"), (mixed, 4, "the same x"),
            (mixed, 2, "the same x"), (weights, 3, "a 30x20 weight matrix"),
            (positive, 8, "x > 0 only"), (negative, 5, "x < 0 only")]


def _as_number(v, what: str, shown: str) -> float:
    if isinstance(v, torch.Tensor):
        if v.numel() != 1:
            fail(f"{shown}: {what} must be one number, got a tensor of shape {tuple(v.shape)}.")
        return v.item()
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    fail(f"{shown}: {what} must be a number, got {type(v).__name__}.")


def check_linear_quantize(fn: Callable) -> None:
    """``fn(x, bits)`` must return ``(q, scale, zero_point)`` with ``x ≈ scale * (q - zero_point)``."""
    for x, bits, what in _cases():
        shown = f"linear_quantize({what}, bits={bits})"
        out = call(fn, x.clone(), bits, exercise="linear_quantize")
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            fail(f"{shown} must return three things: (q, scale, zero_point); got {type(out).__name__}.")
        q, s, z = out
        s = _as_number(s, "scale", shown)
        z = _as_number(z, "zero_point", shown)
        want_q, want_s, want_z = ref.linear_quantize(x, bits)
        qmax = 2**bits - 1
        rmin, rmax = min(x.min().item(), 0.0), max(x.max().item(), 0.0)
        if abs(s - want_s) > 1e-6 * want_s:
            if abs(s - (rmax - rmin) / 2**bits) < 1e-6 * want_s:
                fail(f"{shown}: scale = {s:.6g}: you divided the range by 2**bits. There are 2**bits codes "
                     f"but 2**bits - 1 steps between them: S = (rmax - rmin) / (2**bits - 1) = {want_s:.6g}.")
            if bits != 8 and abs(s - (rmax - rmin) / 255) < 1e-6 * want_s:
                fail(f"{shown}: scale = {s:.6g} is the 8-bit scale: bits is ignored. Use 2**bits - 1 steps.")
            if abs(s - (x.max().item() - x.min().item()) / qmax) < 1e-6 * abs(s):
                fail(f"{shown}: scale = {s:.6g}: the range must include 0, so that real 0 is exact: "
                     "rmin = min(x.min(), 0), rmax = max(x.max(), 0).")
            fail(f"{shown}: scale = {s:.6g}, expected (rmax - rmin) / (2**bits - 1) = {want_s:.6g}.")
        if z != want_z:
            if float(z) != int(z):
                fail(f"{shown}: zero_point = {z} is not an integer. Z = -round(rmin / S) must be an integer code.")
            if abs(z - want_z) == 1:
                fail(f"{shown}: zero_point = {int(z)}, expected {want_z}: zero point off by one. "
                     "Z = -round(rmin / S) with torch.round (not int(), floor or ceil), so that 0 maps to a code exactly.")
            if z == -want_z:
                fail(f"{shown}: zero_point = {int(z)} has the wrong sign: Z = -round(rmin / S) ≥ 0 since rmin ≤ 0.")
            fail(f"{shown}: zero_point = {z}, expected -round(rmin / S) = {want_z}.")
        if not isinstance(q, torch.Tensor) or q.shape != x.shape:
            fail(f"{shown}: q must be a tensor of x's shape {tuple(x.shape)}, got "
                 f"{type(q).__name__} {tuple(q.shape) if isinstance(q, torch.Tensor) else ''}.")
        qf = q.to(torch.float64)
        if not torch.equal(qf, torch.round(qf)):
            fail(f"{shown}: the codes q are not integers. Round: q = torch.round(x / S) + Z.")
        if torch.equal(qf, want_q.to(torch.float64)):
            continue
        xs = x.to(torch.float64) / s
        if torch.equal(qf, (torch.trunc(xs) + z).clamp(0, qmax)) or torch.equal(qf, (torch.floor(xs) + z).clamp(0, qmax)):
            fail(f"{shown}: rounding by truncation (int(), .long(), floor). Use torch.round(x / S) so that each "
                 "value goes to the nearest code; truncation is off by up to a full step.")
        if qf.min() < 0 or qf.max() > qmax:
            fail(f"{shown}: codes outside [0, {qmax}] (min {qf.min():.0f}, max {qf.max():.0f}): clamp them with "
                 "torch.clamp(q, 0, 2**bits - 1).")
        if torch.equal(qf, (torch.round(xs) - z).clamp(0, qmax)):
            fail(f"{shown}: you subtracted the zero point. Quantizing adds it: q = round(x / S) + Z.")
        if torch.equal(qf, torch.round(xs).clamp(0, qmax)):
            fail(f"{shown}: the zero point is missing: q = round(x / S) + Z.")
        wrong = int((qf != want_q.to(torch.float64)).sum())
        fail(f"{shown}: {wrong} of {x.numel()} codes differ from clamp(round(x / S) + Z, 0, 2**bits - 1).")
    passed("linear_quantize: scale, zero point and codes agree with the affine scheme r = S(q - Z) at 2 to 8 bits.")


def check_dequantize(fn: Callable) -> None:
    """``fn(q, scale, zero_point)`` must return ``scale * (q - zero_point)`` as floats."""
    for x, bits, what in _cases():
        q, s, z = ref.linear_quantize(x, bits)
        shown = f"dequantize(codes of {what} at {bits} bits, scale={s:.4g}, zero_point={z})"
        got = call(fn, q.clone(), s, z, exercise="dequantize")
        if not isinstance(got, torch.Tensor) or got.shape != q.shape:
            fail(f"{shown} must return a tensor of q's shape {tuple(q.shape)}.")
        if not got.is_floating_point():
            fail(f"{shown} returned {got.dtype}: dequantized values are reals. Compute in float: s * (q.float() - z).")
        want = ref.dequantize(q, s, z).to(torch.float64)
        g = got.to(torch.float64)
        if torch.allclose(g, want, atol=1e-6, rtol=1e-5):
            continue
        qd = q.to(torch.float64)
        if torch.allclose(g, s * qd, atol=1e-6):
            fail(f"{shown}: you forgot the zero point: r = S * (q - Z), not S * q.")
        if torch.allclose(g, s * (qd + z), atol=1e-6):
            fail(f"{shown}: wrong sign of the zero point: r = S * (q - Z).")
        if torch.allclose(g, (qd - z) / s, atol=1e-6):
            fail(f"{shown}: you divided by the scale. Dequantizing multiplies: r = S * (q - Z).")
        fail(f"{shown}: values differ from S * (q - Z) (largest difference {(g - want).abs().max():.3g}).")
    passed("dequantize inverts the codes: S * (q - Z); real 0 comes back exactly.")


def check_fake_quantize(fn: Callable) -> None:
    """``fn(x, bits)``: the fixed blog "quantize", returning ``x`` after a ``bits``-bit round trip."""
    gen = torch.Generator().manual_seed(5)
    w = torch.randn(64, 32, generator=gen) * 0.08
    w[w.abs() < 0.02] = 0.0
    outs = {}
    for bits in (8, 4, 2):
        shown = f"fake_quantize(a 64x32 pruned weight matrix, bits={bits})"
        got = call(fn, w.clone(), bits, exercise="fake_quantize")
        if not isinstance(got, torch.Tensor) or got.shape != w.shape:
            fail(f"{shown} must return a tensor of w's shape {tuple(w.shape)} (the dequantized weights).")
        if not got.is_floating_point():
            fail(f"{shown} returned integer codes ({got.dtype}); return the weights after the round trip: dequantize(q, S, Z).")
        outs[bits] = got
        if torch.equal(got, ref.broken_blog_quantize(w, bits)):
            fail(f"{shown}: this is still the blog version (round(w / 2), clamped to [-1, 1]); it never reads bits.")
        n = ref.distinct_values(got)
        if n > 2**bits:
            fail(f"{shown} holds {n} distinct values, more than 2**{bits} = {2**bits}: bits is ignored.")
        if not torch.all(got[w == 0] == 0):
            fail(f"{shown}: pruned (zero) weights came back non-zero. Include 0 in the range so it is exact.")
        want = ref.fake_quantize(w, bits)
        if not torch.allclose(got, want, atol=1e-6):
            err = (got - w).abs().max().item()
            step = ref.scale_and_zero_point(w, bits)[0]
            if err > step / 2 + 1e-6:
                fail(f"{shown}: a weight moved by {err:.3g}, more than half a step S/2 = {step / 2:.3g}. "
                     "Use linear_quantize then dequantize (round to nearest, not truncate).")
            fail(f"{shown} differs from dequantize(*linear_quantize(w, bits)) by up to {(got - want).abs().max():.3g}.")
    if torch.equal(outs[8], outs[2]):
        fail("fake_quantize gives the same result at 8 and 2 bits: bits is ignored.")
    passed("fake_quantize uses its bit-width: at most 2**bits values, zeros stay zero, error within half a step.")
