"""Checks for notebook 04: linear quantization ([JQ] §2.1), fake quantization with the
straight-through estimator ([JQ] §3, [STE]) and the fixed-point multiplier ([JQ] §2.2, Eq. 6).

The contracts (from the notebook):

- ``linear_quantize(x, bits)`` returns ``(q, scale, zero_point)``: ``q`` an integer tensor of
  ``x``'s shape, ``scale`` a Python float, ``zero_point`` a Python int; one range for the whole
  tensor (per-tensor), widened to include 0; ``x`` is left as it was.
- ``dequantize(q, scale, zero_point)`` returns the reals ``S * (q - Z)`` as a float tensor and
  leaves ``q`` as it was.
- ``fake_quantize_ste(x, scale, zero_point, bits)`` returns ``S * (clamp(round(x / S) + Z, 0,
  2**bits - 1) - Z)`` in ``x``'s dtype and shape, whose gradient is the incoming one where
  ``S * (0 - Z) <= x <= S * (2**bits - 1 - Z)`` and 0 elsewhere; ``x`` is left as it was.
- ``quantize_multiplier(M)`` returns two ints ``(m0, n)`` with ``M0 = M * 2**n`` in ``[0.5, 1)``
  and ``m0 = round(M0 * 2**31)`` in ``[2**30, 2**31 - 1]``.

Every check runs small hand-made cases first (so a failure shows the smallest input), keeps
pristine copies of the arguments (an in-place change such as ``x /= scale`` or
``q -= zero_point`` is named), coerces the answers (a 0-d tensor is not a Python number, float
codes are not integer codes), and names the mistake whose output matches what came back:
dividing by ``2**bits`` instead of ``2**bits - 1``, ignoring ``bits``, per-channel ranges, a
range that does not include 0, a zero point off by one or with the wrong sign, truncation
instead of rounding, a missing clamp, a forgotten or subtracted zero point; for the STE, plain
rounding (a zero gradient), a gradient passed outside the clipping range or inverted, a forward
value that is not quantized, a result cut off from the graph, a backward that ignores or scales
the incoming gradient; for the multiplier, ``M0 = 1`` at powers of two, an ``m0`` of ``2**31``,
truncation, a wrong sign or Q-format. Where two answers are right (a value exactly between two
codes, a value within half a step outside the clipping range, an exact tie in ``M0 * 2**31``),
both pass. When no mistake fits, the message shows the input, the expected value and the value
returned.
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable

import numpy as np
import torch

from ... import integer_inference as ref_int
from ... import quantization as ref
from .core import CheckFailed, as_float, as_int, as_tensor, call, call_unchanged, fail, mismatch, passed

def show(x: torch.Tensor, limit: int = 12) -> str:
    """A small tensor as a short list (4 significant digits), a large one by its shape."""
    if x.numel() > limit:
        return f"a tensor of shape {tuple(x.shape)}"
    if x.is_floating_point():
        return str(_rounded(x.tolist()))
    return str(x.tolist())


def differs(fn_name: str, inputs: str, want: torch.Tensor, got: torch.Tensor, what: str = "") -> str:
    """:func:`mismatch` for tensors: small ones as short lists, large ones by their first differing entry."""
    words = f"{what} " if what else ""
    if want.numel() <= 12:
        text = mismatch(fn_name, inputs, _plain(want), _plain(got))
        return text.replace(") returned ", f") returned {words}", 1) if words else text
    g, w = got.detach().to(torch.float64), want.detach().to(torch.float64)
    off = ~torch.isclose(g, w, atol=1e-6, rtol=1e-5)
    flat = int(off.flatten().nonzero()[0]) if off.any() else 0
    where = list(np.unravel_index(flat, tuple(want.shape))) if want.dim() else []
    at = "[" + ", ".join(str(int(i)) for i in where) + "]"
    return (f"{fn_name}({inputs}) returned {words}that differ at {int(off.sum())} of {want.numel()} entries; "
            f"the first at {at}: {_plain(got.flatten()[flat])!r} instead of {_plain(want.flatten()[flat])!r}.")


def _plain(t: torch.Tensor) -> Any:
    return _rounded(t.tolist()) if t.is_floating_point() else t.tolist()


def _rounded(v: Any) -> Any:
    if isinstance(v, list):
        return [_rounded(e) for e in v]
    return float(f"{v:.4g}") + 0.0  # + 0.0: no -0.0


def _close(a: float, b: float, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-30)


# ----------------------------------------------------------------- linear_quantize


def _cases() -> list[tuple[torch.Tensor, int, str | None]]:
    """``(x, bits, description)``, smallest first; a ``None`` description means: show ``x`` itself."""
    gen = torch.Generator().manual_seed(4)
    mixed = torch.randn(400, generator=gen) * 0.3 + 0.05
    mixed[:5] = 0.0
    positive = torch.rand(200, generator=gen) * 2 + 0.5
    negative = -(torch.rand(200, generator=gen) * 0.7 + 0.1)
    weights = torch.randn(30, 20, generator=gen) * 0.05
    weights[:10] *= 4  # rows of different ranges: per-channel ranges differ from the tensor's
    return [
        (torch.tensor([0.5, -0.25, 1.0, 0.0]), 2, None),
        (torch.tensor([1.2, 0.4, 0.9, 2.0, 0.7]), 3, None),  # x > 0: the range must still include 0
        (torch.tensor([-0.6, -0.1, -0.35, -0.9]), 2, None),  # x < 0
        (torch.tensor([0.3]), 3, None),
        (torch.tensor([-0.2, -0.2, -0.2]), 4, None),
        (torch.tensor([0.75, 0.25, -0.5, 0.0, 0.125]), 1, None),
        (_PROBE.clone(), 2, None),  # rows of different ranges
        (mixed, 8, "x ~ N(0.05, 0.3^2) with some exact zeros"), (mixed, 4, "the same x"),
        (mixed, 2, "the same x"), (weights, 3, "a 30x20 weight matrix"),
        (positive, 8, "x > 0 only"), (negative, 5, "x < 0 only"),
    ]


def _shown(name: str, x: torch.Tensor, bits: int, what: str | None) -> str:
    return f"{name}({what if what else 'x=' + show(x)}, bits={bits})"


def _ambiguous(scaled: torch.Tensor) -> torch.Tensor:
    """Where ``x / S`` lies (within rounding error) on a half: either neighbouring code is right."""
    frac = scaled - torch.floor(scaled)
    return (frac - 0.5).abs() < 1e-4


def _same_codes(got: torch.Tensor, want: torch.Tensor, scaled: torch.Tensor) -> bool:
    """``got == want`` except, at values exactly between two codes, by at most one code."""
    diff = got != want
    if not diff.any():
        return True
    return bool((_ambiguous(scaled)[diff]).all() and ((got - want).abs()[diff] <= 1).all())


def _near(got: torch.Tensor, want: torch.Tensor, loose: torch.Tensor) -> bool:
    """``got == want`` except at the ``loose`` positions, where one code either way is allowed."""
    diff = got != want
    return bool(loose[diff].all() and ((got - want).abs()[diff] <= 1).all())


def _per_channel(x: torch.Tensor, bits: int) -> dict[int, ref.LinearQuantized]:
    """Per-channel quantization along every axis of ``x`` (what a per-channel range gives)."""
    return {axis: ref.linear_quantize_per_channel(x, bits, axis) for axis in range(x.dim())}


def _axis_name(x: torch.Tensor, axis: int) -> str:
    if x.dim() == 1:
        return "one per value"
    return {0: "one per row", 1: "one per column"}.get(axis, f"one per slice along dim {axis}")


_PER_TENSOR = ("This exercise is per-tensor quantization: one range [min(x.min(), 0), max(x.max(), 0)] "
               "over the whole tensor, so scale is one float and zero_point one int.")


def _entries(value: Any) -> torch.Tensor | None:
    """``value`` as a flat float64 tensor if it is a tensor, an array or a list; else None."""
    if not isinstance(value, (torch.Tensor, np.ndarray, list, tuple)):
        return None
    try:
        t = value.detach() if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value, dtype=np.float64))
        return t.reshape(-1).to(torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return None


def _per_channel_axis(value: Any, x: torch.Tensor, bits: int, index: int) -> int | None:
    """The axis along which ``value`` (a scale or zero point) holds one entry per channel of ``x``, if any."""
    t = _entries(value)
    if t is None:
        return None
    for axis, pc in _per_channel(x, bits).items():
        if t.numel() == x.shape[axis] and torch.allclose(t, pc[index].to(torch.float64), rtol=1e-5, atol=1e-9):
            return axis
    return None


_PROBE = torch.tensor([[0.1, -1.0, 0.0], [2.0, -0.1, 0.4]])


def _number_or_channels(fn: Callable, value: Any, what: str, x: torch.Tensor, bits: int, shown: str,
                        index: int) -> None:
    """Name per-channel ranges when ``scale`` / ``zero_point`` came back as one entry per channel.

    A tensor of one entry on a 1-D ``x`` may be a per-channel range too: the function is then tried
    on a 2x3 matrix to see whether it gives one entry per row or column there.
    """
    t = _entries(value)
    if t is None:
        return
    axis = _per_channel_axis(value, x, bits, index)
    if axis is not None and t.numel() > 1:
        fail(f"{shown}: {what} has {t.numel()} entries, {_axis_name(x, axis)}: you computed per-channel "
             f"ranges. {_PER_TENSOR}")
    if t.numel() <= 1:
        try:
            probe = call(fn, _PROBE.clone(), 2, exercise="linear_quantize")
        except CheckFailed:
            return
        if isinstance(probe, (tuple, list)) and len(probe) == 3:
            axis = _per_channel_axis(probe[index], _PROBE, 2, index)
            if axis is not None:
                fail(f"{shown}: {what} is a tensor; on the matrix x={show(_PROBE)} your function gives one "
                     f"{what} {_axis_name(_PROBE, axis).removeprefix('one ')}: you computed per-channel ranges. "
                     f"{_PER_TENSOR}")
        return
    fail(f"{shown}: {what} is a {type(value).__name__} of {t.numel()} entries. {_PER_TENSOR}")


def check_linear_quantize(fn: Callable) -> None:
    """``fn(x, bits)`` must return ``(q, scale, zero_point)`` with ``x ≈ scale * (q - zero_point)``."""
    for x, bits, what in _cases():
        shown = _shown("linear_quantize", x, bits, what)
        want_q, want_s, want_z = ref.linear_quantize(x, bits)
        out = call_unchanged(fn, x, bits, exercise="linear_quantize")
        _check_linear_quantize_case(fn, out, x, bits, shown, want_q, want_s, want_z)
    passed("linear_quantize: scale, zero point and codes follow the affine scheme r = S(q - Z), 1-8 bits.")


def _check_linear_quantize_case(fn, out, x, bits, shown, want_q, want_s, want_z) -> None:
    if isinstance(out, torch.Tensor):
        fail(f"{shown} returned one tensor; return three things: (q, scale, zero_point).")
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        n = f"{len(out)} things" if isinstance(out, (tuple, list)) else f"a {type(out).__name__}"
        fail(f"{shown} returned {n}; return three things: (q, scale, zero_point).")
    q, s, z = out
    if not isinstance(q, torch.Tensor) and any(isinstance(v, torch.Tensor) and v.shape == x.shape for v in (s, z)):
        fail(f"{shown}: the codes come first. Return them in the order (q, scale, zero_point).")
    if (isinstance(s, (int, np.integer)) and not isinstance(s, bool) and isinstance(z, (float, np.floating))
            and _close(float(z), want_s) and int(s) == want_z):
        fail(f"{shown}: scale and zero_point are swapped (scale = {s}, zero_point = {z:.4g}). "
             "Return (q, scale, zero_point) in that order.")
    _number_or_channels(fn, s, "scale", x, bits, shown, 1)
    _number_or_channels(fn, z, "zero_point", x, bits, shown, 2)
    s = as_float(s, f"{shown}: scale")
    if isinstance(z, (float, np.floating)) and not isinstance(z, bool):
        if float(z) != int(z):
            fail(f"{shown}: zero_point = {z} is not an integer. Z = -round(rmin / S) is an integer code: round it.")
        fail(f"{shown}: zero_point is the float {z}; return a Python int (int(...)), the code of real 0.")
    z = as_int(z, f"{shown}: zero_point")
    qmax = 2**bits - 1
    lo, hi = x.min().item(), x.max().item()
    rmin, rmax = min(lo, 0.0), max(hi, 0.0)
    if not _close(s, want_s):
        _diagnose_scale(fn, s, want_s, x, bits, shown, rmin, rmax)
    if z != want_z:
        _diagnose_zero_point(z, want_z, x, bits, shown, rmin, s)
    if isinstance(q, torch.Tensor) and q.is_floating_point() and q.shape == x.shape:
        if not torch.equal(q, torch.round(q)):
            fail(f"{shown}: the codes q are not integers (e.g. {q.flatten()[(q != torch.round(q)).flatten()][0]:.4g})."
                 " Round: q = torch.round(x / S) + Z, then .int().")
    q = as_tensor(q, f"{shown}: the codes q", kind="int", shape=x.shape).to(torch.int64)
    want = want_q.to(torch.int64)
    scaled = x.to(torch.float64) / want_s
    if _same_codes(q, want, scaled):
        return
    for kind in _code_kinds(q, x, bits, s, z):
        if _explains_every_case(fn, kind):
            fail(f"{shown}: {_CODE_MISTAKES[kind]}")
    qmin = int(q.min())
    if qmin < 0 or int(q.max()) > qmax:
        fail(f"{shown}: codes outside [0, {qmax}] (min {qmin}, max {int(q.max())}): clamp them with "
             "torch.clamp(q, 0, 2**bits - 1).")
    fail(differs("linear_quantize", shown.removeprefix("linear_quantize(")[:-1], want, q, "codes")
         + " Expected q = clamp(round(x / S) + Z, 0, 2**bits - 1).")


_CODE_MISTAKES = {
    "truncation": "rounding by truncation (int(), .long(), floor). Use torch.round(x / S) so that each value "
                  "goes to the nearest code; truncation is off by up to a full step.",
    "subtracted": "you subtracted the zero point. Quantizing adds it: q = round(x / S) + Z.",
    "missing": "the zero point is missing from the codes: q = round(x / S) + Z.",
    "shifted": "the codes are round((x - rmin) / S). Round x / S first, then add the integer zero point: "
               "q = round(x / S) + Z, so that real 0 lands exactly on the code Z.",
    "signed": "the codes are shifted by -2**(bits - 1) (signed codes). This scheme uses unsigned codes "
              "0 .. 2**bits - 1: q = clamp(round(x / S) + Z, 0, 2**bits - 1).",
    "per-channel": f"the codes come from per-channel ranges (one range per row or column). {_PER_TENSOR}",
}


def _code_kinds(q: torch.Tensor, x: torch.Tensor, bits: int, s: float, z: int) -> list[str]:
    """The known mistakes whose codes equal ``q`` on this ``x`` (with the right ``s`` and ``z``)."""
    qmax = 2**bits - 1
    want = ref.linear_quantize(x, bits).q.to(torch.int64)
    scaled = x.to(torch.float64) / s
    single = x / s  # in x's own precision, as the learner's code computes it
    rmin = min(x.min().item(), 0.0)
    half = 2 ** (bits - 1)
    variants = {
        "truncation": [(torch.trunc(t) + z).clamp(0, qmax) for t in (scaled, single)]
                      + [(torch.floor(t) + z).clamp(0, qmax) for t in (scaled, single)]
                      + [torch.trunc(t + z).clamp(0, qmax) for t in (scaled, single)],
        "subtracted": [(torch.round(scaled) - z).clamp(0, qmax)],
        "missing": [torch.round(scaled).clamp(0, qmax)],
        "shifted": [torch.round((x.to(torch.float64) - rmin) / s).clamp(0, qmax)],
        "signed": [want - half, (torch.round(scaled) + z - half).clamp(-half, half - 1)],
        # on a 1-D x, a range per row (along the last dim) is the tensor's own range
        "per-channel": [pc.q for pc in _per_channel(x, bits).values()] if x.dim() > 1 else [want],
    }
    near_integer = (scaled - torch.round(scaled)).abs() < 1e-4
    return [kind for kind, options in variants.items()
            if any(_same_codes(q, v.to(torch.int64), scaled) or _near(q, v.to(torch.int64), near_integer)
                   for v in options)]


def _explains_every_case(fn: Callable, kind: str) -> bool:
    """Does the mistake ``kind`` give exactly the codes ``fn`` returns on every case (where S and Z are right)?

    A tiny input can make two mistakes give the same codes; the diagnosis names one only if it
    fits every case.
    """
    for x, bits, _ in _cases():
        try:
            out = call(fn, x.clone(), bits, exercise="linear_quantize")
            q, s, z = out
            s, z = float(s), int(z)
        except (CheckFailed, TypeError, ValueError, RuntimeError):
            continue  # a crash on another input says nothing about this mistake
        want_s, want_z = ref.scale_and_zero_point(x, bits)
        if not (_close(s, want_s) and z == want_z):
            continue
        if not isinstance(q, torch.Tensor) or q.shape != x.shape or q.is_floating_point() or q.dtype == torch.bool:
            return False
        if kind not in _code_kinds(q.detach().to(torch.int64), x, bits, want_s, want_z):
            return False
    return True


_SCALE_MISTAKES = {
    "2**bits": "you divided the range by 2**bits. There are 2**bits codes but 2**bits - 1 steps between them: "
               "S = (rmax - rmin) / (2**bits - 1).",
    "8 bits": "this is the 8-bit scale (rmax - rmin) / 255 whatever bits is: bits is ignored. "
              "Use 2**bits - 1 steps.",
    "bits - 1": "this is the scale for bits - 1 bits, (rmax - rmin) / (2**(bits - 1) - 1). "
                "Use 2**bits - 1 steps: S = (rmax - rmin) / (2**bits - 1).",
    "2**(bits - 1)": "you divided the range by 2**(bits - 1) (note that 1 << bits - 1 is 1 << (bits - 1)). "
                     "Use 2**bits - 1 steps: S = (rmax - rmin) / (2**bits - 1).",
    "/ bits": "this is (rmax - rmin) / bits. bits is a number of bits: there are 2**bits - 1 steps, "
              "S = (rmax - rmin) / (2**bits - 1).",
    "brackets": "brackets: (rmax - rmin) / 2**bits - 1 subtracts 1 after dividing. "
                "S = (rmax - rmin) / (2**bits - 1).",
    "include 0": "the range must include 0, so that real 0 is exact: rmin = min(x.min(), 0), "
                 "rmax = max(x.max(), 0).",
    "symmetric": "this comes from a symmetric range [-max|x|, max|x|]. The affine scheme uses "
                 "[min(x.min(), 0), max(x.max(), 0)]: S = (rmax - rmin) / (2**bits - 1).",
    "per-channel": f"this is the scale of one channel (one row or column): per-channel ranges. {_PER_TENSOR}",
}


def _scale_kinds(s: float, x: torch.Tensor, bits: int) -> list[str]:
    """The known mistakes whose scale is ``s`` on this ``x`` (a right scale can be one too)."""
    lo, hi = x.min().item(), x.max().item()
    span = max(hi, 0.0) - min(lo, 0.0)
    m = max(abs(lo), abs(hi))
    steps = 2**bits - 1
    formulas = {
        "2**bits": [span / 2**bits],
        "8 bits": [span / 255],
        "bits - 1": [span / (2 ** (bits - 1) - 1)] if bits > 1 else [],
        "2**(bits - 1)": [span / 2 ** (bits - 1)],
        "/ bits": [span / bits],
        "brackets": [span / 2**bits - 1],
        "include 0": [(hi - lo) / steps],
        "symmetric": [2 * m / steps, m / steps, m / 2 ** (bits - 1)] + ([m / (2 ** (bits - 1) - 1)] if bits > 1 else []),
        "per-channel": [float(v) for pc in _per_channel(x, bits).values() for v in pc.scale] if x.dim() > 1
                       else [span / steps],
    }
    return [kind for kind, values in formulas.items() if any(_close(s, v) for v in values if v > 0 or kind == "brackets")]


def _explains_scale(fn: Callable, kind: str) -> bool:
    """Does the mistake ``kind`` give the scale ``fn`` returns on every case?"""
    for x, bits, _ in _cases():
        try:
            s = float(call(fn, x.clone(), bits, exercise="linear_quantize")[1])
        except (CheckFailed, TypeError, ValueError, RuntimeError, IndexError, KeyError):
            continue  # a crash on another input says nothing about this mistake
        if kind not in _scale_kinds(s, x, bits):
            return False
    return True


def _diagnose_scale(fn, s, want_s, x, bits, shown, rmin, rmax) -> None:
    for kind in _scale_kinds(s, x, bits):
        if _explains_scale(fn, kind):
            fail(f"{shown}: scale = {s:.6g}, expected {want_s:.6g}: {_SCALE_MISTAKES[kind]}")
    for other in range(1, 17):
        if other != bits and _close(s, (rmax - rmin) / (2**other - 1)):
            fail(f"{shown}: scale = {s:.6g} is the {other}-bit scale (rmax - rmin) / {2**other - 1}: you used "
                 f"bits={other} instead of bits={bits}. Use 2**bits - 1 = {2**bits - 1} steps.")
    fail(f"{shown}: scale = {s:.6g}, expected (rmax - rmin) / (2**bits - 1) = {want_s:.6g} "
         f"(rmin = {rmin:.4g}, rmax = {rmax:.4g}).")


def _diagnose_zero_point(z, want_z, x, bits, shown, rmin, s) -> None:
    if z == -want_z and want_z != 0:
        fail(f"{shown}: zero_point = {z} has the wrong sign: Z = -round(rmin / S) >= 0 since rmin <= 0.")
    if abs(z - want_z) == 1:
        fail(f"{shown}: zero_point = {z}, expected {want_z}: zero point off by one. "
             "Z = -round(rmin / S) with round (not int(), floor or ceil), so that 0 maps to a code exactly.")
    if x.dim() > 1 and any(z == int(v) for pc in _per_channel(x, bits).values() for v in pc.zero_point):
        fail(f"{shown}: zero_point = {z} is the zero point of one channel: per-channel ranges. {_PER_TENSOR}")
    fail(f"{shown}: zero_point = {z}, expected -round(rmin / S) = -round({rmin:.4g} / {s:.4g}) = {want_z}.")


# ----------------------------------------------------------------- dequantize


def _dequantize_cases() -> list[tuple[torch.Tensor, float, int, str | None]]:
    small = [
        (torch.tensor([0, 1, 2, 3], dtype=torch.int32), 0.5, 1, None),
        (torch.tensor([[7, 0], [3, 5]], dtype=torch.int64), 0.25, 3, None),
        (torch.tensor([2, 0, 1], dtype=torch.int32), 1.5, 2, None),
    ]
    for x, bits, what in _cases()[7:]:
        q, s, z = ref.linear_quantize(x, bits)
        small.append((q, s, z, f"codes of {what} at {bits} bits"))
    return small


def check_dequantize(fn: Callable) -> None:
    """``fn(q, scale, zero_point)`` must return ``scale * (q - zero_point)`` as floats."""
    for q, s, z, what in _dequantize_cases():
        shown = f"dequantize({what if what else 'q=' + show(q)}, scale={s:.4g}, zero_point={z})"
        want = ref.dequantize(q, s, z).to(torch.float64)
        got = call_unchanged(fn, q, s, z, exercise="dequantize")
        if isinstance(got, torch.Tensor) and not got.is_floating_point():
            fail(f"{shown} returned {got.dtype}: dequantized values are reals. Compute in float: "
                 "s * (q.float() - z).")
        g = as_tensor(got, f"The value returned by {shown}", kind="float", shape=q.shape).to(torch.float64)
        if torch.allclose(g, want, atol=1e-6, rtol=1e-5):
            continue
        qd = q.to(torch.float64)
        variants = [
            (s * qd, "you forgot the zero point: r = S * (q - Z), not S * q."),
            (s * (qd + z), "wrong sign of the zero point: r = S * (q - Z), not S * (q + Z)."),
            ((qd - z) / s, "you divided by the scale. Dequantizing multiplies: r = S * (q - Z)."),
            (s * qd - z, "brackets: S * q - Z subtracts Z after scaling. r = S * (q - Z)."),
            (s * qd + z, "you added the zero point after scaling. Subtract it from the codes first: r = S * (q - Z)."),
            (qd - z, "the scale is missing: r = S * (q - Z)."),
            ((qd - z) * int(s), "you turned the scale into an int; keep it a float: r = S * (q - Z)."),
        ]
        for value, words in variants:
            if torch.allclose(g, value, atol=1e-6, rtol=1e-5):
                fail(f"{shown}: {words}")
        fail(differs("dequantize", shown.removeprefix("dequantize(")[:-1], want, g) + " r = S * (q - Z).")
    passed("dequantize inverts the codes: S * (q - Z); real 0 comes back exactly.")


# ----------------------------------------------------------------- fake_quantize_ste


def _ste_cases() -> list[tuple[torch.Tensor, float, int, int, torch.Tensor, str | None]]:
    """``(x, scale, zero_point, bits, upstream gradient, description)``, smallest first.

    Every case has values inside and outside the clipping range; the hand-made ones keep
    clear of its edges and of rounding ties, so that their expected answer is unambiguous.
    """
    gen = torch.Generator().manual_seed(7)
    weights = torch.randn(40, 25, generator=gen) * 0.3
    s3, z3 = ref.scale_and_zero_point(weights, 3, clip_std=1.5)
    s8, z8 = ref.scale_and_zero_point(weights, 8, clip_std=2.0)
    doubles = torch.randn(300, generator=gen, dtype=torch.float64)
    s4, z4 = ref.scale_and_zero_point(doubles, 4, clip_std=1.0)
    relu = torch.relu(torch.randn(200, generator=gen))
    upstream = lambda t: (torch.rand(t.shape, generator=gen, dtype=t.dtype) + 0.5)  # noqa: E731
    hand = torch.tensor([-0.8, -0.4, -0.1, 0.0, 0.2, 0.45, 0.9])
    matrix = torch.tensor([[0.07, -0.62, 0.33], [0.71, -0.18, 0.0]])
    return [
        (hand, 0.25, 1, 2, torch.ones_like(hand), None),
        (matrix, 0.1, 3, 3, torch.ones_like(matrix), None),
        (weights, s3, z3, 3, upstream(weights), "a 40x25 weight matrix, its range clipped at 1.5 std"),
        (weights, s8, z8, 8, upstream(weights), "the same matrix, clipped at 2 std"),
        (doubles, s4, z4, 4, upstream(doubles), "300 float64 values, clipped at 1 std"),
        (relu, 1.0 / 15, 0, 4, upstream(relu), "post-ReLU activations (x >= 0), range [0, 1]"),
    ]


def _ste_reference(x: torch.Tensor, s: float, z: int, bits: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(forward values in float64, gradient mask, positions where either gradient is right)."""
    qmax = 2**bits - 1
    lo, hi = s * (0 - z), s * (qmax - z)
    xd = x.detach().to(torch.float64)
    values = ref.fake_quantize_ste(x.detach(), s, z, bits).to(torch.float64)
    inside = (xd >= lo) & (xd <= hi)
    # Within half a step outside the range, x still rounds to the first or last code: counting
    # it as inside is PyTorch's convention (torch.fake_quantize_per_tensor_affine). The edges
    # themselves may go either way too.
    eps = 1e-6 * s
    either = ((xd < lo) & (xd >= lo - s / 2 - eps)) | ((xd > hi) & (xd <= hi + s / 2 + eps))
    return values, inside, either


def _on_edge(x: torch.Tensor, s: float, z: int, bits: int) -> torch.Tensor:
    """Where ``x`` sits exactly on an end of the clipping range: any gradient between 0 and the
    incoming one is right there (``torch.clamp`` gives 0 at scalar bounds, half at tensor bounds)."""
    xd = x.detach().to(torch.float64)
    lo, hi = s * (0 - z), s * (2**bits - 1 - z)
    return ((xd - lo).abs() <= 1e-6 * s) | ((xd - hi).abs() <= 1e-6 * s)


def _ste_shown(x, s, z, bits, what) -> str:
    return f"fake_quantize_ste({what if what else 'x=' + show(x)}, scale={s:.4g}, zero_point={z}, bits={bits})"


def _ste_answer(out: Any, x: torch.Tensor, shown: str) -> torch.Tensor:
    """What came back, as a tensor of ``x``'s dtype and shape (graph kept), or a failure naming what it is."""
    if isinstance(out, (tuple, list)):
        fail(f"{shown} returned a {type(out).__name__} of {len(out)} things; return one tensor, the fake-quantized "
             "values (their gradient is the straight-through estimator).")
    if isinstance(out, torch.Tensor) and not out.is_floating_point():
        fail(f"{shown} returned integer codes ({out.dtype}); return the values they stand for, S * (q - Z), "
             "as a float tensor that gradients can flow through.")
    if isinstance(out, torch.Tensor) and out.dtype != x.dtype and out.shape == x.shape:
        fail(f"{shown} returned {out.dtype} for a {x.dtype} x; keep x's dtype (a layer's weights stay float32).")
    as_tensor(out, f"The value returned by {shown}", kind="float", shape=x.shape, graph=True)
    return out


def _forward_variants(x: torch.Tensor, s: float, z: int, bits: int) -> list[tuple[torch.Tensor, str]]:
    qmax = 2**bits - 1
    xd = x.detach().to(torch.float64)
    lo, hi = s * (0 - z), s * (qmax - z)
    scaled = xd / s
    on_grid = lambda codes: s * (codes.clamp(0, qmax) - z)  # noqa: E731
    return [
        (xd, "the forward value is x itself: nothing was quantized. The forward pass must give the values of "
             "the codes, S * (clamp(round(x / S) + Z, 0, 2**bits - 1) - Z); only the gradient goes straight through."),
        (xd.clamp(lo, hi), "x is clipped to the range but not rounded to the grid: the forward value must be "
                           "S * (q - Z) with q = clamp(round(x / S) + Z, 0, 2**bits - 1)."),
        ((torch.round(scaled) + z).clamp(0, qmax), "you returned the codes q, not the values S * (q - Z) they "
                                                    "stand for."),
        (s * torch.round(scaled), "values outside the clipping range are not clamped: the codes must stay in "
                                  "[0, 2**bits - 1], q = clamp(round(x / S) + Z, 0, 2**bits - 1)."),
        (ref.fake_quantize(x.detach(), bits).to(torch.float64),
         "these are the values on the grid of x's own min/max range: scale and zero_point are ignored. Quantize "
         "with the scale and zero point you are given (they may clip x)."),
        (s * ((torch.round(scaled) + z).clamp(0, 255) - z), "the codes are clamped to [0, 255] whatever bits is: "
                                                         "clamp to [0, 2**bits - 1]."),
        (on_grid(torch.floor(scaled) + z), "rounding by truncation or floor; use torch.round (nearest code)."),
        (on_grid(torch.trunc(scaled) + z), "rounding by truncation (int(), trunc); use torch.round (nearest code)."),
        (on_grid(torch.round(scaled) - z), "the codes subtract the zero point; quantizing adds it: "
                                           "q = round(x / S) + Z."),
        (s * torch.round(scaled).clamp(0, qmax), "the zero point is missing: q = clamp(round(x / S) + Z, 0, "
                                                 "2**bits - 1), then S * (q - Z)."),
    ]


def _check_ste_forward(got: torch.Tensor, x, s, z, bits, shown) -> None:
    want, _, _ = _ste_reference(x, s, z, bits)
    g = got.detach().to(torch.float64)
    tol = 1e-5 * s + 1e-7 * want.abs()
    off = (g - want).abs() > tol
    ties = _ambiguous(x.detach().to(torch.float64) / s)
    if not off.any() or (ties[off].all() and ((g - want).abs()[off] <= s * 1.001).all()):
        return
    for value, words in _forward_variants(x, s, z, bits):
        if torch.allclose(g, value, atol=1e-5 * s, rtol=1e-6):
            fail(f"{shown}: {words}")
    fail(differs("fake_quantize_ste", shown.removeprefix("fake_quantize_ste(")[:-1], want, g, "values")
         + " Expected S * (clamp(round(x / S) + Z, 0, 2**bits - 1) - Z).")


def _gradient(fn: Callable, x, s, z, bits, upstream, shown) -> torch.Tensor:
    xg = x.detach().clone().requires_grad_(True)
    out = call_unchanged(fn, xg, s, z, bits, exercise="fake_quantize_ste")
    out = _ste_answer(out, x, shown)
    if not out.requires_grad:
        fail(f"{shown}: no gradient reaches x, the result is cut off from x's autograd graph (by .detach() on the "
             "whole result, integer codes, numpy or torch.no_grad). Keep x in the graph: "
             "x + (x_q - x).detach() has the value x_q and the gradient of x.")
    try:
        out.backward(upstream)
    except Exception as exc:  # a custom autograd.Function with a broken backward
        fail(f"{shown}: the backward pass raised {type(exc).__name__}: {str(exc)[:150]}")
    if xg.grad is None:
        fail(f"{shown}: no gradient reaches x: the result does not depend on x in the autograd graph. Build it "
             "from x itself: x + (x_q - x).detach().")
    return xg.grad.detach().to(torch.float64)


def _check_ste_gradient(grad: torch.Tensor, x, s, z, bits, upstream, shown) -> None:
    _, inside, either = _ste_reference(x, s, z, bits)
    up = upstream.to(torch.float64)
    want = up * inside
    close = lambda a, b: torch.isclose(a, b, rtol=1e-4, atol=1e-6)  # noqa: E731
    edge = _on_edge(x, s, z, bits)
    ok = close(grad, want) | (either & (close(grad, up) | close(grad, torch.zeros_like(up))))
    ok |= edge & (grad >= -1e-6) & (grad <= up * (1 + 1e-4) + 1e-6)
    if ok.all():
        return
    either |= edge
    clear_in, clear_out = inside & ~either, ~inside & ~either
    qmax = 2**bits - 1
    lo, hi = s * (0 - z), s * (qmax - z)
    rng = f"[{lo:.4g}, {hi:.4g}]"
    codes = (torch.round(x.detach().to(torch.float64) / s) + z).clamp(0, qmax)
    end_bins = clear_in & ((codes == 0) | (codes == qmax))
    if end_bins.any() and (~ok <= end_bins).all() and torch.all(grad[~ok] == 0):
        i = int((~ok).flatten().nonzero()[0])
        fail(f"{shown}: at x = {x.flatten()[i].item():.4g}, inside the clipping range {rng} but in the first or "
             "last code's bin, the gradient is 0. torch.clamp passes no gradient at its bounds exactly, and a clamp "
             "of the rounded codes sits on them for the whole bin. Clamp x itself, before rounding: "
             "xc = x.clamp(lo, hi), then xc + (x_q - xc).detach().")
    if clear_in.any() and torch.all(grad[clear_in] == 0):
        if clear_out.any() and close(grad[clear_out], up[clear_out]).all():
            fail(f"{shown}: the gradient is inverted: 0 inside the clipping range {rng} and passed through outside "
                 "it. It must be the incoming gradient inside and 0 outside.")
        fail(f"{shown}: the gradient is 0 inside the clipping range {rng}: torch.round has derivative 0, so "
             "rounding blocks every update. Use the straight-through estimator: x + (x_q - x).detach() has the "
             "forward value x_q and the gradient of x (Bengio et al. 2013).")
    if clear_out.any() and close(grad[clear_out], up[clear_out]).all() and close(grad[clear_in], up[clear_in]).all():
        i = int(clear_out.flatten().nonzero()[0])
        fail(f"{shown}: the gradient passes through outside the clipping range {rng} too (at x = "
             f"{x.flatten()[i].item():.4g}). There the clamp makes the output constant, so its gradient is 0: "
             "clamp first, xc = x.clamp(lo, hi), then xc + (x_q - xc).detach().")
    if close(grad, inside.to(torch.float64)).all() and not close(up, torch.ones_like(up)).all():
        fail(f"{shown}: the gradient is 1 inside the range whatever the incoming gradient: the backward pass "
             "must return grad_output * mask, not the mask alone.")
    if clear_in.any():
        ratio = grad[clear_in] / up[clear_in]
        c = ratio.median().item()
        if torch.allclose(ratio, torch.full_like(ratio, c), rtol=1e-4) and not math.isclose(c, 1.0, rel_tol=1e-4):
            why = (" (that is 1 / scale)" if math.isclose(c, 1 / s, rel_tol=1e-4)
                   else " (that is scale)" if math.isclose(c, s, rel_tol=1e-4) else "")
            fail(f"{shown}: the gradient is multiplied by {c:.4g}{why}; the straight-through estimator passes the "
                 "incoming gradient on unchanged inside the clipping range.")
    i = int((~ok).flatten().nonzero()[0])
    xi, gi, wi = x.flatten()[i].item(), grad.flatten()[i].item(), want.flatten()[i].item()
    where = "inside" if inside.flatten()[i] else "outside"
    fail(f"{shown}: at x = {xi:.4g}, {where} the clipping range {rng} = [S * (0 - Z), S * (2**bits - 1 - Z)], "
         f"the gradient is {gi:.4g} instead of {wi:.4g} (the incoming gradient there is {up.flatten()[i].item():.4g})."
         " Inside the range it passes unchanged; outside it is 0.")


def check_fake_quantize_ste(fn: Callable) -> None:
    """``fn(x, scale, zero_point, bits)``: forward = the fake-quantized values; backward = the STE,
    the incoming gradient inside the clipping range and 0 outside."""
    for x, s, z, bits, upstream, what in _ste_cases():
        shown = _ste_shown(x, s, z, bits, what)
        out = call_unchanged(fn, x.clone(), s, z, bits, exercise="fake_quantize_ste")
        got = _ste_answer(out, x, shown)
        _check_ste_forward(got, x, s, z, bits, shown)
        grad = _gradient(fn, x, s, z, bits, upstream, shown)
        _check_ste_gradient(grad, x, s, z, bits, upstream, shown)
    passed("fake_quantize_ste: values on the grid of (S, Z); gradient passed inside the range, 0 outside.")


# ----------------------------------------------------------------- quantize_multiplier

_TIE = (2**30 + 0.5) / 2**31 / 8  # M0 * 2**31 is exactly halfway between two integers: either is right
_MULTIPLIER_CASES = [0.75, 0.3, 0.5, 2.0**-10, 1 / 3, 0.012728 * 0.00165 / 0.03896, 1e-5, 0.5 - 2.0**-40,
                     0.999999, 2.0**-20, _TIE]


def _multiplier_reference(M: float) -> tuple[int, int, set[tuple[int, int]]]:
    """The library's ``(m0, n)`` and every answer that is right (two at an exact tie)."""
    m0, n = ref_int.quantize_multiplier(M)
    right = {(m0, n)}
    mantissa, exponent = math.frexp(M)
    exact = mantissa * 2**31
    if exact - math.floor(exact) == 0.5:
        for cand in (math.floor(exact), math.ceil(exact)):
            right.add((cand // 2, -exponent - 1) if cand == 2**31 else (cand, -exponent))
    return m0, n, right


def _diagnose_multiplier(M: float, m0: int, n: int, want_m0: int, want_n: int, shown: str) -> None:
    exact_m0 = math.frexp(M)[0] * 2**31
    if m0 == want_n and n == want_m0:
        fail(f"{shown}: m0 and n are swapped; return (m0, n) in that order.")
    if m0 >= 2**31 and n == want_n + 1 and math.frexp(M)[0] == 0.5:
        fail(f"{shown} = ({m0}, {n}): at a power of two, M0 = M * 2**n = 1.0, outside [0.5, 1); "
             "floor(-log2(M)) is one too many there. math.frexp(M) gives M0 in [0.5, 1) and the exponent exactly.")
    if m0 == 2**31:
        fail(f"{shown} = ({m0}, {n}): m0 = 2**31 does not fit in an int32 (at most 2**31 - 1). When M0 rounds up "
             "to 1, halve m0 and take one shift less: (2**30, n - 1) is the same number.")
    if n == -want_n and want_n != 0 and m0 == want_m0:
        fail(f"{shown}: n = {n} has the wrong sign. M = M0 * 2**-n, so M < 1 gives a shift n >= 0.")
    if 2**31 <= m0 < 2**32 and n == want_n - 1:
        fail(f"{shown} = ({m0}, {n}): M0 = M * 2**n must lie in [0.5, 1), not [1, 2), so that "
             "m0 = round(M0 * 2**31) fits in an int32.")
    if m0 == want_m0 and n == want_n - 1:
        fail(f"{shown} = ({m0}, {n}) stands for m0 * 2**-(31 + n) = 2M: n is one too small. "
             "M0 = M * 2**n lies in [0.5, 1) (math.frexp).")
    if m0 == want_m0 and n == want_n + 1:
        fail(f"{shown} = ({m0}, {n}) stands for M / 2: n is one too large. M0 = M * 2**n lies in [0.5, 1).")
    if n == want_n and m0 == math.floor(exact_m0) != want_m0:
        fail(f"{shown} = ({m0}, {n}): m0 is truncated (int() or floor); round to nearest: "
             f"m0 = round(M0 * 2**31) = {want_m0}.")
    for bits_, name in ((32, "2**32"), (30, "2**30"), (15, "2**15"), (16, "2**16"), (0, "1")):
        scaled = math.frexp(M)[0] * 2**bits_
        if n == want_n and abs(m0 - scaled) <= 1:
            fail(f"{shown} = ({m0}, {n}): m0 is M0 * {name}. The multiplier is a Q31 fixed-point int32: "
                 "m0 = round(M0 * 2**31).")
    if n == want_n and 2**30 <= m0 < 2**31:
        fail(f"{shown} = ({m0}, {n}): m0 should be round(M0 * 2**31) = {want_m0}, M0 = M * 2**n = "
             f"{math.frexp(M)[0]:.10g}.")
    fail(f"{shown} returned ({m0}, {n}), which stands for m0 * 2**-(31 + n) = {m0 * 2.0 ** -(31 + n):.6g}; "
         f"expected ({want_m0}, {want_n}): M = M0 * 2**-n with M0 in [0.5, 1), m0 = round(M0 * 2**31).")


def check_quantize_multiplier(fn: Callable) -> None:
    """``fn(M)`` must return ``(m0, n)``: ``M ≈ m0 * 2**-(31 + n)`` with ``2**30 <= m0 < 2**31`` ([JQ] Eq. 6)."""
    for M in _MULTIPLIER_CASES:
        shown = f"quantize_multiplier({M!r})"
        out = call(fn, M, exercise="quantize_multiplier")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            kind = type(out).__name__
            n = f"{len(out)} things" if isinstance(out, (tuple, list)) else f"a{'n' * (kind[0] in 'aeiou')} {kind}"
            fail(f"{shown} returned {n}; return two ints: (m0, n).")
        m0, n = out
        if isinstance(m0, (float, np.floating)) and 0.5 <= float(m0) < 1:
            fail(f"{shown}: m0 = {float(m0):.6g} is M0 itself. The integer multiplier is the int32 "
                 "m0 = round(M0 * 2**31).")
        for what, value in (("m0", m0), ("n", n)):
            if isinstance(value, (float, np.floating)) and float(value).is_integer():
                fail(f"{shown}: {what} is the float {float(value)!r}; return a Python int: int(...) "
                     "(math.floor and numpy's round give floats).")
        m0 = as_int(m0, f"{shown}: m0")
        n = as_int(n, f"{shown}: n")
        want_m0, want_n, right = _multiplier_reference(M)
        if (m0, n) not in right:
            _diagnose_multiplier(M, m0, n, want_m0, want_n, shown)
    passed("quantize_multiplier: M = m0 * 2**-(31 + n), m0 an int32 in [2**30, 2**31), edge cases too.")


__all__ = ["check_linear_quantize", "check_dequantize", "check_fake_quantize_ste", "check_quantize_multiplier",
           "show", "differs"]
