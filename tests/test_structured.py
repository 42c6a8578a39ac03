"""Structured pruning (course_lib.structured): which units go, how the next layer shrinks, and
that torch-pruning (DepGraph) removes the same units for the same criterion."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from course_lib.models import LeNet5, LeNet300100, count_parameters
from course_lib.structured import (model_from_state, prune_and_retrain_units, prune_units, remove_units,
                                   resized_model, unit_counts, unit_importance, units_to_keep)


def test_importance_is_one_norm_per_output_unit():
    w = torch.tensor([[3.0, 4.0], [0.0, 1.0], [1.0, 1.0]])
    assert torch.allclose(unit_importance(w), torch.tensor([5.0, 1.0, 2 ** 0.5]))
    conv = torch.randn(4, 3, 5, 5)
    assert torch.allclose(unit_importance(conv), conv.flatten(1).norm(dim=1))
    assert torch.allclose(unit_importance(conv, p=1), conv.flatten(1).abs().sum(1))


def test_units_to_keep_rounds_like_torch_prune_and_keeps_ties_in_order():
    w = torch.ones(6, 2)  # all tied
    assert units_to_keep(w, 0.5).tolist() == [0, 1, 2]
    assert units_to_keep(w, 0.0).tolist() == list(range(6))
    w = torch.arange(1.0, 11.0)[:, None] * torch.ones(10, 3)
    assert units_to_keep(w, 0.38).tolist() == [4, 5, 6, 7, 8, 9]  # round(3.8) = 4 removed, the smallest


@pytest.mark.parametrize("amount", [1.0, 0.99, 1.5, -0.1, "half", True])
def test_bad_amounts_are_refused(amount):
    with pytest.raises(ValueError, match="amount"):
        units_to_keep(torch.randn(8, 3), amount)


def test_remove_units_linear_and_conv_and_the_flatten():
    torch.manual_seed(0)
    a, b = nn.Linear(5, 4), nn.Linear(4, 3)
    keep = torch.tensor([1, 3])
    na, nb = remove_units(a, b, keep)
    assert torch.equal(na.weight, a.weight[keep]) and torch.equal(na.bias, a.bias[keep])
    assert torch.equal(nb.weight, b.weight[:, keep]) and torch.equal(nb.bias, b.bias)
    assert (na.out_features, nb.in_features) == (2, 2) and a.out_features == 4  # originals untouched
    c1, c2 = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 2, 3, stride=2)
    n1, n2 = remove_units(c1, c2, keep)
    assert n1.padding == (1, 1) and n2.stride == (2, 2) and n2.in_channels == 2
    conv, fc = nn.Conv2d(3, 4, 1), nn.Linear(4 * 9, 5)  # conv -> flatten -> linear, 9 positions per channel
    nc, nf = remove_units(conv, fc, keep)
    assert nf.in_features == 18
    assert torch.equal(nf.weight, fc.weight[:, list(range(9, 18)) + list(range(27, 36))])


def test_remove_units_refuses_bad_keep_and_mismatched_layers():
    with pytest.raises(ValueError, match="distinct"):
        remove_units(nn.Linear(3, 4), nn.Linear(4, 2), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="must match"):
        remove_units(nn.Linear(3, 4), nn.Linear(5, 2), torch.tensor([0]))


def _dead_units(model: nn.Module, layer: str, n: int) -> nn.Module:
    """Units whose outputs are exactly 0 after the ReLU / pooling: removing them changes nothing."""
    m = copy.deepcopy(model)
    lay = m.get_submodule(layer)
    with torch.no_grad():
        idx = lay.weight.flatten(1).norm(dim=1).argsort()[:n]
        lay.weight[idx] = 0
        lay.bias[idx] = 0 if isinstance(lay, nn.Conv2d) else -1.0
    return m


def test_pruning_dead_units_keeps_the_function():
    torch.manual_seed(1)
    x = torch.randn(4, 1, 28, 28)
    mlp = _dead_units(_dead_units(LeNet300100().eval(), "fc1", 150), "fc2", 50)
    small = prune_units(mlp, {"fc1": 0.5, "fc2": 0.5})
    assert unit_counts(small) == {"fc1": 150, "fc2": 50, "fc3": 10}
    assert torch.allclose(small(x), mlp(x), atol=1e-5)
    cnn = _dead_units(LeNet5().eval(), "conv2", 25)  # zero filters + zero bias: zero channels into fc1
    small = prune_units(cnn, {"conv2": 0.5})
    assert small.fc1.in_features == 25 * 16
    assert torch.allclose(small(x), cnn(x), atol=1e-5)


def test_prune_units_errors_name_the_problem():
    model = LeNet5()
    with pytest.raises(ValueError, match="no layer named"):
        prune_units(model, {"conv3": 0.5})
    with pytest.raises(ValueError, match="last layer"):
        prune_units(model, {"fc2": 0.5})
    with pytest.raises(ValueError, match="remove all"):
        prune_units(model, {"fc1": 1.0})


def test_resized_and_rebuilt_models():
    m = resized_model("lenet5", {"conv1": 5, "conv2": 13, "fc1": 125})
    assert count_parameters(m) == 5 * 25 + 5 + 13 * 5 * 25 + 13 + 13 * 16 * 125 + 125 + 125 * 10 + 10
    assert m(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    again = model_from_state("lenet5", m.state_dict())
    assert unit_counts(again) == unit_counts(m)
    mlp = resized_model("lenet300100", {"fc1": 30, "fc2": 10})
    assert count_parameters(mlp) == 784 * 30 + 30 + 30 * 10 + 10 + 10 * 10 + 10
    with pytest.raises(ValueError, match="whole number"):
        resized_model("lenet300100", {"fc1": 0})


def _torch_pruning_kept(model: nn.Module, ratio: float, layers: list[str]) -> dict[str, int]:
    import torch_pruning as tp

    importance = tp.importance.MagnitudeImportance(p=2, group_reduction="first", normalizer=None)
    ignored = [m for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d)) and n not in layers]
    pruner = tp.pruner.MetaPruner(model, torch.randn(1, 1, 28, 28), importance=importance, pruning_ratio=ratio,
                                  ignored_layers=ignored)
    pruner.step()
    return unit_counts(model)


@pytest.mark.parametrize("name, layers, ratio", [("lenet300100", ["fc1", "fc2"], 0.5),
                                                 ("lenet5", ["conv1", "conv2", "fc1"], 0.5),
                                                 ("lenet5", ["conv2"], 0.2)])
def test_torch_pruning_removes_the_same_units(name, layers, ratio):
    """DepGraph with the same criterion (L2 norm of each unit's own weights) keeps the same units as ours."""
    torch.manual_seed(2)
    model = (LeNet300100() if name == "lenet300100" else LeNet5()).eval()
    ours = prune_units(model, {layer: ratio for layer in layers})
    theirs = copy.deepcopy(model)
    _torch_pruning_kept(theirs, ratio, layers)
    assert unit_counts(theirs) == unit_counts(ours)
    for key, value in ours.state_dict().items():
        assert torch.equal(theirs.state_dict()[key], value), key
    x = torch.randn(3, 1, 28, 28)
    assert torch.allclose(theirs(x), ours(x), atol=1e-6)


def test_prune_and_retrain_reports_validation_errors(mnist):
    torch.manual_seed(3)
    model = LeNet300100().to(mnist.train_x.device)
    small, info = prune_and_retrain_units(model, {"fc1": 0.5}, mnist, epochs=1, train_subset=512, progress=False)
    assert info["units"]["fc1"] == 150 and info["parameters"] == count_parameters(small)
    assert 0 <= info["val_error"] <= 100 and len(info["history_val_error"]) == 1
