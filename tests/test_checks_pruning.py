"""The pruning checks pass the reference and name the typical mistakes of wrong solutions."""

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib import pruning as ref
from course_lib.course.checks.core import failure_message as _fails, CheckFailed, CheckInputError
from course_lib.course.checks.pruning import (
    check_cubic_sparsity,
    check_iterative_prune,
    check_magnitude_prune,
    check_masked_step,
    check_prune_model,
    check_threshold_prune,
)
from course_lib.models import prunable_layers




def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise ...: replace this line with your code")


# --------------------------------------------------------------------------- magnitude_prune


def test_magnitude_prune_reference_passes(capsys):
    check_magnitude_prune(ref.magnitude_prune)
    assert "PASS" in capsys.readouterr().out


def _mp(rule):
    def magnitude_prune(weight, sparsity):
        k = round(sparsity * weight.numel())
        if k == 0:
            return torch.ones_like(weight, dtype=torch.bool)
        return rule(weight, k)
    return magnitude_prune


def test_magnitude_prune_greater_equal():
    fn = _mp(lambda w, k: w.abs() >= torch.kthvalue(w.abs().flatten(), k).values)
    _fails(check_magnitude_prune, fn, "`>`", "`>=`")


def test_magnitude_prune_forgotten_abs():
    fn = _mp(lambda w, k: w > torch.kthvalue(w.flatten(), k).values)
    _fails(check_magnitude_prune, fn, "forgot `abs`")


def test_magnitude_prune_inverted_mask():
    fn = _mp(lambda w, k: w.abs() <= torch.kthvalue(w.abs().flatten(), k).values)
    _fails(check_magnitude_prune, fn, "inverted")


def test_magnitude_prune_int_instead_of_round():
    def fn(weight, sparsity):
        k = int(sparsity * weight.numel())
        if k == 0:
            return torch.ones_like(weight, dtype=torch.bool)
        return weight.abs() > torch.kthvalue(weight.abs().flatten(), k).values
    _fails(check_magnitude_prune, fn, "round(")


def test_magnitude_prune_off_by_one_kthvalue():
    fn = _mp(lambda w, k: w.abs() > torch.kthvalue(w.abs().flatten(), min(k + 1, w.numel())).values)
    _fails(check_magnitude_prune, fn, "one weight too many", "counts")


def test_magnitude_prune_sparsity_as_keep_rate():
    def fn(weight, sparsity):
        k = round((1 - sparsity) * weight.numel())
        return weight.abs() > torch.kthvalue(weight.abs().flatten(), k).values
    _fails(check_magnitude_prune, fn, "fraction to *keep*")


def test_magnitude_prune_float_mask_and_pruned_weights():
    _fails(check_magnitude_prune, lambda w, s: ref.magnitude_prune(w, s).float(), ".bool()")
    _fails(check_magnitude_prune, lambda w, s: w * ref.magnitude_prune(w, s), "pruned weights")


def test_magnitude_prune_crash_at_zero_sparsity():
    def fn(weight, sparsity):
        k = round(sparsity * weight.numel())
        return weight.abs() > torch.kthvalue(weight.abs().flatten(), max(k, 1)).values
    _fails(check_magnitude_prune, fn, "sparsity 0")


def test_magnitude_prune_in_place():
    def fn(weight, sparsity):
        mask = ref.magnitude_prune(weight, sparsity)
        weight.mul_(mask)
        return mask
    _fails(check_magnitude_prune, fn, "changed its input")


def test_magnitude_prune_stub_and_wrong_argument():
    _fails(check_magnitude_prune, _stub, "not solved yet")
    with pytest.raises(CheckInputError):
        check_magnitude_prune("magnitude_prune")


# --------------------------------------------------------------------------- threshold_prune


def test_threshold_prune_reference_passes(capsys):
    check_threshold_prune(ref.threshold_prune)
    assert "PASS" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (lambda w, q: w.abs() >= q * w.std(), ["`>`"]),
    (lambda w, q: w > q * w.std(), ["forgot `abs`"]),
    (lambda w, q: w.abs() > q * w.abs().std(), ["std of |w|"]),
    (lambda w, q: w.abs() > q, ["not quality alone"]),
    (lambda w, q: w.abs() > q * w.var(), ["variance"]),
])
def test_threshold_prune_mistakes(wrong, words):
    _fails(check_threshold_prune, wrong, *words)


# --------------------------------------------------------------------------- per-layer pruning


def _prune_model_right(model, sparsities):
    return ref.prune_model(model, sparsities)


def test_prune_model_reference_passes(capsys):
    check_prune_model(_prune_model_right)
    check_prune_model(ref.prune_model)  # the library's version is the exercise's twin
    assert "PASS" in capsys.readouterr().out


def test_prune_model_one_global_threshold():
    def fn(model, sparsities):
        layers = prunable_layers(model)
        total = sum(layers[n].weight.numel() for n in sparsities)
        overall = sum(s * layers[n].weight.numel() for n, s in sparsities.items()) / total
        masks = ref.global_masks(model, overall, layers=list(sparsities))
        ref.apply_masks(model, masks)
        return masks
    _fails(check_prune_model, fn, "one global threshold", "own")


def test_prune_model_global_threshold_at_each_layers_rate():
    def fn(model, sparsities):
        masks = {n: ref.global_masks(model, s)[n] for n, s in sparsities.items()}
        ref.apply_masks(model, masks)
        return masks
    _fails(check_prune_model, fn, "one global threshold")


def test_prune_model_masks_not_applied_and_biases():
    _fails(check_prune_model, lambda model, s: ref.layer_masks(model, s), "not zero in the model")

    def with_biases(model, sparsities):
        masks = ref.prune_model(model, sparsities)
        masks["fc1.bias"] = torch.ones(300, dtype=torch.bool)
        return masks
    _fails(check_prune_model, with_biases, "biases")
    _fails(check_prune_model, lambda model, s: list(ref.prune_model(model, s).values()), "dict")


# --------------------------------------------------------------------------- masked SGD step


def _step(order):
    def masked_step(model, masks, optimizer, x, y):
        layers = prunable_layers(model)
        if "zero_grad" in order:
            optimizer.zero_grad()
        if "mask_before" in order:
            ref.apply_masks(model, masks)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if "mask_grad" in order:
            for name, mask in masks.items():
                layers[name].weight.grad.mul_(mask)
        if "step" in order:
            optimizer.step()
        if "mask_after" in order:
            ref.apply_masks(model, masks)
        return loss.item()
    return masked_step


def test_masked_step_reference_passes(capsys):
    check_masked_step(_step({"zero_grad", "step", "mask_after"}))
    check_masked_step(ref.masked_step)  # the library's version is the exercise's twin
    assert "PASS" in capsys.readouterr().out


def test_masked_step_masks_before_the_step():
    _fails(check_masked_step, _step({"zero_grad", "mask_before", "step"}), "*before* optimizer.step()", "*after*")


def test_masked_step_gradients_only():
    _fails(check_masked_step, _step({"zero_grad", "mask_grad", "step"}), "masking the gradients is not enough", "momentum")


def test_masked_step_never_reapplied():
    _fails(check_masked_step, _step({"zero_grad", "step"}), "or never", "*after* optimizer.step()")


def test_masked_step_no_step_and_no_zero_grad():
    _fails(check_masked_step, _step({"zero_grad", "mask_after"}), "optimizer.step()")
    _fails(check_masked_step, _step({"step", "mask_after"}), "zero_grad")


def test_masked_step_returns_loss():
    right = _step({"zero_grad", "step", "mask_after"})
    _fails(check_masked_step, lambda *a: (right(*a), None)[1], "loss")


# --------------------------------------------------------------------------- iterative pruning


def _iterative(rounds_from=1, final_each_round=False, from_original=False, zero_first=True, calls=None):
    def iterative_prune(model, final_sparsities, steps, retrain):
        original = {n: l.weight.detach().clone() for n, l in prunable_layers(model).items()}
        masks = {}
        for i in range(rounds_from, rounds_from + (steps if calls is None else calls)):
            frac = 1.0 if final_each_round else i / steps
            if from_original:
                masks = {n: ref.magnitude_prune(original[n], s * frac) for n, s in final_sparsities.items()}
            else:
                masks = ref.layer_masks(model, {n: s * frac for n, s in final_sparsities.items()})
            if zero_first:
                ref.apply_masks(model, masks)
            retrain(model, masks)
            ref.apply_masks(model, masks)
        return masks
    return iterative_prune


def test_iterative_prune_reference_passes(capsys):
    check_iterative_prune(_iterative())
    check_iterative_prune(lambda m, t, k, r: ref.iterative_prune(m, t, k, r))
    assert capsys.readouterr().out.count("PASS") == 2


@pytest.mark.parametrize("kwargs, words", [
    (dict(final_each_round=True), ["final sparsity", "final * i / k"]),
    (dict(rounds_from=0), ["numbered from 0"]),
    (dict(from_original=True), ["*current*", "not a copy"]),
    (dict(zero_first=False), ["before calling retrain"]),
    (dict(calls=1), ["called 1 times"]),
])
def test_iterative_prune_mistakes(kwargs, words):
    _fails(check_iterative_prune, _iterative(**kwargs), *words)


def test_iterative_prune_must_return_masks():
    right = _iterative()
    _fails(check_iterative_prune, lambda *a: (right(*a), None)[1], "return the final masks")


# --------------------------------------------------------------------------- cubic schedule


def test_cubic_reference_passes(capsys):
    check_cubic_sparsity(ref.cubic_sparsity)
    assert "PASS" in capsys.readouterr().out


def _cubic(formula, clamp=True):
    def cubic_sparsity(t, s_i, s_f, t0, n, dt):
        p = (t - t0) / (n * dt)
        if clamp:
            p = min(max(p, 0.0), 1.0)
        return formula(t, s_i, s_f, t0, n, dt, p)
    return cubic_sparsity


@pytest.mark.parametrize("formula, words", [
    (lambda t, si, sf, t0, n, dt, p: sf + (si - sf) * (1 - p) ** 2, ["exponent is 3"]),
    (lambda t, si, sf, t0, n, dt, p: sf + (si - sf) * (1 - p), ["cubed"]),
    (lambda t, si, sf, t0, n, dt, p: sf + (si - sf) * (1 - p ** 3), ["not progress"]),
    (lambda t, si, sf, t0, n, dt, p: si + (sf - si) * (1 - p) ** 3, ["swapped"]),
    (lambda t, si, sf, t0, n, dt, p: sf + (si - sf) * (1 - t / (n * dt)) ** 3, ["subtract t0"]),
    (lambda t, si, sf, t0, n, dt, p: sf + (si - sf) * (1 - min(max((t - t0) / n, 0), 1)) ** 3, ["n * dt"]),
])
def test_cubic_mistakes(formula, words):
    _fails(check_cubic_sparsity, _cubic(formula), *words)


def test_cubic_without_clamp():
    _fails(check_cubic_sparsity, _cubic(lambda t, si, sf, t0, n, dt, p: sf + (si - sf) * (1 - p) ** 3, clamp=False),
           "clamp")
    assert math.isclose(ref.cubic_sparsity(50, 0.0, 0.9, 0, 2, 50), 0.9 * 7 / 8)
