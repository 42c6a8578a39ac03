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

from course_lib import quantization as q
from course_lib.course.checks import quantization as cq
from check_helpers import passes
from course_lib.course.checks.core import CheckFailed, failure_message


def named(check, fn, *phrases):
    """``check(fn)`` fails, its lines fit in 100 characters, and the message (whitespace-normalised) has each phrase."""
    message = failure_message(check, fn)
    assert all(len(line) <= 100 for line in message.splitlines()), message
    flat = " ".join(message.split())
    for phrase in phrases:
        assert phrase in flat, f"{phrase!r} not in: {message}"
    return flat


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


# ----------------------------------------------------------------- fake_quantize


def dequantize_after_linear_quantize(x, bits):
    """The exercise's two-line solution."""
    qq, s, z = q.linear_quantize(x, bits)
    return q.dequantize(qq, s, z)


def fq_own_arithmetic(x, bits):
    """Its own arithmetic, x / S instead of the library's x * (1 / S), in float64."""
    qq, s, z = lq_float64(x, bits)
    return s * (qq.double() - z)


@pytest.mark.parametrize("fn", [dequantize_after_linear_quantize, q.fake_quantize, fq_own_arithmetic,
                                lambda x, bits: q.dequantize(*lq_notebook(x, bits))])
def test_fake_quantize_right_answers_pass(fn, capsys):
    passes(cq.check_fake_quantize, fn, capsys)


def fq_trunc(w, bits):
    s, z = q.scale_and_zero_point(w, bits)
    return q.dequantize(torch.trunc(w / s) + z, s, z)


def fq_in_place(x, bits):
    s, z = q.scale_and_zero_point(x, bits)
    x /= s
    return s * (torch.clamp(torch.round(x) + z, 0, 2**bits - 1) - z)


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (q.broken_blog_quantize, ["still the blog version"]),
        (lambda w, bits: q.fake_quantize(w, 8), ["8-bit round trip", "bits is ignored"]),
        (lambda w, bits: q.linear_quantize(w, bits).q, ["integer codes"]),
        (lambda w, bits: q.linear_quantize(w, bits).q.float(), ["returned the codes q"]),
        (lambda w, bits: q.linear_quantize(w, bits), ["returned a LinearQuantized of 3 things"]),
        (lambda w, bits: torch.round(w * 2**bits) / 2**bits, ["not on the quantization grid"]),
        (lambda w, bits: w.clone(), ["returned x unchanged"]),
        (lambda w, bits: w + 1e-3 * torch.sin(w * 1000), ["more than 2**"]),
        (lambda w, bits: q.fake_quantize(w, bits, per_channel=True), ["per-channel ranges", "one per row"]),
        (lambda w, bits: q.fake_quantize(w, bits, per_channel=True, axis=-1), ["per-channel ranges", "one per"]),
        (fq_trunc, ["half a step"]),
        (lambda w, bits: q.fake_quantize(w, bits - 1) if bits > 1 else q.fake_quantize(w, 1), ["bits=1 instead"]),
        (fq_in_place, ["changed its argument `x` in place"]),
        (lambda w, bits: q.fake_quantize(w, bits).double().requires_grad_(), ["autograd graph"]),
    ],
)
def test_fake_quantize_mistakes_are_named(wrong, phrases):
    named(cq.check_fake_quantize, wrong, *phrases)
