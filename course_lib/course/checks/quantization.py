"""Checks for notebook 04: linear (affine) quantization ([JQ] §2.1) and the fixed blog "quantize".

The contracts (from the notebook):

- ``linear_quantize(x, bits)`` returns ``(q, scale, zero_point)``: ``q`` an integer tensor of
  ``x``'s shape, ``scale`` a Python float, ``zero_point`` a Python int; one range for the whole
  tensor (per-tensor), widened to include 0; ``x`` is left as it was.
- ``dequantize(q, scale, zero_point)`` returns the reals ``S * (q - Z)`` as a float tensor and
  leaves ``q`` as it was.
- ``fake_quantize(x, bits)`` returns ``dequantize(*linear_quantize(x, bits))``, a float tensor.

Every check runs small hand-made cases first (so a failure shows the smallest input), keeps
pristine copies of the arguments (an in-place change such as ``x /= scale`` or
``q -= zero_point`` is named), coerces the answers (a 0-d tensor is not a Python number, float
codes are not integer codes), and names the mistake whose output matches what came back:
dividing by ``2**bits`` instead of ``2**bits - 1``, ignoring ``bits``, per-channel ranges, a
range that does not include 0, a zero point off by one or with the wrong sign, truncation
instead of rounding, a missing clamp, a forgotten or subtracted zero point. When none fits,
the message shows the input, the expected value and the value returned.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np
import torch

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


# ----------------------------------------------------------------- fake_quantize


def _fake_cases() -> list[tuple[torch.Tensor, int, str | None]]:
    gen = torch.Generator().manual_seed(5)
    w = torch.randn(64, 32, generator=gen) * 0.08
    w[w.abs() < 0.02] = 0.0
    w[:16] *= 3  # rows of different ranges: per-channel ranges differ from the tensor's
    matrix = "a 64x32 pruned weight matrix"
    return [
        (torch.tensor([[0.1, -1.0, 0.0], [2.0, -0.1, 0.4]]), 2, None),
        (torch.tensor([0.3, 0.0, -0.45, 0.9]), 3, None),
        (w, 8, matrix), (w, 4, matrix), (w, 2, matrix),
    ]


def check_fake_quantize(fn: Callable) -> None:
    """``fn(x, bits)``: the fixed blog "quantize", returning ``x`` after a ``bits``-bit round trip."""
    outs = {}
    for w, bits, what in _fake_cases():
        shown = _shown("fake_quantize", w, bits, what)
        want = ref.fake_quantize(w, bits)
        got = call_unchanged(fn, w, bits, exercise="fake_quantize")
        if isinstance(got, (tuple, list)):
            fail(f"{shown} returned a {type(got).__name__} of {len(got)} things; return one tensor, the weights "
                 "after the round trip: dequantize(*linear_quantize(x, bits)).")
        if isinstance(got, torch.Tensor) and not got.is_floating_point():
            fail(f"{shown} returned integer codes ({got.dtype}); return the weights after the round trip: "
                 "dequantize(q, S, Z).")
        got = as_tensor(got, f"The value returned by {shown}", kind="float", shape=w.shape).to(torch.float32)
        if w.numel() > 100:
            outs[bits] = got
        _check_fake_case(got, w, bits, shown, want)
    if outs and torch.equal(outs[8], outs[2]):
        fail("fake_quantize gives the same result at 8 and 2 bits: bits is ignored.")
    passed("fake_quantize uses its bit-width: at most 2**bits values, zeros stay 0, error <= half a step.")


def _check_fake_case(got, w, bits, shown, want) -> None:
    step = ref.scale_and_zero_point(w, bits)[0]
    scaled = w.to(torch.float64) / step
    diff = (got - want).abs() > 1e-6 + 1e-6 * want.abs()
    if not diff.any() or (_ambiguous(scaled)[diff].all() and ((got - want).abs()[diff] <= step * 1.001 + 1e-7).all()):
        return
    if torch.equal(got, w):
        fail(f"{shown} returned x unchanged. Send it through the codes and back: "
             "dequantize(*linear_quantize(x, bits)).")
    if torch.equal(got, ref.broken_blog_quantize(w, bits)):
        fail(f"{shown}: this is still the blog version (round(w / 2), clamped to [-1, 1]); it never reads bits.")
    if torch.allclose(got, ref.linear_quantize(w, bits).q.float()):
        fail(f"{shown} returned the codes q (as floats), not the weights they stand for: "
             "return dequantize(q, S, Z).")
    if w.dim() > 1:
        for axis in range(w.dim()):
            if torch.allclose(got, ref.fake_quantize(w, bits, per_channel=True, axis=axis), atol=1e-6):
                fail(f"{shown}: you used per-channel ranges ({_axis_name(w, axis)} scale and zero point). "
                     "This exercise quantizes per tensor: one range [min(x.min(), 0), max(x.max(), 0)] for the "
                     "whole tensor, hence at most 2**bits distinct values.")
    for other in range(1, 17):
        if other != bits and torch.allclose(got, ref.fake_quantize(w, other), atol=1e-6):
            why = "bits is ignored" if other == 8 else f"you used bits={other} instead of bits={bits}"
            fail(f"{shown} equals the {other}-bit round trip: {why}. Pass bits on to linear_quantize as it is.")
    if not torch.all(got[w == 0] == 0):
        fail(f"{shown}: zero weights came back non-zero. Include 0 in the range so it is exact.")
    s, z = ref.scale_and_zero_point(w, bits)
    codes = got.to(torch.float64) / s + z
    off = (codes - torch.round(codes)).abs() > 1e-3
    n = ref.distinct_values(got)
    if off.any() and n <= 2**bits:
        i = int(off.flatten().nonzero()[0])
        fail(f"{shown} returned {got.flatten()[i].item():.4g} (at flat position {i}), which is not on the "
             f"quantization grid S * (q - Z) with S = {s:.4g}, Z = {z}. Use linear_quantize then dequantize.")
    if n > 2**bits:
        fail(f"{shown} holds {n} distinct values, more than 2**{bits} = {2**bits}: the values are not on the "
             "grid of one scale and zero point. Use linear_quantize then dequantize.")
    err = (got - w).abs().max().item()
    if err > step / 2 + 1e-6:
        fail(f"{shown}: a weight moved by {err:.3g}, more than half a step S/2 = {step / 2:.3g}. "
             "Use linear_quantize then dequantize (round to nearest, not truncate).")
    fail(differs("fake_quantize", shown.removeprefix("fake_quantize(")[:-1], want, got, "values")
         + " Expected dequantize(*linear_quantize(x, bits)).")


__all__ = ["check_linear_quantize", "check_dequantize", "check_fake_quantize", "show", "differs"]
