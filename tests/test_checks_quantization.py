"""The checks of notebook 04 (linear quantization) pass the right answers and name the typical mistakes.

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

from course_lib import integer_inference as ref_int
from course_lib import quantization as q
from course_lib.course.checks import quantization as cq
from check_helpers import named, passes


# ----------------------------------------------------------------- notebook 04: linear_quantize


def _range(x):
    return min(x.min().item(), 0.0), max(x.max().item(), 0.0)


def _lq(scale_steps=lambda b: 2**b - 1, zp=lambda rmin, s: -round(rmin / s), rnd=torch.round, clamp=True,
        sign=1, widen=True):
    def linear_quantize(x, bits):
        rmin, rmax = _range(x) if widen else (x.min().item(), x.max().item())
        s = (rmax - rmin) / scale_steps(bits)
        z = zp(rmin, s)
        codes = rnd(x / s) + sign * z
        if clamp:
            codes = codes.clamp(0, 2**bits - 1)
        return codes.int(), s, z

    return linear_quantize


def lq_notebook(x, bits):
    """The notebook's solution."""
    rmin = min(x.min().item(), 0.0)
    rmax = max(x.max().item(), 0.0)
    scale = (rmax - rmin) / (2**bits - 1) if rmax > rmin else 1.0
    zero_point = int(-round(rmin / scale))
    qq = torch.clamp(torch.round(x / scale) + zero_point, 0, 2**bits - 1).int()
    return qq, scale, zero_point


def lq_numpy(x, bits):
    a = x.numpy().astype(np.float64)
    rmin, rmax = min(a.min(), 0.0), max(a.max(), 0.0)
    scale = float((rmax - rmin) / (2**bits - 1))
    zero_point = int(np.round(-rmin / scale))
    codes = np.clip(np.round(a / scale) + zero_point, 0, 2**bits - 1).astype(np.int64)
    return torch.from_numpy(codes), scale, zero_point


def lq_half_up_tensor_ops(x, bits):
    """Tensor arithmetic throughout, rounding halves up, codes as uint8 / int16, a NamedTuple answer."""
    zero = torch.zeros(())
    rmin, rmax = torch.minimum(x.min(), zero), torch.maximum(x.max(), zero)
    scale = ((rmax - rmin) / (2**bits - 1)).item()
    zero_point = int(torch.round(-rmin / scale).item())
    codes = torch.floor(x * (1 / scale) + 0.5) + zero_point
    dtype = torch.uint8 if bits <= 8 else torch.int16
    return q.LinearQuantized(codes.clamp(0, 2**bits - 1).to(dtype), scale, zero_point)


def lq_float64(x, bits):
    x = x.double()
    rmin, rmax = min(x.min().item(), 0.0), max(x.max().item(), 0.0)
    s = (rmax - rmin) / (2**bits - 1)
    z = round(-rmin / s)
    return torch.clamp(torch.round(x / s) + z, 0, 2**bits - 1).long(), s, z


@pytest.mark.parametrize("fn", [q.linear_quantize, _lq(), lq_notebook, lq_numpy, lq_half_up_tensor_ops, lq_float64])
def test_linear_quantize_right_answers_pass(fn, capsys):
    passes(cq.check_linear_quantize, fn, capsys)


def lq_float_codes(x, bits):
    qq, s, z = lq_notebook(x, bits)
    return qq.float(), s, z


def lq_unrounded(x, bits):
    qq, s, z = lq_notebook(x, bits)
    return x / s + z, s, z


def lq_divides_in_place(x, bits):
    rmin, rmax = _range(x)
    s = (rmax - rmin) / (2**bits - 1)
    z = int(-round(rmin / s))
    x /= s
    return torch.clamp(torch.round(x) + z, 0, 2**bits - 1).int(), s, z


def lq_per_channel_tensors(x, bits):
    qq, s, z = q.linear_quantize_per_channel(x, bits, axis=0)
    return qq, s, z


def lq_per_row_keepdim(x, bits):
    rmin = x.amin(dim=-1, keepdim=True).clamp(max=0)
    rmax = x.amax(dim=-1, keepdim=True).clamp(min=0)
    s = (rmax - rmin) / (2**bits - 1)
    z = torch.round(-rmin / s)
    return torch.clamp(torch.round(x / s) + z, 0, 2**bits - 1).int(), s, z


def lq_per_row_codes_global_scalars(x, bits):
    """Per-row codes, but the scale and zero point of the first row returned as numbers."""
    qq, s, z = q.linear_quantize_per_channel(x, bits, axis=0) if x.dim() > 1 else q.linear_quantize(x, bits)
    if x.dim() > 1:
        return qq, float(s[0]), int(z[0])
    return qq, s, z


def lq_per_row_codes_only(x, bits):
    """Codes from per-row ranges; the scale and zero point of the whole tensor returned beside them."""
    qq = q.linear_quantize_per_channel(x, bits, axis=0).q if x.dim() > 1 else q.linear_quantize(x, bits).q
    return (qq, *q.scale_and_zero_point(x, bits))


def lq_tensor_scale(x, bits):
    qq, s, z = lq_notebook(x, bits)
    return qq, torch.tensor(s), z


def lq_tensor_zero_point(x, bits):
    qq, s, z = lq_notebook(x, bits)
    return qq, s, torch.tensor(z)


def lq_float_zero_point(x, bits):
    qq, s, z = lq_notebook(x, bits)
    return qq, s, float(z)


def lq_swapped_scale_zero_point(x, bits):
    qq, s, z = lq_notebook(x, bits)
    return qq, z, s


def lq_codes_last(x, bits):
    qq, s, z = lq_notebook(x, bits)
    return s, z, qq


def lq_symmetric(x, bits):
    m = x.abs().max().item()
    s = 2 * m / (2**bits - 1)
    z = int(-round(-m / s))
    return torch.clamp(torch.round(x / s) + z, 0, 2**bits - 1).int(), s, z


def lq_shifted(x, bits):
    rmin, rmax = _range(x)
    s = (rmax - rmin) / (2**bits - 1)
    return torch.clamp(torch.round((x - rmin) / s), 0, 2**bits - 1).int(), s, int(-round(rmin / s))


def lq_signed(x, bits):
    qq, s, z = lq_notebook(x, bits)
    return qq - 2 ** (bits - 1), s, z


def lq_clamp_low(x, bits):
    """Clamps to [1, 2**bits - 1]: wrong only where a value falls on code 0."""
    qq, s, z = lq_notebook(x, bits)
    return qq.clamp(min=1), s, z


def lq_brackets(x, bits):
    rmin, rmax = _range(x)
    s = (rmax - rmin) / 2**bits - 1
    return torch.zeros(x.shape, dtype=torch.int32), s, 0


def lq_symmetric_signed(x, bits):
    m = x.abs().max().item()
    s = m / (2 ** (bits - 1) - 1) if bits > 1 else m
    z = 2 ** (bits - 1)
    return torch.clamp(torch.round(x / s) + z, 0, 2**bits - 1).int(), s, z


def lq_trunc_cast(x, bits):
    rmin, rmax = _range(x)
    s = (rmax - rmin) / (2**bits - 1)
    z = int(-round(rmin / s))
    return torch.clamp(x / s + z, 0, 2**bits - 1).int(), s, z


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (_lq(scale_steps=lambda b: 2**b), ["2**bits - 1 steps"]),
        (_lq(scale_steps=lambda b: 255), ["8-bit scale", "bits is ignored"]),
        (_lq(scale_steps=lambda b: b), ["(rmax - rmin) / bits"]),
        (_lq(scale_steps=lambda b: 1 << b - 1), ["2**(bits - 1)", "1 << (bits - 1)"]),
        (lq_brackets, ["brackets"]),
        (lq_symmetric_signed, ["symmetric range"]),
        (_lq(widen=False), ["include 0"]),
        (lq_symmetric, ["symmetric range"]),
        (_lq(zp=lambda rmin, s: math.floor(-rmin / s + 1)), ["zero point off by one"]),
        (_lq(zp=lambda rmin, s: int(-rmin / s) + 1), ["zero point off by one"]),
        (_lq(zp=lambda rmin, s: math.ceil(-rmin / s) + 1), ["zero point off by one"]),
        (_lq(zp=lambda rmin, s: round(rmin / s)), ["wrong sign"]),
        (_lq(rnd=torch.trunc), ["truncation"]),
        (_lq(rnd=torch.floor), ["truncation"]),
        (lq_trunc_cast, ["truncation"]),
        (_lq(sign=-1), ["subtracted the zero point"]),
        (_lq(sign=0), ["zero point is missing"]),
        (lq_float_codes, ["codes q has dtype torch.float32", "int tensor"]),
        (lq_unrounded, ["codes q are not integers", "Round"]),
        (lq_divides_in_place, ["changed its argument `x` in place"]),
        (lq_per_channel_tensors, ["per-channel ranges", "one per value"]),
        (lq_per_row_keepdim, ["per-channel ranges", "per row"]),
        (lq_per_row_codes_global_scalars, ["per-channel ranges"]),
        (lq_per_row_codes_only, ["codes come from per-channel ranges"]),
        (lq_tensor_scale, ["scale is a tensor of shape ()", ".item()"]),
        (lq_tensor_zero_point, ["zero_point is a tensor of shape ()", ".item()"]),
        (lq_float_zero_point, ["zero_point is the float", "Python int"]),
        (lq_swapped_scale_zero_point, ["swapped"]),
        (lq_codes_last, ["codes come first"]),
        (lambda x, bits: lq_notebook(x, bits)[0], ["returned one tensor", "(q, scale, zero_point)"]),
        (_lq(scale_steps=lambda b: 2 ** (b - 1) - 1 if b > 1 else 1), ["bits=1 instead of bits=2"]),
        (lq_shifted, ["round((x - rmin) / S)", "Round x / S first"]),
        (lq_signed, ["signed codes", "unsigned"]),
        (lq_clamp_low, ["clamp(round(x / S) + Z, 0, 2**bits - 1)"]),
        (lambda x, bits: lq_notebook(x, bits)[:2], ["returned 2 things"]),
    ],
)
def test_linear_quantize_mistakes_are_named(wrong, phrases):
    named(cq.check_linear_quantize, wrong, *phrases)


def test_linear_quantize_shows_the_smallest_failing_input():
    def no_clamp_on_the_low_side_and_a_typo(x, bits):
        qq, s, z = lq_notebook(x, bits)
        return qq.flip(0), s, z

    flat = named(cq.check_linear_quantize, no_clamp_on_the_low_side_and_a_typo,
                 "x=[0.5, -0.25, 1.0, 0.0], bits=2", "returned codes [1, 3, 0, 2]", "expected [2, 0, 3, 1]")
    assert "30x20" not in flat


def test_unsolved_exercise_is_explained():
    def linear_quantize(x, bits):
        raise NotImplementedError("write it")

    named(cq.check_linear_quantize, linear_quantize, "not solved yet")


# ----------------------------------------------------------------- dequantize


def dq_numpy(qq, s, z):
    return torch.from_numpy(s * (qq.numpy().astype(np.float64) - z))


@pytest.mark.parametrize("fn", [q.dequantize, lambda qq, s, z: s * (qq.double() - z),
                                lambda qq, s, z: s * (qq.float() - z), lambda qq, s, z: (qq - z) * s, dq_numpy])
def test_dequantize_right_answers_pass(fn, capsys):
    passes(cq.check_dequantize, fn, capsys)


def dq_subtracts_in_place(qq, s, z):
    qq -= z
    return s * qq.float()


def dq_sub_(qq, s, z):
    return s * qq.sub_(z).float()


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (lambda qq, s, z: s * qq.float(), ["forgot the zero point"]),
        (lambda qq, s, z: s * (qq.float() + z), ["wrong sign"]),
        (lambda qq, s, z: (qq.float() - z) / s, ["divided by the scale"]),
        (lambda qq, s, z: (qq - z) * int(s), ["dequantized values are reals"]),
        (lambda qq, s, z: (qq.float() - z) * int(s), ["scale into an int"]),
        (lambda qq, s, z: s * qq.float() - z, ["brackets"]),
        (lambda qq, s, z: qq.float() - z, ["scale is missing"]),
        (lambda qq, s, z: s * qq.float() + z, ["added the zero point after scaling"]),
        (dq_subtracts_in_place, ["changed its argument `qq` in place"]),
        (dq_sub_, ["changed its argument `qq` in place"]),
        (lambda qq, s, z: (s * (qq.double() - z)).numpy(), ["ndarray", "torch.Tensor"]),
        (lambda qq, s, z: (s * (qq.float() - z)).reshape(-1), ["shape"]),
        (lambda qq, s, z: s * (qq.float() - z) + 0.01, ["q=[0, 1, 2, 3], scale=0.5, zero_point=1",
                                                         "expected [-0.5, 0.0, 0.5, 1.0]"]),
    ],
)
def test_dequantize_mistakes_are_named(wrong, phrases):
    named(cq.check_dequantize, wrong, *phrases)


# ----------------------------------------------------------------- fake_quantize_ste


def ste_notebook(x, scale, zero_point, bits):
    """The notebook's solution: clamp for the gradient, detach for the value."""
    qmax = 2**bits - 1
    lo, hi = scale * (0 - zero_point), scale * (qmax - zero_point)
    clipped = torch.clamp(x, lo, hi)
    codes = torch.clamp(torch.round(x / scale) + zero_point, 0, qmax)
    x_q = scale * (codes - zero_point)
    return clipped + (x_q - clipped).detach()


def _values(x, s, z, bits):
    """The forward value, without a gradient."""
    return s * (torch.clamp(torch.round(x / s) + z, 0, 2**bits - 1) - z)


def _inside(x, s, z, bits):
    return (x >= s * (0 - z)) & (x <= s * (2**bits - 1 - z))


def ste_where(x, s, z, bits):
    """A mask with torch.where: the STE inside, a constant outside."""
    xq = _values(x.detach(), s, z, bits)
    return torch.where(_inside(x.detach(), s, z, bits), x + (xq - x).detach(), xq)


def ste_strict_edges(x, s, z, bits):
    """A mask that excludes the ends of the range (right: the edges may go either way)."""
    xq = _values(x.detach(), s, z, bits)
    inside = (x.detach() > s * (0 - z)) & (x.detach() < s * (2**bits - 1 - z))
    return x * inside + (xq - x * inside).detach()


def ste_tensor_bounds(x, s, z, bits):
    """Tensor bounds: torch.clamp gives half the gradient exactly on them."""
    lo = torch.tensor(s * (0 - z), dtype=x.dtype)
    hi = torch.tensor(s * (2**bits - 1 - z), dtype=x.dtype)
    xc = torch.clamp(x, lo, hi)
    return xc + (_values(x.detach(), s, z, bits) - xc).detach()


class _MaskedRound(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, s, z, bits):
        ctx.save_for_backward(_inside(x, s, z, bits))
        return _values(x, s, z, bits)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside.to(grad.dtype), None, None, None


def ste_function(x, s, z, bits):
    return _MaskedRound.apply(x, s, z, bits)


def ste_torch(x, s, z, bits):
    return torch.fake_quantize_per_tensor_affine(x, s, z, 0, 2**bits - 1)


def ste_clamp_then_round(x, s, z, bits):
    """Clamp x first, then round the clamped value (the same forward: lo and hi are on the grid)."""
    lo, hi = s * (0 - z), s * (2**bits - 1 - z)
    xc = x.clamp(lo, hi)
    return xc + (s * torch.round(xc / s) - xc).detach()


@pytest.mark.parametrize("fn", [q.fake_quantize_ste, ste_notebook, ste_where, ste_strict_edges, ste_tensor_bounds,
                                ste_function, ste_torch, ste_clamp_then_round])
def test_fake_quantize_ste_right_answers_pass(fn, capsys):
    passes(cq.check_fake_quantize_ste, fn, capsys)


def ste_plain_round(x, s, z, bits):
    return _values(x, s, z, bits)


def ste_no_clip(x, s, z, bits):
    return x + (_values(x, s, z, bits) - x).detach()


def ste_inverted(x, s, z, bits):
    outside = ~_inside(x.detach(), s, z, bits)
    return x * outside + (_values(x.detach(), s, z, bits) - x * outside).detach()


def ste_clip_only(x, s, z, bits):
    return torch.clamp(x, s * (0 - z), s * (2**bits - 1 - z))


def ste_codes(x, s, z, bits):
    codes = torch.clamp(torch.round(x / s) + z, 0, 2**bits - 1)
    return x + (codes - x).detach()


def ste_no_clamp_of_codes(x, s, z, bits):
    xc = torch.clamp(x, s * (0 - z), s * (2**bits - 1 - z))
    return xc + (s * torch.round(x / s) - xc).detach()


def ste_double(x, s, z, bits):
    return ste_notebook(x.double(), s, z, bits)


def ste_in_place(x, s, z, bits):
    x.clamp_(s * (0 - z), s * (2**bits - 1 - z))
    return x + (_values(x.detach(), s, z, bits) - x).detach()


def ste_detached(x, s, z, bits):
    return ste_notebook(x, s, z, bits).detach()


def ste_library_round_trip(x, s, z, bits):
    """quantize then dequantize: integer codes in between, so no graph."""
    return q.dequantize(q.quantize(x, s, z, bits), s, z).to(x.dtype)


class _Ones(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, s, z, bits):
        ctx.save_for_backward(_inside(x, s, z, bits))
        return _values(x, s, z, bits)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return inside.to(grad.dtype), None, None, None


class _OverScale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, s, z, bits):
        ctx.save_for_backward(_inside(x, s, z, bits))
        ctx.s = s
        return _values(x, s, z, bits)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside / ctx.s, None, None, None


def ste_own_range(x, s, z, bits):
    return x + (q.fake_quantize(x.detach(), bits) - x).detach()


def ste_floor(x, s, z, bits):
    xc = torch.clamp(x, s * (0 - z), s * (2**bits - 1 - z))
    return xc + (s * (torch.clamp(torch.floor(x / s) + z, 0, 2**bits - 1) - z) - xc).detach()


def ste_no_zero_point_in_range(x, s, z, bits):
    """The clipping range [0, S * (2**bits - 1)], as if Z were 0."""
    xc = torch.clamp(x, 0.0, s * (2**bits - 1))
    return xc + (_values(x.detach(), s, z, bits) - xc).detach()


def ste_codes_clamped_after_ste(x, s, z, bits):
    """STE on x / S, then a clamp of the codes: no gradient in the first and last code's bins."""
    xs = x / s
    r = xs + (torch.round(xs) - xs).detach()
    return s * (torch.clamp(r + z, 0, 2**bits - 1) - z)


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (ste_plain_round, ["torch.round has derivative 0", "straight-through estimator"]),
        (ste_no_clip, ["passes through outside the clipping range"]),
        (ste_inverted, ["inverted"]),
        (ste_clip_only, ["clipped to the range but not rounded"]),
        (lambda x, s, z, bits: x * 1.0, ["is x itself: nothing was quantized"]),
        (ste_codes, ["returned the codes q"]),
        (ste_no_clamp_of_codes, ["not clamped"]),
        (ste_double, ["returned torch.float64 for a torch.float32 x"]),
        (lambda x, s, z, bits: torch.clamp(torch.round(x / s) + z, 0, 2**bits - 1).int(), ["integer codes"]),
        (ste_in_place, ["changed its argument `x` in place"]),
        (ste_detached, ["no gradient reaches x", "cut off"]),
        (ste_library_round_trip, ["no gradient reaches x"]),
        (lambda x, s, z, bits: _Ones.apply(x, s, z, bits), ["grad_output * mask"]),
        (lambda x, s, z, bits: _OverScale.apply(x, s, z, bits), ["multiplied by", "1 / scale"]),
        (ste_own_range, ["scale and zero_point are ignored"]),
        (ste_floor, ["floor"]),
        (lambda x, s, z, bits: ste_notebook(x, s, z, 8), ["[0, 255] whatever bits is"]),
        (ste_no_zero_point_in_range, ["clipping range [-0.25, 0.5]", "the gradient is 0 instead of 1"]),
        (ste_codes_clamped_after_ste, ["first or last code's bin", "Clamp x itself"]),
        (lambda x, s, z, bits: (ste_notebook(x, s, z, bits), None), ["returned a tuple of 2 things"]),
        (lambda x, s, z, bits: ste_notebook(x, s, z, bits).reshape(-1), ["shape"]),
        (lambda x, s, z, bits: ste_notebook(x, s, z, bits).detach().numpy(), ["ndarray", "torch.Tensor"]),
    ],
)
def test_fake_quantize_ste_mistakes_are_named(wrong, phrases):
    named(cq.check_fake_quantize_ste, wrong, *phrases)


def test_fake_quantize_ste_shows_the_smallest_failing_input():
    flat = named(cq.check_fake_quantize_ste, ste_no_clip, "x=[-0.8, -0.4, -0.1, 0.0, 0.2, 0.45, 0.9]",
                 "scale=0.25, zero_point=1, bits=2")
    assert "40x25" not in flat


def test_fake_quantize_ste_unsolved_is_explained():
    def fake_quantize_ste(x, scale, zero_point, bits):
        raise NotImplementedError

    named(cq.check_fake_quantize_ste, fake_quantize_ste, "not solved yet")


# ----------------------------------------------------------------- quantize_multiplier


def qm_notebook(M):
    mantissa, exponent = math.frexp(M)
    m0, n = round(mantissa * 2**31), -exponent
    if m0 == 2**31:
        m0, n = 2**30, n - 1
    return m0, n


def qm_log2(M):
    """n from log2, done right: ceil(-log2 M) - 1, and the overflow handled."""
    n = math.ceil(-math.log2(M)) - 1
    m0 = round(M * 2**n * 2**31)
    if m0 == 2**31:
        m0, n = 2**30, n - 1
    return m0, n


def qm_loop(M):
    """Doubling until M0 reaches [0.5, 1), rounding half up, numpy ints."""
    n = 0
    while M * 2**n < 0.5:
        n += 1
    m0 = int(np.floor(M * 2**n * 2**31 + 0.5))
    if m0 >= 2**31:
        m0, n = m0 // 2, n - 1
    return np.int64(m0), np.int32(n)


@pytest.mark.parametrize("fn", [ref_int.quantize_multiplier, qm_notebook, qm_log2, qm_loop,
                                lambda M: list(qm_notebook(M))])
def test_quantize_multiplier_right_answers_pass(fn, capsys):
    passes(cq.check_quantize_multiplier, fn, capsys)


def qm_floor_log2(M):
    n = math.floor(-math.log2(M))
    return round(M * 2**n * 2**31), n


def qm_no_overflow(M):
    mantissa, exponent = math.frexp(M)
    return round(mantissa * 2**31), -exponent


def qm_truncated(M):
    mantissa, exponent = math.frexp(M)
    return int(mantissa * 2**31), -exponent


def qm_sign(M):
    m0, n = qm_notebook(M)
    return m0, -n


def qm_one_two(M):
    """M0 in [1, 2): the mantissa doubled, scaled by 2**31."""
    mantissa, exponent = math.frexp(M)
    return round(2 * mantissa * 2**31), -exponent - 1


def qm_q30(M):
    mantissa, exponent = math.frexp(M)
    return round(mantissa * 2**30), -exponent


def qm_n_off(M):
    m0, n = qm_notebook(M)
    return m0, n - 1


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (qm_floor_log2, ["at a power of two", "math.frexp"]),
        (qm_no_overflow, ["does not fit in an int32", "(2**30, n - 1)"]),
        (qm_truncated, ["truncated", "round to nearest"]),
        (qm_sign, ["wrong sign"]),
        (qm_one_two, ["not [1, 2)"]),
        (qm_q30, ["M0 * 2**30", "Q31"]),
        (qm_n_off, ["2M: n is one too small"]),
        (lambda M: qm_notebook(M)[::-1], ["swapped"]),
        (lambda M: (math.frexp(M)[0], -math.frexp(M)[1]), ["is M0 itself", "round(M0 * 2**31)"]),
        (lambda M: (float(qm_notebook(M)[0]), qm_notebook(M)[1]), ["m0 is the float", "return a Python int"]),
        (lambda M: (qm_notebook(M)[0], float(qm_notebook(M)[1])), ["n is the float", "return a Python int"]),
        (lambda M: (torch.tensor(qm_notebook(M)[0]), qm_notebook(M)[1]), ["m0 is a tensor", ".item()"]),
        (lambda M: qm_notebook(M)[0], ["returned an int", "(m0, n)"]),
        (lambda M: (*qm_notebook(M), 31), ["returned 3 things"]),
        (lambda M: (qm_notebook(M)[0] + 7, qm_notebook(M)[1]), ["quantize_multiplier(0.75)", "should be round(M0 * 2**31)"]),
    ],
)
def test_quantize_multiplier_mistakes_are_named(wrong, phrases):
    named(cq.check_quantize_multiplier, wrong, *phrases)


def test_quantize_multiplier_unsolved_is_explained():
    def quantize_multiplier(M):
        raise NotImplementedError

    named(cq.check_quantize_multiplier, quantize_multiplier, "not solved yet")
