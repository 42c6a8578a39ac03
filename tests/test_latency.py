"""Latency measurement (course_lib.latency): what is called how often, in which mode; CSR layers.

No test asserts a speed: timings on a shared machine are noisy. The speed figures are printed
by notebook 08 and by ``make structure``.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from course_lib.latency import CSRLinear, format_latency, latency_rows, measure_latency, median_time, time_inference, to_csr
from course_lib.models import LeNet5, LeNet300100


class Spy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.calls, self.grad_calls, self.training_calls = 0, 0, 0

    def forward(self, x):
        self.calls += 1
        self.grad_calls += torch.is_grad_enabled()
        self.training_calls += self.training
        return self.fc(x)


def test_time_inference_warms_up_and_turns_autograd_off():
    spy = Spy().train()
    seconds = time_inference(spy, torch.randn(4, 3), warmup=3, repeats=7)
    assert isinstance(seconds, float) and seconds > 0
    assert spy.calls == 10 and spy.grad_calls == 0 and spy.training_calls == 0
    assert spy.training  # given back in the mode it had


@pytest.mark.parametrize("kwargs", [dict(warmup=-1), dict(repeats=0), dict(repeats=2.5), dict(warmup=True)])
def test_bad_counts_are_refused(kwargs):
    with pytest.raises(ValueError):
        median_time(lambda: None, **kwargs)


def test_measure_latency_does_not_move_the_callers_model():
    model = LeNet300100()
    assert measure_latency(model, 2, warmup=1, repeats=2) > 0
    rows = latency_rows({"a": model, "b": LeNet5()}, (1, 3), warmup=1, repeats=2)
    assert [(r["model"], r["batch"]) for r in rows] == [("a", 1), ("a", 3), ("b", 1), ("b", 3)]
    assert all(r["us_per_image"] == pytest.approx(1e6 * r["seconds"] / r["batch"]) for r in rows)
    assert all(r["spread"] >= 0 for r in rows)
    with pytest.raises(ValueError, match="rounds"):
        latency_rows({"a": model}, (1,), rounds=0)
    assert "speed-up" in format_latency(rows, reference="a").splitlines()[0]


def test_csr_layers_compute_what_the_dense_ones_do():
    torch.manual_seed(0)
    model = LeNet300100().eval()
    with torch.no_grad():
        for layer in (model.fc1, model.fc2):
            layer.weight.mul_(torch.rand_like(layer.weight) < 0.1)
    sparse = to_csr(model)
    assert isinstance(sparse.fc1, CSRLinear) and sparse.fc1.weight.layout == torch.sparse_csr
    assert sparse.fc1.density() == pytest.approx((model.fc1.weight != 0).float().mean().item())
    x = torch.randn(5, 1, 28, 28)
    with torch.inference_mode():
        assert torch.allclose(sparse(x), model(x), atol=1e-5)
    twin = copy.deepcopy(sparse)  # a CSR tensor has no storage to deepcopy; CSRLinear rebuilds it
    assert torch.equal(twin.fc1.weight.to_dense(), sparse.fc1.weight.to_dense())
    cnn = to_csr(LeNet5().eval())
    assert isinstance(cnn.conv1, nn.Conv2d) and isinstance(cnn.fc1, CSRLinear)
    assert time_inference(cnn, torch.randn(2, 1, 28, 28), warmup=1, repeats=1) > 0
