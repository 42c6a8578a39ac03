"""The checks of notebooks 04 and 05 pass the right answers and name the typical mistakes."""

import math

import pytest
import torch

from course_lib import quantization as q
from course_lib import weight_sharing as ws
from course_lib.course.checks import quantization as cq
from course_lib.course.checks import weight_sharing as cw
from course_lib.course.checks.core import CheckFailed

# ----------------------------------------------------------------- notebook 04


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


def test_linear_quantize_right_answers_pass(capsys):
    cq.check_linear_quantize(q.linear_quantize)
    cq.check_linear_quantize(_lq())
    assert "PASS" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_lq(scale_steps=lambda b: 2**b), "2\\*\\*bits - 1 steps"),
        (_lq(scale_steps=lambda b: 255), "bits is ignored"),
        (_lq(widen=False), "include 0"),
        (_lq(zp=lambda rmin, s: math.floor(-rmin / s + 1)), "zero point off by one"),
        (_lq(zp=lambda rmin, s: int(-rmin / s) + 1), "zero point off by one"),
        (_lq(rnd=torch.trunc), "truncation"),
        (_lq(rnd=torch.floor), "truncation"),
        (_lq(sign=-1), "subtracted the zero point"),
        (_lq(sign=0), "zero point is missing"),
    ],
)
def test_linear_quantize_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        cq.check_linear_quantize(wrong)


def test_unsolved_exercise_is_explained():
    def linear_quantize(x, bits):
        raise NotImplementedError("write it")

    with pytest.raises(CheckFailed, match="not solved yet"):
        cq.check_linear_quantize(linear_quantize)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda qq, s, z: s * qq.float(), "forgot the zero point"),
        (lambda qq, s, z: s * (qq.float() + z), "wrong sign"),
        (lambda qq, s, z: (qq.float() - z) / s, "divided by the scale"),
        (lambda qq, s, z: (qq - z) * int(s), "dequantized values are reals"),
    ],
)
def test_dequantize(wrong, message, capsys):
    cq.check_dequantize(q.dequantize)
    cq.check_dequantize(lambda qq, s, z: s * (qq.double() - z))
    assert "PASS" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=message):
        cq.check_dequantize(wrong)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (q.broken_blog_quantize, "still the blog version"),
        (lambda w, bits: q.fake_quantize(w, 8), "bits is ignored"),
        (lambda w, bits: q.linear_quantize(w, bits).q, "integer codes"),
        (lambda w, bits: torch.round(w * 2**bits) / 2**bits, "half a step|more than 2\\*\\*"),
    ],
)
def test_fake_quantize(wrong, message, capsys):
    cq.check_fake_quantize(lambda w, bits: dequantize_after_linear_quantize(w, bits))
    cq.check_fake_quantize(q.fake_quantize)  # the library's version is the exercise's twin
    assert "PASS" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=message):
        cq.check_fake_quantize(wrong)


def dequantize_after_linear_quantize(x, bits):
    """The exercise's two-line solution."""
    qq, s, z = q.linear_quantize(x, bits)
    return q.dequantize(qq, s, z)


def test_fake_quantize_truncation():
    def trunc(w, bits):
        s, z = q.scale_and_zero_point(w, bits)
        return q.dequantize(torch.trunc(w / s) + z, s, z)

    with pytest.raises(CheckFailed, match="half a step"):
        cq.check_fake_quantize(trunc)


# ----------------------------------------------------------------- notebook 05


def _kmeans(rounds=None, k_of=lambda b: 2**b, nan_empty=False, init="linear"):
    def kmeans_codebook(values, bits):
        k = k_of(bits)
        c = torch.linspace(values.min().item(), values.max().item(), k) if init == "linear" else \
            ws.init_centroids(values, k, init)
        a = (values[:, None] - c[None, :]).abs().argmin(1)
        for _ in range(300 if rounds is None else rounds):
            for j in range(k):
                members = values[a == j]
                if members.numel() or nan_empty:
                    c[j] = members.mean()
            new = (values[:, None] - c[None, :]).abs().argmin(1)
            if torch.equal(new, a):
                break
            a = new
        return c, a

    return kmeans_codebook


def test_kmeans_right_answers_pass(capsys):
    cw.check_kmeans_codebook(_kmeans())
    cw.check_kmeans_codebook(ws.kmeans_codebook)  # the library's version is the exercise's twin
    assert capsys.readouterr().out.count("PASS") == 2


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_kmeans(rounds=0), "never updated"),
        (_kmeans(k_of=lambda b: b), "bits is ignored|2\\*\\*bits"),
        (_kmeans(nan_empty=True), "NaN"),
        (_kmeans(init="density"), "differs from 1-D k-means"),
        (lambda v, b: (torch.linspace(v.min().item(), v.max().item(), 2**b), torch.zeros(v.shape, dtype=torch.long)),
         "nearest centroid"),
    ],
)
def test_kmeans_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        cw.check_kmeans_codebook(wrong)


def _codebook(w, bits, mask_of=lambda w: w != 0, over_zeros=False):
    mask = mask_of(w)
    c, a = ws.kmeans_codebook(w.reshape(-1) if over_zeros else w[w != 0], bits)
    index = torch.zeros(w.shape, dtype=torch.long)
    if over_zeros:
        index = a.reshape(w.shape)
    else:
        index[w != 0] = a
    return ws.Codebook(c, index, mask)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda w, b: _codebook(w, b, over_zeros=True), "over the pruned zeros"),
        (lambda w, b: _codebook(w, b, mask_of=lambda w: torch.ones_like(w, dtype=torch.bool)), "pruned weights came back non-zero"),
        (lambda w, b: _codebook(w, b, mask_of=lambda w: w > 0), "True at every kept weight"),
        (lambda w, b: _codebook(w, 6), "bits is ignored"),
        (lambda w, b: _codebook(w, 1) if b == 3 else _codebook(w, b), "further from their shared values"),
        (lambda w, b: _codebook(w, b).weight(), "returned a tensor"),
        (lambda w, b: torch.zeros(4, dtype=torch.long), "returned a tensor"),
        (lambda w, b: (_codebook(w, b).centroids, _codebook(w, b).index), "must return a Codebook"),
        (lambda w, b: ws.Codebook(torch.zeros(4), torch.zeros(3, dtype=torch.long), torch.ones(3, dtype=torch.bool)),
         "the weight's shape"),
        (lambda w, b: ws.Codebook(torch.zeros(4), torch.zeros(w.shape), w != 0), "LongTensor"),
    ],
)
def test_codebook_for_layer(wrong, message, capsys):
    cw.check_codebook_for_layer(_codebook)
    cw.check_codebook_for_layer(ws.codebook_for_layer)  # the library's version is the exercise's twin
    assert capsys.readouterr().out.count("PASS") == 2
    with pytest.raises(CheckFailed, match=message):
        cw.check_codebook_for_layer(wrong)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda n, k, b: n * b / (n * k + k * b), "log2\\(k\\) bits"),
        (lambda n, k, b: b / math.log2(k), "codebook is missing"),
        (lambda n, k, b: (n * math.log2(k) + k * b) / (n * b), "upside down"),
        (lambda n, k, b: n * b / (math.log2(k) + k * b), "needs an index"),
    ],
)
def test_sharing_compression_rate(wrong, message, capsys):
    cw.check_sharing_compression_rate(lambda n, k, b: n * b / (n * math.log2(k) + k * b))
    cw.check_sharing_compression_rate(ws.sharing_compression_rate)  # the library's version is the exercise's twin
    assert capsys.readouterr().out.count("PASS") == 2
    with pytest.raises(CheckFailed, match=message):
        cw.check_sharing_compression_rate(wrong)


def _gradient(kind="right"):
    def centroid_gradient(weight_grad, codebook):
        if kind == "zeros":
            return torch.zeros(codebook.k)
        if kind == "weight shape":
            return weight_grad * codebook.mask
        m = torch.ones_like(codebook.mask) if kind == "pruned" else codebook.mask
        g = torch.zeros(codebook.k).index_add_(0, codebook.index[m], weight_grad[m])
        if kind == "mean":
            g = g / torch.bincount(codebook.index[m], minlength=codebook.k).clamp(min=1)
        return -g if kind == "negated" else g

    return centroid_gradient


@pytest.mark.parametrize(
    "kind, message",
    [("zeros", "never added up"), ("mean", "averaged"), ("pruned", "pruned weights were counted"),
     ("negated", "sign is flipped"), ("weight shape", "weight's shape")],
)
def test_centroid_gradient(kind, message, capsys):
    cw.check_centroid_gradient(_gradient())
    cw.check_centroid_gradient(ws.centroid_gradient)  # the library's version is the exercise's twin
    assert capsys.readouterr().out.count("PASS") == 2
    with pytest.raises(CheckFailed, match=message):
        cw.check_centroid_gradient(_gradient(kind))
