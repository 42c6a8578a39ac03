"""int8 inference with torchao (course_lib.int8): its codes are our linear quantization at 8 bits,
per channel, symmetric; the quantized models run on a CPU and are smaller on disk."""

from __future__ import annotations

import pytest
import torch

from course_lib.int8 import Int8Result, int8_model, int8_weight_codes, symmetric_quantize_per_channel
from course_lib.models import LeNet300100
from course_lib.quantization import dequantize
from course_lib.tradeoffs import saved_bytes

import torchao  # noqa: F401  (pinned in requirements: a missing torchao fails here, it does not skip)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = LeNet300100().eval()
    with torch.no_grad():
        m.fc2.weight[:3] = 0  # all-zero rows: the smallest scale
        m.fc2.weight[5, 7] = 1.0  # an outlier in one row
    return m


@pytest.mark.parametrize("mode", ["weight_only", "dynamic"])
def test_torchao_codes_equal_our_symmetric_per_channel_quantization(model, mode):
    result = int8_model(model, mode)
    assert isinstance(result, Int8Result) and result.ok, result.error
    codes = int8_weight_codes(result.model)
    assert set(codes) == {"fc1", "fc2", "fc3"}
    for name, (qdata, scale) in codes.items():
        ours = symmetric_quantize_per_channel(getattr(model, name).weight, 8)
        assert qdata.dtype == torch.int8 and ours.q.dtype == torch.int8
        assert torch.equal(ours.q, qdata), name
        assert torch.equal(ours.scale, scale.reshape(ours.scale.shape)), name


def test_codes_use_the_full_int8_range_and_dequantize_back(model):
    q, scale, zero = symmetric_quantize_per_channel(model.fc1.weight, 8)
    assert zero == 0 and int(q.min()) >= -128 and int(q.max()) <= 127
    assert bool((q.abs().amax(dim=1) >= 127).all())  # every row reaches the edge of the range
    back = dequantize(q, scale, 0)
    assert (back - model.fc1.weight).abs().max() <= scale.max() / 2 + 1e-7


def test_quantized_model_runs_close_to_float_and_is_smaller_on_disk(model):
    q = int8_model(model, "weight_only").model
    x = torch.randn(8, 1, 28, 28)
    with torch.inference_mode():
        assert (q(x) - model(x)).abs().max() < 0.05
    assert saved_bytes(q) < 0.3 * saved_bytes(model)


def test_unknown_mode_and_bad_bits_are_refused(model):
    with pytest.raises(ValueError, match="mode"):
        int8_model(model, "int4")
    with pytest.raises(ValueError):
        symmetric_quantize_per_channel(model.fc1.weight, 0)
    with pytest.raises(ValueError, match="rows"):
        symmetric_quantize_per_channel(torch.randn(5), 8)


def test_a_path_that_fails_returns_its_message(model):
    class Broken(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 2)

        def forward(self, x):
            raise RuntimeError("no kernel for this CPU")

    result = int8_model(Broken(), "dynamic", example=torch.randn(1, 3))
    assert not result.ok and "RuntimeError: no kernel for this CPU" in result.error


def test_torchao_codes_are_linear_quantize_at_8_bits_on_each_rows_symmetric_range(model):
    """The same statement in terms of notebook 04's own functions. Over a row's symmetric range
    ``[-max|w|, max|w|]`` (the row given with its mirror image), ``linear_quantize`` at 8 bits has
    torchao's scale, and a zero point of 127.5 that it must round to 127 or 128 (which one depends
    on the last bit of ``rmin / S``). torchao's signed codes fix it at 128: with that zero point,
    ``quantize`` (the step ``linear_quantize`` ends with) gives torchao's codes plus 128."""
    from course_lib.quantization import linear_quantize, quantize

    result = int8_model(model, "weight_only")
    assert result.ok, result.error
    for name, (qdata, scales) in int8_weight_codes(result.model).items():
        weight = getattr(model, name).weight.detach()
        for row, codes, scale in zip(weight, qdata, scales.reshape(-1)):
            if not bool(row.any()):
                assert not bool(codes.any()), name  # an all-zero row has only the code 0
                continue
            _, s, z = linear_quantize(torch.cat([row, -row]), 8)
            assert z in (127, 128) and abs(s - float(scale)) <= 1e-6 * s, name
            assert torch.equal(quantize(row, scale, 128, 8).long() - 128, codes.long()), name
