"""course_lib.pruning: masks, the `>` rule, masks surviving SGD, schedules, bad input."""

import math

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from course_lib.data import MNISTData
from course_lib.models import LeNet300100, LeNet5, prunable_layers
from course_lib.pruning import (
    GradualPruner,
    MaskKeeper,
    apply_masks,
    compression_ratio,
    cubic_sparsity,
    format_report,
    global_masks,
    iterative_prune,
    iterative_targets,
    keep_fraction,
    layer_masks,
    magnitude_prune,
    masked_step,
    masks_from_model,
    prune_and_retrain,
    prune_model,
    sensitivity_scan,
    sparsities_from_keep,
    sparsity_report,
    threshold_prune,
)
from course_lib.train import evaluate, train


def _tie_free(shape, seed=0):
    """Distinct magnitudes (a shuffled 1..n), random signs: no two |w| are equal."""
    g = torch.Generator().manual_seed(seed)
    n = math.prod(shape)
    magnitude = (torch.randperm(n, generator=g).float() + 1) / n
    sign = torch.randint(0, 2, (n,), generator=g).float() * 2 - 1
    return (magnitude * sign).reshape(shape)


# --------------------------------------------------------------------------- magnitude_prune


@pytest.mark.parametrize("shape", [(300, 100), (20, 1, 5, 5), (7,), (10, 3)])
@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.5, 0.74, 0.92, 0.99])
def test_magnitude_prune_agrees_with_torch_l1_unstructured(shape, sparsity):
    w = _tie_free(shape, seed=len(shape) + int(100 * sparsity))
    layer = nn.Linear(1, 1)
    del layer.weight
    layer.weight = nn.Parameter(w.clone())
    torch_prune.l1_unstructured(layer, "weight", amount=sparsity)
    ours = magnitude_prune(w, sparsity)
    assert ours.dtype == torch.bool and ours.shape == w.shape
    assert torch.equal(ours, layer.weight_mask.bool())
    assert (~ours).sum().item() == round(sparsity * w.numel())


def test_greater_than_keeps_and_ties_at_the_threshold_are_pruned():
    w = torch.tensor([0.5, -0.5, 0.5, 2.0, -3.0, 4.0])
    # k = round(0.5 * 6) = 3: the threshold is 0.5, three weights tie at it and all go.
    mask = magnitude_prune(w, 0.5)
    assert mask.tolist() == [False, False, False, True, True, True]
    # k = 1: the threshold is still 0.5 (the 1st smallest |w|), so all three ties are pruned too.
    assert magnitude_prune(w, 1 / 6).tolist() == [False, False, False, True, True, True]
    # the rule, stated: kept iff |w| > k-th smallest |w|
    x = _tie_free((50, 40), seed=3)
    k = round(0.3 * x.numel())
    threshold = torch.kthvalue(x.abs().flatten(), k).values
    assert torch.equal(magnitude_prune(x, 0.3), x.abs() > threshold)


def test_magnitude_prune_uses_magnitude_not_value():
    w = torch.tensor([-5.0, -4.0, 0.1, 0.2, 3.0])
    assert magnitude_prune(w, 0.4).tolist() == [True, True, False, False, True]


def test_magnitude_prune_does_not_modify_input_and_zero_sparsity_keeps_all():
    w = _tie_free((10, 10))
    before = w.clone()
    assert magnitude_prune(w, 0.0).all()
    magnitude_prune(w, 0.7)
    assert torch.equal(w, before)


def test_magnitude_prune_works_on_parameters_with_grad():
    layer = nn.Linear(30, 20)
    mask = magnitude_prune(layer.weight, 0.5)
    assert not mask.requires_grad and mask.sum().item() == 300


@pytest.mark.parametrize("bad", [1.0, -0.1, 90, float("nan"), 1.5])
def test_bad_sparsity_raises_value_error(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        magnitude_prune(torch.randn(10), bad)


def test_percentage_gets_a_hint():
    with pytest.raises(ValueError, match="0.9 for 90%"):
        magnitude_prune(torch.randn(10), 90)


@pytest.mark.parametrize("bad", ["0.5", None, True, [0.5]])
def test_non_number_sparsity_raises_type_error(bad):
    with pytest.raises(TypeError, match="sparsity"):
        magnitude_prune(torch.randn(10), bad)


@pytest.mark.parametrize("bad", [[1.0, 2.0], 3.0, None])
def test_non_tensor_weight_raises_type_error(bad):
    with pytest.raises(TypeError, match="torch.Tensor"):
        magnitude_prune(bad, 0.5)


def test_integer_and_empty_tensors_are_rejected():
    with pytest.raises(TypeError, match="float"):
        magnitude_prune(torch.arange(10), 0.5)
    with pytest.raises(ValueError, match="empty"):
        magnitude_prune(torch.empty(0), 0.5)


# --------------------------------------------------------------------------- threshold_prune


def test_threshold_prune_is_quality_times_std_per_layer():
    w = _tie_free((100, 50), seed=1) * 0.1
    for q in (0.0, 0.5, 1.0, 2.0):
        assert torch.equal(threshold_prune(w, q), w.abs() > q * w.std())
    # scale invariance: the same quality cuts the same fraction of a 10x larger layer
    assert torch.equal(threshold_prune(w, 1.0), threshold_prune(10 * w, 1.0))


@pytest.mark.parametrize("bad", [-1.0, "1", float("nan"), None])
def test_threshold_prune_bad_quality(bad):
    with pytest.raises(ValueError, match="quality"):
        threshold_prune(torch.randn(10), bad)


# --------------------------------------------------------------------------- whole models


def test_layer_masks_hit_each_layers_own_rate():
    torch.manual_seed(0)
    model = LeNet5()
    keep = {"conv1": 0.66, "conv2": 0.12, "fc1": 0.08, "fc2": 0.19}
    masks = layer_masks(model, sparsities_from_keep(keep))
    for name, mask in masks.items():
        assert mask.sum().item() == mask.numel() - round((1 - keep[name]) * mask.numel())
    # a single number prunes every layer to it
    masks = layer_masks(model, 0.5)
    assert set(masks) == {"conv1", "conv2", "fc1", "fc2"}
    assert all(abs(keep_fraction(m) - 0.5) < 0.01 for m in masks.values())


def test_global_masks_share_one_threshold():
    torch.manual_seed(0)
    model = LeNet300100()
    with torch.no_grad():
        model.fc3.weight.mul_(0.01)  # a layer of tiny weights loses (almost) everything globally
    masks = global_masks(model, 0.5)
    total = sum(m.numel() for m in masks.values())
    assert abs(sum(m.sum().item() for m in masks.values()) - total / 2) <= 1
    assert keep_fraction(masks["fc3"]) < 0.05
    kept_min = min(model.fc1.weight.abs()[masks["fc1"]].min(), model.fc2.weight.abs()[masks["fc2"]].min())
    pruned_max = max(model.fc1.weight.abs()[~masks["fc1"]].max(), model.fc2.weight.abs()[~masks["fc2"]].max())
    assert kept_min > pruned_max


def test_prune_model_zeros_weights_and_leaves_biases():
    torch.manual_seed(0)
    model = LeNet300100()
    biases = {n: l.bias.detach().clone() for n, l in prunable_layers(model).items()}
    masks = prune_model(model, {"fc1": 0.9})
    assert set(masks) == {"fc1"}
    assert (model.fc1.weight[~masks["fc1"]] == 0).all()
    assert (model.fc2.weight != 0).all()
    for n, layer in prunable_layers(model).items():
        assert torch.equal(layer.bias, biases[n])
    assert torch.equal(masks_from_model(model)["fc1"], masks["fc1"])


def test_model_level_bad_input():
    model = LeNet300100()
    with pytest.raises(ValueError, match="no prunable layer named"):
        layer_masks(model, {"conv9": 0.5})
    with pytest.raises(TypeError, match="nn.Module"):
        layer_masks(model.fc1.weight, 0.5)
    with pytest.raises(ValueError, match="shape"):
        apply_masks(model, {"fc1": torch.ones(3, 3, dtype=torch.bool)})
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        prune_model(model, {"fc1": 1.2})


# --------------------------------------------------------------------------- masks survive retraining


def _fake_data(n=256, seed=0, val=False):
    """Random images; ``val=True`` adds a validation split unlike the test split (other images)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    if not val:
        return MNISTData(x, y, x[:64], y[:64])
    vx, vy = torch.randn(96, 1, 28, 28, generator=g), torch.randint(0, 10, (96,), generator=g)
    return MNISTData(x, y, x[:64], y[:64], vx, vy)


def test_masks_survive_sgd_with_momentum_and_weight_decay_exactly_at_zero():
    torch.manual_seed(0)
    model = LeNet300100()
    data = _fake_data()
    # build up momentum before pruning, so the buffers carry velocity into pruned weights
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    train(model, data, epochs=1, batch_size=32, optimizer=opt, progress=False, evaluate_every_epoch=False)
    masks = prune_model(model, {"fc1": 0.92, "fc2": 0.91, "fc3": 0.74})
    before = {n: l.weight.detach().clone() for n, l in prunable_layers(model).items()}
    train(model, data, epochs=2, batch_size=32, optimizer=opt, after_step=MaskKeeper(masks),
          progress=False, evaluate_every_epoch=False)
    for name, mask in masks.items():
        w = getattr(model, name).weight
        assert (w[~mask] == 0).all(), name  # exactly zero, not merely small
        assert not torch.equal(w[mask], before[name][mask]), "the survivors must still train"


def test_without_the_hook_pruned_weights_grow_back():
    """The blog-post mistake: prune once, then plain SGD with momentum revives the zeros."""
    torch.manual_seed(0)
    model = LeNet300100()
    data = _fake_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    train(model, data, epochs=1, batch_size=32, optimizer=opt, progress=False, evaluate_every_epoch=False)
    masks = prune_model(model, {"fc1": 0.9})
    train(model, data, epochs=1, batch_size=32, optimizer=opt, progress=False, evaluate_every_epoch=False)
    assert (model.fc1.weight[~masks["fc1"]] != 0).float().mean() > 0.5


def test_masked_step_keeps_pruned_weights_at_zero_and_returns_the_loss():
    torch.manual_seed(0)
    model = LeNet300100()
    data = _fake_data()
    x, y = data.train_x[:32], data.train_y[:32]
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    for _ in range(3):  # momentum first, so the buffers push the weights that get pruned
        masked_step(model, {}, opt, x, y)
    masks = prune_model(model, {"fc1": 0.9, "fc2": 0.8})
    before = {n: l.weight.detach().clone() for n, l in prunable_layers(model).items()}
    want_loss = torch.nn.functional.cross_entropy(model(x), y).item()
    loss = masked_step(model, masks, opt, x, y)
    assert isinstance(loss, float) and loss == pytest.approx(want_loss, rel=1e-5)
    for name, mask in masks.items():
        w = getattr(model, name).weight
        assert (w[~mask] == 0).all(), name
        assert not torch.equal(w[mask], before[name][mask]), "the survivors must still train"
    with pytest.raises(ValueError, match="no prunable layer"):
        masked_step(model, {"conv9": masks["fc1"]}, opt, x, y)


def test_mask_keeper_rejects_bad_masks():
    with pytest.raises(TypeError, match="dict"):
        MaskKeeper([])
    with pytest.raises(TypeError, match="dict"):
        MaskKeeper({})


# --------------------------------------------------------------------------- iterative and gradual


def test_iterative_targets_end_at_target():
    linear = iterative_targets({"fc1": 0.9}, 3)
    assert [round(t["fc1"], 6) for t in linear] == [0.3, 0.6, 0.9]
    cubic = iterative_targets({"fc1": 0.9}, 3, schedule="cubic")
    assert cubic[-1]["fc1"] == pytest.approx(0.9)
    assert cubic[0]["fc1"] == pytest.approx(0.9 * (1 - (2 / 3) ** 3))
    with pytest.raises(ValueError, match="steps"):
        iterative_targets({"fc1": 0.9}, 0)
    with pytest.raises(ValueError, match="schedule"):
        iterative_targets({"fc1": 0.9}, 2, schedule="exp")


def test_iterative_prune_masks_only_shrink_and_reach_targets():
    torch.manual_seed(0)
    model = LeNet300100()
    data = _fake_data(128)
    history = []

    def retrain(model, masks):
        history.append({n: m.clone() for n, m in masks.items()})
        train(model, data, epochs=1, batch_size=64, lr=0.01, after_step=MaskKeeper(masks),
              progress=False, evaluate_every_epoch=False)

    targets = sparsities_from_keep({"fc1": 0.08, "fc2": 0.09, "fc3": 0.26})
    final = iterative_prune(model, final_sparsities=targets, steps=3, retrain=retrain, schedule="cubic")
    assert len(history) == 3
    for earlier, later in zip(history, history[1:]):
        for name in earlier:
            assert not (later[name] & ~earlier[name]).any(), "a pruned weight came back"
    rows = {r["layer"]: r for r in sparsity_report(model)}
    for name, keep in {"fc1": 0.08, "fc2": 0.09, "fc3": 0.26}.items():
        assert rows[name]["kept"] == rows[name]["numel"] - round((1 - keep) * rows[name]["numel"])
        assert torch.equal(final[name], getattr(model, name).weight != 0)


def test_prune_and_retrain_records_the_validation_error_of_each_round():
    torch.manual_seed(0)
    model = LeNet300100()
    data = _fake_data(128, val=True)
    logged = []
    masks, rounds = prune_and_retrain(model, data, {"fc1": 0.9, "fc2": 0.5}, steps=2, epochs=[1, 1],
                                      schedule="linear", log=logged.append, batch_size=64, lr=0.01, progress=False)
    assert [set(r) for r in rounds] == [{"kept_pct", "val_error"}] * 2  # no test_error: the test set is not looked at
    assert rounds[0]["kept_pct"] == {"fc1": pytest.approx(55.0), "fc2": pytest.approx(75.0)}
    assert rounds[1]["kept_pct"] == {"fc1": pytest.approx(10.0), "fc2": pytest.approx(50.0)}
    assert rounds[-1]["val_error"] == evaluate(model, data, split="val") != evaluate(model, data)
    assert len(logged) == 2 and all("validation error" in line for line in logged)
    assert torch.equal(masks["fc1"], model.fc1.weight != 0)
    with pytest.raises(ValueError, match="one entry of epochs per prune step"):
        prune_and_retrain(model, data, {"fc1": 0.9}, steps=2, epochs=[1])


def test_cubic_schedule_formula():
    s_i, s_f, t0, n, dt = 0.0, 0.9, 100, 10, 50
    for t in range(t0, t0 + n * dt + 1, dt):
        want = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt)) ** 3
        assert cubic_sparsity(t, s_i, s_f, t0, n, dt) == pytest.approx(want)
    assert cubic_sparsity(t0, s_i, s_f, t0, n, dt) == pytest.approx(s_i)
    assert cubic_sparsity(t0 + n * dt, s_i, s_f, t0, n, dt) == pytest.approx(s_f)
    # halfway the cubic is already at 7/8 of the way, not 1/2 (linear) or 3/4 (square)
    assert cubic_sparsity(t0 + n * dt / 2, s_i, s_f, t0, n, dt) == pytest.approx(s_f * 7 / 8)
    # clamped before t0 and after the end
    assert cubic_sparsity(0, s_i, s_f, t0, n, dt) == pytest.approx(s_i)
    assert cubic_sparsity(10_000, s_i, s_f, t0, n, dt) == pytest.approx(s_f)
    # a nonzero start
    assert cubic_sparsity(t0 + n * dt / 2, 0.5, 0.9, t0, n, dt) == pytest.approx(0.9 - 0.4 / 8)


def test_cubic_schedule_bad_input():
    with pytest.raises(ValueError, match="s_f"):
        cubic_sparsity(0, 0.0, 1.0, 0, 10, 1)
    with pytest.raises(ValueError, match="n >= 1"):
        cubic_sparsity(0, 0.0, 0.5, 0, 0, 1)
    with pytest.raises(ValueError, match="dt > 0"):
        cubic_sparsity(0, 0.0, 0.5, 0, 10, 0)


def test_gradual_pruner_follows_the_schedule():
    torch.manual_seed(0)
    model = LeNet300100()
    data = _fake_data(256)
    pruner = GradualPruner({"fc1": 0.9, "fc2": 0.8}, t0=2, n=3, dt=2)
    train(model, data, epochs=3, batch_size=32, lr=0.01, after_step=pruner, progress=False,
          evaluate_every_epoch=False)  # 24 steps
    assert [t for t, _ in pruner.history] == [2, 4, 6, 8]
    for t, s in pruner.history:
        assert s["fc1"] == pytest.approx(cubic_sparsity(t, 0.0, 0.9, 2, 3, 2))
    assert keep_fraction(model.fc1.weight != 0) == pytest.approx(0.1, abs=1e-3)
    assert keep_fraction(model.fc2.weight != 0) == pytest.approx(0.2, abs=1e-3)
    assert (model.fc3.weight != 0).all()


# --------------------------------------------------------------------------- analysis


def test_sensitivity_scan_restores_the_model_and_grows_with_sparsity():
    torch.manual_seed(0)
    model = LeNet300100()
    data = _fake_data(64)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    calls = []

    def fake_eval(m, d):
        calls.append(1)
        return float((m.fc1.weight == 0).sum() + (m.fc2.weight == 0).sum())

    result = sensitivity_scan(model, data, sparsities=(0.0, 0.5, 0.9), layers=["fc1", "fc2"], evaluate_fn=fake_eval)
    assert set(result) == {"fc1", "fc2"} and len(calls) == 6
    assert result["fc1"] == [0.0, 0.5 * 235200, 0.9 * 235200]
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k])


def test_sensitivity_scan_reads_the_validation_split_by_default():
    """A scan chooses thresholds, so it must not look at the test set unless asked to."""
    torch.manual_seed(0)
    model = LeNet300100()
    data = _fake_data(64, val=True)
    scan = sensitivity_scan(model, data, sparsities=(0.0, 0.9), layers=["fc2"])
    assert scan["fc2"][0] == evaluate(model, data, split="val") != evaluate(model, data)
    on_test = sensitivity_scan(model, data, sparsities=(0.0,), layers=["fc2"], split="test")
    assert on_test["fc2"] == [evaluate(model, data)]
    with pytest.raises(ValueError, match="split"):
        sensitivity_scan(model, data, sparsities=(0.5,), split="train")


def test_sensitivity_scan_restores_the_layer_when_an_evaluation_fails():
    torch.manual_seed(0)
    model = LeNet300100()
    before = model.fc1.weight.detach().clone()

    def broken(m, d):
        raise RuntimeError("evaluation failed")

    with pytest.raises(RuntimeError, match="evaluation failed"):
        sensitivity_scan(model, None, sparsities=(0.9,), layers=["fc1"], evaluate_fn=broken)
    assert torch.equal(model.fc1.weight, before)


def test_sparsity_report_and_ratio():
    model = LeNet300100()
    masks = prune_model(model, sparsities_from_keep({"fc1": 0.08, "fc2": 0.09, "fc3": 0.26}))
    rows = sparsity_report(model, total=True)
    assert [r["layer"] for r in rows] == ["fc1", "fc2", "fc3", "total"]
    assert rows[0]["kept"] == round(0.08 * 235200)
    assert rows[-1]["kept"] == sum(r["kept"] for r in rows[:-1])
    assert sparsity_report(masks) == rows[:-1]
    assert compression_ratio(rows) == pytest.approx(266200 / rows[-1]["kept"])
    assert "fc1" in format_report(rows) and "%" in format_report(rows)
    with pytest.raises(TypeError, match="model or a dict"):
        sparsity_report([1, 2])
    assert math.isinf(compression_ratio([{"layer": "a", "numel": 3, "kept": 0}]))
