"""Linear (affine) quantization ([JQ] §2.1): agreement with PyTorch, per-channel, bad input."""

import warnings

import pytest
import torch

from course_lib.models import LeNet300100
from course_lib.quantization import (
    broken_blog_quantize,
    dequantize,
    dequantize_per_channel,
    distinct_values,
    fake_quantize,
    linear_quantize,
    linear_quantize_per_channel,
    quantize,
    quantize_model_linear,
    scale_and_zero_point,
)


def _torch_per_tensor(x, scale, zero_point):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.quantize_per_tensor(x, scale, zero_point, torch.quint8)


@pytest.mark.parametrize("seed", range(20))
def test_8_bits_agrees_with_torch_quantize_per_tensor(seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2000, generator=gen) * (0.01 + 3 * torch.rand(1, generator=gen)) + torch.randn(1, generator=gen)
    q, scale, zero_point = linear_quantize(x, 8)
    ref = _torch_per_tensor(x, scale, zero_point)
    assert torch.equal(q, ref.int_repr().to(q.dtype))
    assert torch.allclose(dequantize(q, scale, zero_point), ref.dequantize(), atol=1e-6)


def test_scale_and_zero_point_match_minmax_observer():
    x = torch.randn(1000) * 0.2 + 0.05
    obs = torch.ao.quantization.MinMaxObserver(dtype=torch.quint8)
    obs(x)
    scale, zero_point = obs.calculate_qparams()
    s, z = scale_and_zero_point(x, 8)
    assert s == pytest.approx(scale.item(), rel=1e-6)
    assert z == int(zero_point)


def test_8_bits_per_channel_agrees_with_torch():
    w = torch.randn(8, 5, 3, 3) * torch.linspace(0.1, 2, 8).view(-1, 1, 1, 1)
    q, scale, zero_point = linear_quantize_per_channel(w, 8, axis=0)
    assert scale.shape == (8,) and zero_point.shape == (8,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.quantize_per_channel(w, scale, zero_point, 0, torch.quint8)
    assert torch.equal(q, ref.int_repr().to(q.dtype))
    back = dequantize_per_channel(q, scale, zero_point, axis=0)
    assert torch.allclose(back, ref.dequantize(), atol=1e-6)


def test_per_channel_beats_per_tensor_when_rows_differ_in_scale():
    w = torch.randn(16, 64) * torch.logspace(-2, 0, 16).view(-1, 1)
    err_tensor = (fake_quantize(w, 4) - w).pow(2).mean()
    err_channel = (fake_quantize(w, 4, per_channel=True) - w).pow(2).mean()
    assert err_channel < err_tensor / 2


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 6, 8, 12, 16])
def test_codes_in_range_zero_exact_and_error_within_half_step(bits):
    x = torch.cat([torch.randn(500, dtype=torch.float64), torch.zeros(10, dtype=torch.float64)])
    q, s, z = linear_quantize(x, bits)
    assert q.min() >= 0 and q.max() <= 2**bits - 1
    back = dequantize(q, s, z).double()
    assert torch.all(back[-10:] == 0), "real 0 must be exactly representable"
    assert (back - x).abs().max() <= s / 2 + 1e-6 * s + 1e-12
    assert distinct_values(q) <= 2**bits


def test_rounds_to_nearest_not_truncation():
    x = torch.tensor([0.0, 0.9, 1.0])  # S = 1/255 at 8 bits... use 2 bits: S = 1/3
    q, s, z = linear_quantize(x, 2)
    assert z == 0 and s == pytest.approx(1 / 3)
    assert q.tolist() == [0, 3, 3]  # 0.9 / (1/3) = 2.7 rounds to 3, truncation would give 2


def test_positive_only_and_negative_only_ranges_include_zero():
    pos = torch.rand(100) + 1.0
    s, z = scale_and_zero_point(pos, 8)
    assert z == 0
    neg = -(torch.rand(100) + 1.0)
    s, z = scale_and_zero_point(neg, 8)
    assert z == 255


def test_all_zero_tensor_round_trips():
    x = torch.zeros(5)
    q, s, z = linear_quantize(x, 4)
    assert torch.equal(dequantize(q, s, z), x)


def test_fewer_bits_more_error():
    x = torch.randn(5000)
    errors = [(fake_quantize(x, b) - x).abs().mean().item() for b in (2, 4, 6, 8)]
    assert errors == sorted(errors, reverse=True)


def test_quantize_model_linear_keeps_zeros_and_original():
    torch.manual_seed(0)
    model = LeNet300100()
    with torch.no_grad():
        model.fc1.weight[:, :100] = 0
    original = model.fc1.weight.detach().clone()
    q = quantize_model_linear(model, 3)
    assert torch.equal(model.fc1.weight, original), "the input model must not change"
    assert torch.all(q.fc1.weight[:, :100] == 0)
    for layer in (q.fc1, q.fc2, q.fc3):
        assert distinct_values(layer.weight) <= 8
    q = quantize_model_linear(model, {"fc3": 2})
    assert torch.equal(q.fc1.weight, original)
    assert distinct_values(q.fc3.weight) <= 4
    with pytest.raises(ValueError, match="No layer named"):
        quantize_model_linear(model, {"conv9": 4})


def test_broken_blog_quantize_ignores_bits():
    w = torch.randn(1000) * 0.1
    outs = [broken_blog_quantize(w, b) for b in (2, 4, 8)]
    assert all(torch.equal(outs[0], o) for o in outs)
    assert distinct_values(outs[0]) <= 3
    assert distinct_values(fake_quantize(w, 8)) > 100


@pytest.mark.parametrize("bits", [0, 17, -1, 32])
def test_bits_out_of_range(bits):
    with pytest.raises(ValueError, match="between 1 and 16"):
        linear_quantize(torch.randn(4), bits)
    with pytest.raises(ValueError, match="between 1 and 16"):
        linear_quantize_per_channel(torch.randn(2, 4), bits)


@pytest.mark.parametrize("bits", [2.5, "8", None, True])
def test_bits_wrong_type(bits):
    with pytest.raises(TypeError, match="bits must be an int"):
        linear_quantize(torch.randn(4), bits)


def test_empty_and_bad_tensors():
    with pytest.raises(ValueError, match="empty"):
        linear_quantize(torch.empty(0), 8)
    with pytest.raises(ValueError, match="empty"):
        linear_quantize_per_channel(torch.empty(0, 3), 8)
    with pytest.raises(TypeError, match="floating"):
        linear_quantize(torch.arange(5), 8)
    with pytest.raises(TypeError, match="torch.Tensor"):
        linear_quantize([1.0, 2.0], 8)
    with pytest.raises(ValueError, match="NaN or infinite"):
        linear_quantize(torch.tensor([1.0, float("nan")]), 8)
    with pytest.raises(ValueError, match="scale must be positive"):
        quantize(torch.randn(3), 0.0, 0, 8)
