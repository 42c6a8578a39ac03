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
def test_quantize_weights(wrong, message, capsys):
    cq.check_quantize_weights(lambda w, bits: q.fake_quantize(w, bits))
    assert "PASS" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=message):
        cq.check_quantize_weights(wrong)


def test_quantize_weights_truncation():
    def trunc(w, bits):
        s, z = q.scale_and_zero_point(w, bits)
        return q.dequantize(torch.trunc(w / s) + z, s, z)

    with pytest.raises(CheckFailed, match="half a step"):
        cq.check_quantize_weights(trunc)


# ----------------------------------------------------------------- notebook 05


def _kmeans(iters_used=None, k_of=lambda b: 2**b, nan_empty=False, init="linear"):
    def kmeans_linear(values, bits, iters):
        k = k_of(bits)
        c = torch.linspace(values.min().item(), values.max().item(), k) if init == "linear" else \
            ws.init_centroids(values, k, init)
        for _ in range(iters if iters_used is None else iters_used):
            a = (values[:, None] - c[None, :]).abs().argmin(1)
            for j in range(k):
                members = values[a == j]
                if members.numel() or nan_empty:
                    c[j] = members.mean()
        a = (values[:, None] - c[None, :]).abs().argmin(1)
        return c, a

    return kmeans_linear


def test_kmeans_right_answers_pass(capsys):
    cw.check_kmeans_linear(_kmeans())
    cw.check_kmeans_linear(lambda v, b, it: ws.kmeans_codebook(v, b, max_iter=it))
    assert "PASS" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_kmeans(iters_used=0), "never updated"),
        (_kmeans(k_of=lambda b: b), "bits is ignored|2\\*\\*bits"),
        (_kmeans(nan_empty=True), "NaN"),
        (_kmeans(init="density"), "differs from 1-D k-means"),
        (lambda v, b, it: (torch.linspace(v.min().item(), v.max().item(), 2**b), torch.zeros(v.shape, dtype=torch.long)),
         "nearest centroid"),
    ],
)
def test_kmeans_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        cw.check_kmeans_linear(wrong)


def _share_right(w, bits):
    mask = w != 0
    c, a = ws.kmeans_codebook(w[mask], bits)
    out = torch.zeros_like(w)
    out[mask] = c[a]
    return out


def _share_with_zeros(w, bits, keep_zeros=True):
    c, a = ws.kmeans_codebook(w.reshape(-1), bits)
    out = c[a].reshape(w.shape)
    return out * (w != 0) if keep_zeros else out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_share_with_zeros, "over the pruned zeros"),
        (lambda w, b: _share_right(w, b) + 0.01 * (w == 0), "pruned weights came back non-zero"),
        (lambda w, b: w.clone(), "bits is ignored"),
        (lambda w, b: _share_right(w, 1) if b == 3 else _share_right(w, b), "further from their shared values"),
    ],
)
def test_share_weights(wrong, message, capsys):
    cw.check_share_weights(_share_right)
    cw.check_share_weights(lambda w, b: ws.codebook_for_layer(w, b).weight())
    assert "PASS" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=message):
        cw.check_share_weights(wrong)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda n, k, b: n * b / (n * k + k * b), "log2\\(k\\) bits"),
        (lambda n, k, b: b / math.log2(k), "codebook is missing"),
        (lambda n, k, b: (n * math.log2(k) + k * b) / (n * b), "upside down"),
        (lambda n, k, b: n * b / (math.log2(k) + k * b), "needs an index"),
    ],
)
def test_compression_rate(wrong, message, capsys):
    cw.check_compression_rate(lambda n, k, b: n * b / (n * math.log2(k) + k * b))
    assert "PASS" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=message):
        cw.check_compression_rate(wrong)


def _update(kind="right"):
    def centroid_update(centroids, weight_grad, index, mask, lr):
        if kind == "never":
            return centroids
        m = torch.ones_like(mask) if kind == "pruned" else mask
        g = torch.zeros_like(centroids).index_add_(0, index[m], weight_grad[m])
        if kind == "mean":
            g = g / torch.bincount(index[m], minlength=centroids.numel()).clamp(min=1)
        return centroids + lr * g if kind == "uphill" else centroids - lr * g

    return centroid_update


@pytest.mark.parametrize(
    "kind, message",
    [("never", "never updated"), ("mean", "averaged"), ("pruned", "pruned weights were counted"), ("uphill", "uphill")],
)
def test_centroid_update(kind, message, capsys):
    cw.check_centroid_update(_update())
    assert "PASS" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=message):
        cw.check_centroid_update(_update(kind))
