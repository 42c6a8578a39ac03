"""Linear quantization ([JQ] §2.1): agreement with PyTorch, per-channel, symmetric, clipped ranges,
bad input; fake quantization with the STE and QAT ([JQ] §3); integer-only inference ([JQ] §2.2-2.4)."""

import warnings

import pytest
import torch

from course_lib.integer_inference import (
    activation_ranges,
    integer_linear,
    integer_matmul,
    integer_mlp,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
)
from course_lib.models import LeNet300100
from course_lib.quantization import (
    LinearQuantized,
    broken_blog_quantize,
    convert_qat,
    dequantize,
    dequantize_per_channel,
    distinct_values,
    fake_quantize,
    fake_quantize_ste,
    linear_quantize,
    linear_quantize_per_channel,
    prepare_qat,
    quantize,
    quantize_model_linear,
    scale_and_zero_point,
    symmetric_quantize,
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


# ----------------------------------------------------------------- symmetric quantization, clipped ranges


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_symmetric_quantize_has_zero_point_0_and_signed_narrow_codes(bits):
    x = torch.randn(3000, dtype=torch.float64) * 0.2
    q, s, z = symmetric_quantize(x, bits)
    qmax = 2 ** (bits - 1) - 1
    assert z == 0 and q.dtype == torch.int32
    assert q.min() >= -qmax and q.max() <= qmax and qmax in q.abs()
    assert s == pytest.approx(x.abs().max().item() / qmax)
    assert (dequantize(q, s, z).double() - x).abs().max() <= s / 2 + 1e-9
    assert torch.equal(symmetric_quantize(-x, bits).q, -q), "the grid is symmetric about 0"


def test_symmetric_wastes_half_the_codes_on_one_sided_data():
    x = torch.rand(5000) * 3  # post-ReLU-like: all >= 0
    err = {fn.__name__: (dequantize(*fn(x, 8)) - x).pow(2).mean().sqrt() for fn in (linear_quantize, symmetric_quantize)}
    assert 1.7 < err["symmetric_quantize"] / err["linear_quantize"] < 2.3
    assert symmetric_quantize(torch.zeros(4), 8).scale == 1.0
    with pytest.raises(ValueError, match="at least 2 bits"):
        symmetric_quantize(x, 1)


def test_clip_std_narrows_the_range_and_none_changes_nothing():
    x = torch.cat([torch.randn(2000) * 0.05, torch.tensor([1.0, -0.8])])  # two outliers
    assert scale_and_zero_point(x, 4, clip_std=None) == scale_and_zero_point(x, 4)
    s_clip, z_clip = scale_and_zero_point(x, 4, clip_std=3)
    s_full, _ = scale_and_zero_point(x, 4)
    c = 3 * x.std(correction=0).item()
    assert s_clip == pytest.approx(2 * c / 15, rel=1e-5) and s_clip < s_full / 4
    out = fake_quantize(x, 4, clip_std=3)
    assert out.max() <= s_clip * (15 - z_clip) + 1e-7 and out.min() >= -s_clip * z_clip - 1e-7
    assert (out - x).abs().mean() < (fake_quantize(x, 4) - x).abs().mean()
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="clip_std"):
            scale_and_zero_point(x, 4, clip_std=bad)
    with pytest.raises(ValueError, match="per-tensor"):
        fake_quantize(x.view(2, -1), 4, per_channel=True, clip_std=2)


# ----------------------------------------------------------------- fake quantization with the STE


def _upstream(shape, seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) + 0.5


@pytest.mark.parametrize("bits", [2, 3, 8])
def test_fake_quantize_ste_forward_and_gradient(bits):
    x = (torch.randn(50, 20, generator=torch.Generator().manual_seed(bits)) * 0.3).requires_grad_(True)
    s, z = scale_and_zero_point(x, bits, clip_std=1.5)
    y = fake_quantize_ste(x, s, z, bits)
    assert y.dtype == x.dtype and y.shape == x.shape
    assert torch.equal(y.detach(), dequantize(quantize(x.detach(), s, z, bits), s, z))
    up = _upstream(x.shape)
    y.backward(up)
    lo, hi = s * (0 - z), s * (2**bits - 1 - z)
    inside = (x.detach() >= lo) & (x.detach() <= hi)
    assert (~inside).any() and inside.any()
    assert torch.equal(x.grad, up * inside)


def test_fake_quantize_ste_agrees_with_torch_except_half_a_step_outside():
    x = (torch.randn(4000, generator=torch.Generator().manual_seed(1)) * 0.3).requires_grad_(True)
    s, z = scale_and_zero_point(x, 4, clip_std=1.0)
    ours = fake_quantize_ste(x, s, z, 4)
    ours.backward(torch.ones_like(ours))
    xt = x.detach().clone().requires_grad_(True)
    theirs = torch.fake_quantize_per_tensor_affine(xt, s, z, 0, 15)
    theirs.backward(torch.ones_like(theirs))
    assert torch.allclose(ours, theirs, atol=1e-6)
    lo, hi = s * (0 - z), s * (15 - z)
    near = ((x.detach() < lo) & (x.detach() >= lo - s / 2)) | ((x.detach() > hi) & (x.detach() <= hi + s / 2))
    assert near.any()
    assert torch.equal(x.grad[~near], xt.grad[~near]) and torch.all(x.grad[near] == 0)


def test_fake_quantize_ste_float64_per_channel_and_no_grad_input():
    w = torch.randn(6, 10, dtype=torch.float64)
    qc = linear_quantize_per_channel(w, 3)
    s, z = qc.scale.view(-1, 1), qc.zero_point.view(-1, 1)
    y = fake_quantize_ste(w, s, z, 3)
    assert y.dtype == torch.float64 and not y.requires_grad
    assert torch.allclose(y, dequantize_per_channel(qc.q, qc.scale, qc.zero_point).double(), atol=1e-6)
    wg = w.clone().requires_grad_(True)
    fake_quantize_ste(wg, s, z, 3).sum().backward()
    lo, hi = s * (0 - z), s * (7 - z)
    inside = (w >= lo) & (w <= hi)
    assert torch.equal(wg.grad, inside.double())
    # a min/max range clips nothing but the ends the rounded zero point moved: less than half a step
    outside = w[~inside]
    assert inside.float().mean() > 0.8 and torch.all(torch.minimum((outside - lo.expand_as(w)[~inside]).abs(),
                                                                   (outside - hi.expand_as(w)[~inside]).abs())
                                                     <= s.expand_as(w)[~inside] / 2)


# ----------------------------------------------------------------- quantization-aware training


def test_prepare_and_convert_qat_match_ptq_and_leave_the_original_alone():
    torch.manual_seed(0)
    model = LeNet300100()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(8, 784)
    prepared = prepare_qat(model, 2, clip_std=3)
    out_prepared = prepared(x)
    converted = convert_qat(prepared)
    ptq = quantize_model_linear(model, 2, clip_std=3)
    for name in ("fc1", "fc2", "fc3"):
        assert torch.equal(getattr(converted, name).weight, getattr(ptq, name).weight)
        assert distinct_values(getattr(converted, name).weight) <= 4
        assert type(getattr(converted, name)) is torch.nn.Linear
    assert torch.allclose(converted(x), out_prepared, atol=1e-6)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()), "the input model must not change"
    # converting a copy must not break the prepared model (they share a parametrized class)
    assert torch.equal(prepared(x), out_prepared)
    assert torch.equal(convert_qat(prepared).fc1.weight, converted.fc1.weight)


def test_qat_gradients_reach_the_float_weights_and_training_moves_them():
    torch.manual_seed(0)
    prepared = prepare_qat(LeNet300100(), {"fc1": 2, "fc3": 4})
    assert not torch.nn.utils.parametrize.is_parametrized(prepared.fc2)
    latent = prepared.fc1.parametrizations.weight.original
    start = latent.detach().clone()
    x, y = torch.randn(32, 784), torch.randint(0, 10, (32,))
    opt = torch.optim.SGD(prepared.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(prepared(x), y).backward()
        assert latent.grad is not None and latent.grad.abs().sum() > 0
        opt.step()
    assert not torch.equal(latent.detach(), start)
    assert distinct_values(prepared.fc1.weight) <= 4 and distinct_values(prepared.fc3.weight) <= 16
    with pytest.raises(ValueError, match="No layer named"):
        prepare_qat(LeNet300100(), {"conv9": 2})


# ----------------------------------------------------------------- integer-only inference ([JQ] §2.2-2.4)


@pytest.mark.parametrize("M", [0.75, 0.3, 0.5, 2.0**-10, 1 / 3, 1e-5, 0.5 - 2.0**-40, 0.999999, 1.5, 3.0])
def test_quantize_multiplier_represents_M(M):
    m0, n = quantize_multiplier(M)
    assert type(m0) is int and type(n) is int
    assert 2**30 <= m0 <= 2**31 - 1
    assert m0 * 2.0 ** -(31 + n) == pytest.approx(M, rel=2.0**-30)
    if M < 1 and M != 0.5 - 2.0**-40:
        mantissa = M * 2.0**n
        assert 0.5 <= mantissa < 1


def test_quantize_multiplier_edges_and_bad_input():
    assert quantize_multiplier(0.5) == (2**30, 0)
    assert quantize_multiplier(2.0**-10) == (2**30, 9)
    assert quantize_multiplier(0.5 - 2.0**-40) == (2**30, 0)  # M0 rounds up to 1: one shift less
    for bad in (0.0, -0.1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="positive finite"):
            quantize_multiplier(bad)
    with pytest.raises(TypeError):
        quantize_multiplier(torch.tensor(0.5))


def test_multiply_by_quantized_multiplier_rounds_like_exact_arithmetic():
    from fractions import Fraction

    gen = torch.Generator().manual_seed(3)
    acc = torch.randint(-(2**31), 2**31 - 1, (2000,), generator=gen, dtype=torch.int64)
    acc[:4] = torch.tensor([0, 1, -1, 2**31 - 1])
    for M in (5.5e-4, 0.3, 0.999, 2.0**-20):
        m0, n = quantize_multiplier(M)
        got = multiply_by_quantized_multiplier(acc, m0, n)
        for a, g in zip(acc.tolist()[:300], got.tolist()[:300]):
            exact = Fraction(a * m0, 2 ** (31 + n))
            want = int(abs(exact) + Fraction(1, 2)) * (1 if exact >= 0 else -1)  # halves away from 0
            assert g == want
    with pytest.raises(TypeError, match="integer"):
        multiply_by_quantized_multiplier(acc.float(), *quantize_multiplier(0.3))


def test_integer_matmul_equals_the_direct_sum():
    gen = torch.Generator().manual_seed(0)
    q1 = torch.randint(0, 256, (7, 50), generator=gen)
    q2 = torch.randint(0, 256, (4, 50), generator=gen)
    for z1, z2 in ((0, 0), (33, 0), (0, 140), (33, 140)):
        acc = integer_matmul(q1, z1, q2, z2)
        assert acc.dtype == torch.int32
        assert torch.equal(acc.long(), (q1 - z1) @ (q2 - z2).T)
    with pytest.raises(OverflowError):
        integer_matmul(torch.full((1, 40000), 255), 0, torch.full((1, 40000), 255), 0)


def test_integer_linear_follows_the_float_layer():
    torch.manual_seed(0)
    layer = torch.nn.Linear(64, 16)
    x = torch.randn(200, 64)
    s1, z1 = scale_and_zero_point(x, 8)
    qx = LinearQuantized(quantize(x, s1, z1, 8), s1, z1)
    with torch.no_grad():
        y = torch.relu(layer(x))
    s3, z3 = scale_and_zero_point(y, 8)
    for wq in (linear_quantize(layer.weight.detach(), 8), symmetric_quantize(layer.weight.detach(), 8)):
        out = integer_linear(qx, wq, layer.bias, s3, z3, relu=True)
        assert out.q.dtype == torch.uint8 and out.scale == s3 and out.zero_point == z3
        # the same arithmetic in float, from the dequantized inputs and weights: at most one code apart
        xf, wf = dequantize(qx.q, s1, z1).double(), dequantize(wq.q, wq.scale, wq.zero_point).double()
        bias = torch.round(layer.bias.detach().double() / (s1 * wq.scale)) * s1 * wq.scale
        sim = (torch.round((xf @ wf.T + bias) / s3) + z3).clamp(z3, 255)
        assert (out.q.double() - sim).abs().max() <= 1
        assert (dequantize(out.q, s3, z3) - y).abs().mean() < s3


def test_integer_mlp_runs_lenet_300_100_like_the_float_model():
    torch.manual_seed(0)
    model = LeNet300100()
    calibration, x = torch.randn(500, 1, 28, 28), torch.randn(300, 1, 28, 28)
    ranges = activation_ranges(model, calibration)
    assert len(ranges) == 4 and all(z == 0 for _, z in ranges[1:3]), "post-ReLU ranges start at 0"
    with torch.no_grad():
        logits = model(x)
    for symmetric in (False, True):
        out = integer_mlp(model, x, ranges, symmetric_weights=symmetric)
        back = dequantize(out.q, out.scale, out.zero_point)
        assert (back - logits).abs().mean() < 2 * out.scale
    with pytest.raises(ValueError, match="entries"):
        integer_mlp(model, x, ranges[:2])
    from course_lib.models import LeNet5

    with pytest.raises(ValueError, match="stack of Linear layers"):
        activation_ranges(LeNet5(), calibration)


def test_integer_mlp_keeps_the_test_error_of_the_committed_baseline(mnist):
    from course_lib.committed_models import load_baseline
    from course_lib.train import evaluate, within_noise

    model = load_baseline("lenet300100", device="cpu")
    ranges = activation_ranges(model, mnist.val_x[:2000].cpu())
    x, y = mnist.test_x[:5000].cpu(), mnist.test_y[:5000].cpu()
    float_error = evaluate(model, (x, y))
    for symmetric in (False, True):
        codes = integer_mlp(model, x, ranges, symmetric_weights=symmetric).q
        error = 100 * (codes.long().argmax(dim=1) != y).double().mean().item()
        assert within_noise(error, float_error, n=5000) or abs(error - float_error) < 0.3
