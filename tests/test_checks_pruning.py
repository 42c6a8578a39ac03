"""The pruning checks (notebook 02: checks.magnitude_pruning; 03: checks.retraining) pass right
solutions (the reference and other ways to write them) and name the typical mistakes of wrong
ones: each mutant below must FAIL with a message that names it, in lines of at most 100
characters."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import pruning as ref
from course_lib.course.checks.core import CheckInputError
from check_helpers import fails as _fails
from check_helpers import passes as _passes
from course_lib.course.checks.magnitude_pruning import (  # notebook 02
    check_magnitude_prune,
    check_prune_model,
    check_threshold_prune,
)
from course_lib.course.checks.retraining import (  # notebook 03
    check_cubic_sparsity,
    check_iterative_prune,
    check_masked_step,
)
from course_lib.models import prunable_layers


def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise ...: replace this line with your code")


def _kth(a, k):
    return torch.kthvalue(a.flatten(), k).values


def _ones(w):
    return torch.ones_like(w, dtype=torch.bool)


# --------------------------------------------------------------------------- magnitude_prune


def _mp(rule, guard=True):
    """magnitude_prune with ``rule(|w|-or-w, k, s)``; ``guard`` handles k == 0 first, as the notebook says."""
    def magnitude_prune(weight, sparsity):
        k = round(sparsity * weight.numel())
        if guard and k == 0:
            return _ones(weight)
        return rule(weight.detach(), k, sparsity)
    return magnitude_prune


def _with_k(k_of):
    def magnitude_prune(weight, sparsity):
        k = k_of(sparsity, weight)
        a = weight.detach().abs()
        return a > _kth(a, k) if k else _ones(weight)
    return magnitude_prune


def _argsort(weight, sparsity):
    a = weight.detach().abs().flatten()
    k = round(sparsity * a.numel())
    mask = torch.ones(a.numel(), dtype=torch.bool)
    mask[a.argsort()[:k]] = False
    return mask.reshape(weight.shape)


def _zeroes_input(weight, sparsity):
    mask = ref.magnitude_prune(weight, sparsity)
    with torch.no_grad():
        weight.mul_(mask)
    return mask


def _per_row(weight, sparsity):
    if weight.dim() < 2:
        return ref.magnitude_prune(weight, sparsity)
    rows = weight.detach().reshape(weight.shape[0], -1)
    return torch.stack([ref.magnitude_prune(r, sparsity) for r in rows]).reshape(weight.shape)


MAGNITUDE_ALTERNATIVES = {
    "reference": ref.magnitude_prune,
    "sort": _mp(lambda w, k, s: w.abs() > w.abs().flatten().sort().values[k - 1]),
    "topk of the smallest": _mp(lambda w, k, s: w.abs() > torch.topk(w.abs().flatten(), k, largest=False).values.max()),
    "threshold as a Python float": _mp(lambda w, k, s: w.abs() > _kth(w.abs(), k).item()),
    "numpy": lambda w, s: torch.from_numpy(
        np.abs(w.detach().numpy()) > np.sort(np.abs(w.detach().numpy()).ravel())[max(round(s * w.numel()), 1) - 1]
        if round(s * w.numel()) else np.ones(tuple(w.shape), dtype=bool)),
    "prune what is <= threshold": _mp(lambda w, k, s: ~(w.abs() <= _kth(w.abs(), k))),
}

MAGNITUDE_MUTANTS = {
    ">=": (_mp(lambda w, k, s: w.abs() >= _kth(w.abs(), k)), ["`>`", "`>=`"]),
    "no abs": (_mp(lambda w, k, s: w > _kth(w, k)), ["forgot `abs`"]),
    "abs in the threshold only": (_mp(lambda w, k, s: w > _kth(w.abs(), k)), ["forgot `abs`"]),
    "weight > 0": (lambda w, s: w.detach() > 0, ["`weight > 0`", "forgot `abs`"]),
    "inverted": (_mp(lambda w, k, s: w.abs() <= _kth(w.abs(), k)), ["inverted"]),
    "int()": (_with_k(lambda s, w: int(s * w.numel())), ["round(", "int()"]),
    "ceil": (_with_k(lambda s, w: math.ceil(s * w.numel())), ["round(", "ceil"]),
    "floor(x + 0.5)": (_with_k(lambda s, w: math.floor(s * w.numel() + 0.5)), ["round(", "halves"]),
    "k + 1": (_mp(lambda w, k, s: w.abs() > _kth(w.abs(), min(k + 1, w.numel()))), ["one weight too many", "counts"]),
    "sorted[k]": (_mp(lambda w, k, s: w.abs() > w.abs().flatten().sort().values[min(k, w.numel() - 1)]),
                  ["one weight too many"]),
    "k - 1": (_mp(lambda w, k, s: w.abs() > _kth(w.abs(), k - 1) if k > 1 else _ones(w)), ["one weight too few"]),
    "sparsity as keep rate": (lambda w, s: ref.magnitude_prune(w, 1 - s) if s > 0 else _ones(w),
                              ["fraction to *keep*"]),
    "float mask": (lambda w, s: ref.magnitude_prune(w, s).float(), [".bool()"]),
    "uint8 mask": (lambda w, s: ref.magnitude_prune(w, s).to(torch.uint8), [".bool()"]),
    "pruned weights": (lambda w, s: w * ref.magnitude_prune(w, s), ["pruned weights"]),
    "max(k, 1)": (lambda w, s: (lambda a: a > _kth(a, max(round(s * a.numel()), 1)))(w.detach().abs()),
                  ["sparsity 0"]),
    "crash at k == 0": (_mp(lambda w, k, s: w.abs() > _kth(w.abs(), k), guard=False),
                        ["raised RuntimeError", "k >= 1", "k == 0"]),
    "zeroes the input": (_zeroes_input, ["changed its argument `weight` in place"]),
    "quantile": (lambda w, s: w.detach().abs() > torch.quantile(w.detach().abs().flatten(), s), ["quantile"]),
    "quantile, k == 0 handled": (_mp(lambda w, k, s: w.abs() > torch.quantile(w.abs().flatten(), s)), ["quantile"]),
    "np.percentile": (lambda w, s: torch.from_numpy(
        np.abs(w.detach().numpy()) > np.percentile(np.abs(w.detach().numpy()), 100 * s)), ["quantile"]),
    "argsort ties": (_argsort, ["tied at the threshold", "argsort"]),
    "len(weight)": (_with_k(lambda s, w: round(s * len(w))), ["len(weight)", "numel"]),
    "per row": (_per_row, ["row"]),
    "flattened": (_mp(lambda w, k, s: w.abs().flatten() > _kth(w.abs(), k)), ["shape", "flattened"]),
    "tuple": (lambda w, s: (ref.magnitude_prune(w, s), 0.5), ["tuple", "mask alone"]),
    "numpy": (lambda w, s: ref.magnitude_prune(w, s).numpy(), ["numpy array", "torch tensor"]),
    "stub": (_stub, ["not solved yet"]),
}


@pytest.mark.parametrize("name", MAGNITUDE_ALTERNATIVES)
def test_magnitude_prune_right_solutions_pass(name, capsys):
    _passes(check_magnitude_prune, MAGNITUDE_ALTERNATIVES[name], capsys)


@pytest.mark.parametrize("name", MAGNITUDE_MUTANTS)
def test_magnitude_prune_mistakes_are_named(name):
    fn, words = MAGNITUDE_MUTANTS[name]
    _fails(check_magnitude_prune, fn, *words)


def test_magnitude_prune_shows_the_smallest_failing_input():
    message = _fails(check_magnitude_prune, MAGNITUDE_MUTANTS["quantile"][0])
    assert "torch.tensor([0.3, -1.2, 0.05, 2, -0.7]), 0.5" in message  # five weights, not a big tensor


def test_magnitude_prune_wrong_argument():
    with pytest.raises(CheckInputError):
        check_magnitude_prune("magnitude_prune")


# --------------------------------------------------------------------------- threshold_prune


THRESHOLD_ALTERNATIVES = {
    "reference": ref.threshold_prune,
    "notebook": lambda w, q: w.detach().abs() > q * w.detach().std(),
    "divide by the std": lambda w, q: w.detach().abs() / w.detach().std() > q,
    "float64": lambda w, q: w.detach().double().abs() > q * w.detach().double().std(),
    "numpy, ddof=1": lambda w, q: torch.from_numpy(np.abs(w.detach().numpy()) > q * np.std(w.detach().numpy(), ddof=1)),
    "numpy, population std": lambda w, q: torch.from_numpy(np.abs(w.detach().numpy()) > q * np.std(w.detach().numpy())),
    "std by hand": lambda w, q: w.detach().abs() > q * ((w.detach() - w.detach().mean()) ** 2).sum().div(w.numel() - 1).sqrt(),
    "std as a Python float": lambda w, q: w.abs() > q * w.std().item(),
}

THRESHOLD_MUTANTS = {
    ">=": (lambda w, q: w.abs() >= q * w.std(), ["`>`"]),
    "population std and >=": (lambda w, q: w.abs() >= q * w.std(unbiased=False), ["`>`"]),
    "no abs": (lambda w, q: w > q * w.std(), ["forgot `abs`"]),
    "std of |w|": (lambda w, q: w.abs() > q * w.abs().std(), ["std of |w|"]),
    "quality alone": (lambda w, q: w.abs() > q, ["not quality alone"]),
    "mean added": (lambda w, q: w.abs() > w.mean() + q * w.std(), ["mean"]),
    "variance": (lambda w, q: w.abs() > q * w.var(), ["variance"]),
    "rms": (lambda w, q: w.abs() > q * w.pow(2).mean().sqrt(), ["root mean square"]),
    "mean |w|": (lambda w, q: w.abs() > q * w.abs().mean(), ["mean(|w|)"]),
    "std of the non-zero weights": (lambda w, q: w.abs() > q * w[w != 0].std(), ["non-zero weights only"]),
    "std per column": (lambda w, q: w.abs() > q * w.std(dim=0), ["per column"]),
    "std per row": (lambda w, q: w.abs() > q * w.std(dim=-1, keepdim=True), ["per row"]),
    "inverted": (lambda w, q: w.abs() <= q * w.std(), ["inverted"]),
    "quality / std": (lambda w, q: w.abs() > q / w.std(), ["not quality / std(w)"]),
    "float mask": (lambda w, q: (w.abs() > q * w.std()).float(), [".bool()"]),
    "pruned weights": (lambda w, q: w * (w.abs() > q * w.std()), ["pruned weights"]),
    "abs in place": (lambda w, q: w.detach().abs_() > q * w.std(), ["changed its argument `w` in place"]),
    "stub": (_stub, ["not solved yet"]),
}


@pytest.mark.parametrize("name", THRESHOLD_ALTERNATIVES)
def test_threshold_prune_right_solutions_pass(name, capsys):
    _passes(check_threshold_prune, THRESHOLD_ALTERNATIVES[name], capsys)


@pytest.mark.filterwarnings("ignore:std")
@pytest.mark.parametrize("name", THRESHOLD_MUTANTS)
def test_threshold_prune_mistakes_are_named(name):
    fn, words = THRESHOLD_MUTANTS[name]
    _fails(check_threshold_prune, fn, *words)


# --------------------------------------------------------------------------- per-layer pruning


def _prune_each(apply):
    """prune_model that zeros each layer's weight with ``apply(layer, mask)``."""
    def prune_model(model, sparsities):
        layers = prunable_layers(model)
        masks = {}
        for name, sparsity in sparsities.items():
            masks[name] = ref.magnitude_prune(layers[name].weight, sparsity)
            apply(layers[name], masks[name])
        return masks
    return prune_model


def _mul(layer, mask):
    with torch.no_grad():
        layer.weight.mul_(mask)


def _setitem(layer, mask):
    with torch.no_grad():
        layer.weight[~mask] = 0


def _data(layer, mask):
    layer.weight.data = layer.weight.data * mask


def _new_parameter(layer, mask):
    layer.weight = nn.Parameter(layer.weight.detach() * mask)


def _mul_inverse(layer, mask):
    with torch.no_grad():
        layer.weight.mul_(~mask)


def _bias_too(layer, mask):
    _mul(layer, mask)
    with torch.no_grad():
        layer.bias.zero_()


def _no_grad_missing(layer, mask):
    layer.weight.mul_(mask)


def _global(model, sparsities):
    layers = prunable_layers(model)
    total = sum(layers[n].weight.numel() for n in sparsities)
    overall = sum(s * layers[n].weight.numel() for n, s in sparsities.items()) / total
    masks = ref.global_masks(model, overall, layers=list(sparsities))
    ref.apply_masks(model, masks)
    return masks


def _global_at_each_rate(model, sparsities):
    masks = {n: ref.global_masks(model, s)[n] for n, s in sparsities.items()}
    ref.apply_masks(model, masks)
    return masks


def _masks_from_weights(test):
    def prune_model(model, sparsities):
        ref.prune_model(model, sparsities)
        return {n: test(prunable_layers(model)[n].weight.detach()) for n in sparsities}
    return prune_model


def _state_dict(model, sparsities):
    masks = ref.layer_masks(model, sparsities)
    state = model.state_dict()
    for n, m in masks.items():
        state[f"{n}.weight"] = state[f"{n}.weight"] * m
    model.load_state_dict(state)
    return masks


def _empties_dict(model, sparsities):
    masks = ref.prune_model(model, sparsities)
    sparsities.clear()
    return masks


def _ge_each(model, sparsities):
    layers = prunable_layers(model)
    masks = {}
    with torch.no_grad():
        for n, s in sparsities.items():
            a = layers[n].weight.abs()
            masks[n] = a >= _kth(a, round(s * a.numel()))
            layers[n].weight.mul_(masks[n])
    return masks


PRUNE_MODEL_ALTERNATIVES = {
    "reference": ref.prune_model,
    "notebook (mul_)": _prune_each(_mul),
    "index assignment": _prune_each(_setitem),
    ".data assignment": _prune_each(_data),
    "masks read back as weight != 0": _masks_from_weights(lambda w: w != 0),
    "load_state_dict": _state_dict,
}

PRUNE_MODEL_MUTANTS = {
    "one global threshold": (_global, ["one global threshold", "own"]),
    "global threshold at each layer's rate": (_global_at_each_rate, ["one global threshold"]),
    "masks not applied": (lambda model, s: ref.layer_masks(model, s), ["not zero in the model"]),
    "biases in the masks": (lambda model, s: {**ref.prune_model(model, s), "first.bias": torch.ones(3, dtype=torch.bool)},
                            ["biases"]),
    "a list": (lambda model, s: list(ref.prune_model(model, s).values()), ["dict"]),
    "the model returned": (lambda model, s: (ref.prune_model(model, s), model)[1], ["returned the model"]),
    "keys with .weight": (lambda model, s: {f"{n}.weight": m for n, m in ref.prune_model(model, s).items()},
                          ["layer name"]),
    "every layer pruned": (lambda model, s: ref.prune_model(model, {n: s.get(n, 0.0) for n in prunable_layers(model)}),
                           ["only the layers named in `sparsities`"]),
    "new nn.Parameter": (_prune_each(_new_parameter), ["new tensor or nn.Parameter", "optimizer"]),
    "masks read back as weight > 0": (_masks_from_weights(lambda w: w > 0), ["`weight > 0`", "abs"]),
    "multiplied by ~mask": (_prune_each(_mul_inverse), ["~mask"]),
    "biases zeroed": (_prune_each(_bias_too), ["bias", "not pruned"]),
    "a copy pruned": (lambda model, s: ref.prune_model(copy.deepcopy(model), s), ["not zero in the model", "not a copy"]),
    "sparsities emptied": (_empties_dict, ["changed its argument `sparsities` in place"]),
    ">= in each layer": (_ge_each, ["`>=`"]),
    "float masks": (lambda model, s: {n: m.float() for n, m in ref.prune_model(model, s).items()}, [".bool()"]),
    "no torch.no_grad()": (_prune_each(_no_grad_missing), ["raised RuntimeError", "leaf Variable"]),
    "stub": (_stub, ["not solved yet"]),
}


@pytest.mark.parametrize("name", PRUNE_MODEL_ALTERNATIVES)
def test_prune_model_right_solutions_pass(name, capsys):
    _passes(check_prune_model, PRUNE_MODEL_ALTERNATIVES[name], capsys)


@pytest.mark.parametrize("name", PRUNE_MODEL_MUTANTS)
def test_prune_model_mistakes_are_named(name):
    fn, words = PRUNE_MODEL_MUTANTS[name]
    _fails(check_prune_model, fn, *words)


# --------------------------------------------------------------------------- masked SGD step


def _step(order, returns="item"):
    def masked_step(model, masks, optimizer, x, y):
        layers = prunable_layers(model)
        if "zero_grad" in order:
            optimizer.zero_grad()
        if "model.zero_grad" in order:
            model.zero_grad()
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
        if "setitem_after" in order:
            with torch.no_grad():
                for name, mask in masks.items():
                    layers[name].weight[~mask] = 0
        if "positive_after" in order:
            with torch.no_grad():
                for name in masks:
                    layers[name].weight.mul_(layers[name].weight > 0)
        if "new_parameter" in order:
            for name, mask in masks.items():
                layers[name].weight = nn.Parameter(layers[name].weight.detach() * mask)
        return {"item": loss.item, "tensor": lambda: loss, "detached": loss.detach, "none": lambda: None}[returns]()
    return masked_step


def _new_optimizer(model, masks, optimizer, x, y):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    ref.apply_masks(model, masks)
    return loss.item()


def _loss_after_the_step(model, masks, optimizer, x, y):
    ref.masked_step(model, masks, optimizer, x, y)
    with torch.no_grad():
        return F.cross_entropy(model(x), y).item()


def _loss_step(loss_fn):
    def masked_step(model, masks, optimizer, x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        ref.apply_masks(model, masks)
        return loss.item()
    return masked_step


def _scales_x(model, masks, optimizer, x, y):
    x /= 1.5
    return ref.masked_step(model, masks, optimizer, x, y)


def _float_masks_in_dict(model, masks, optimizer, x, y):
    loss = ref.masked_step(model, masks, optimizer, x, y)
    for name in list(masks):
        masks[name] = masks[name].float()
    return loss


RIGHT_STEP = {"zero_grad", "step", "mask_after"}

MASKED_STEP_ALTERNATIVES = {
    "reference": ref.masked_step,
    "notebook": _step(RIGHT_STEP),
    "index assignment after the step": _step({"zero_grad", "step", "setitem_after"}),
    "model.zero_grad()": _step({"model.zero_grad", "step", "mask_after"}),
    "gradients masked too": _step({"zero_grad", "mask_grad", "step", "mask_after"}),
}

MASKED_STEP_MUTANTS = {
    "masks before the step": (_step({"zero_grad", "mask_before", "step"}), ["*before* optimizer.step()", "*after*"]),
    "gradients only": (_step({"zero_grad", "mask_grad", "step"}), ["masking the gradients is not enough", "momentum"]),
    "masks never reapplied": (_step({"zero_grad", "step"}), ["or never", "*after* optimizer.step()"]),
    "no step": (_step({"zero_grad", "mask_after"}), ["optimizer.step()"]),
    "no zero_grad": (_step({"step", "mask_after"}), ["zero_grad"]),
    "None returned": (_step(RIGHT_STEP, "none"), ["loss"]),
    "loss tensor with its graph": (_step(RIGHT_STEP, "tensor"), ["autograd graph", "loss.item()"]),
    "detached 0-d tensor": (_step(RIGHT_STEP, "detached"), ["tensor", "loss.item()"]),
    "mask weight > 0": (_step({"zero_grad", "step", "positive_after"}), ["`weight > 0`", "abs"]),
    "new nn.Parameter": (_step({"zero_grad", "step", "new_parameter"}), ["new tensor or nn.Parameter", "optimizer"]),
    "new optimizer": (_new_optimizer, ["optimizer you were given", "don't create a new one"]),
    "loss after the step": (_loss_after_the_step, ["loss after the step"]),
    "summed loss": (_loss_step(lambda out, y: F.cross_entropy(out, y, reduction="sum")), ["reduction='sum'"]),
    "nll_loss on logits": (_loss_step(F.nll_loss), ["nll_loss", "logits"]),
    "x scaled in place": (_scales_x, ["changed its argument `x` in place"]),
    "masks dict changed": (_float_masks_in_dict, ["changed its argument `masks` in place"]),
    "stub": (_stub, ["not solved yet"]),
}


@pytest.mark.parametrize("name", MASKED_STEP_ALTERNATIVES)
def test_masked_step_right_solutions_pass(name, capsys):
    _passes(check_masked_step, MASKED_STEP_ALTERNATIVES[name], capsys)


@pytest.mark.parametrize("name", MASKED_STEP_MUTANTS)
def test_masked_step_mistakes_are_named(name):
    fn, words = MASKED_STEP_MUTANTS[name]
    _fails(check_masked_step, fn, *words)


# --------------------------------------------------------------------------- iterative pruning


def _iterative(fraction=lambda s, i, k: s * i / k, rounds=lambda k: range(1, k + 1), from_original=False,
               zero_first=True, returns="last", copy_model=False, reload=False, swap=False):
    def iterative_prune(model, final_sparsities, steps, retrain):
        if copy_model:
            model = copy.deepcopy(model)
        original = {n: l.weight.detach().clone() for n, l in prunable_layers(model).items()}
        state = copy.deepcopy(model.state_dict())
        masks, history = {}, []
        for i in rounds(steps):
            if reload:
                model.load_state_dict(state)
            targets = {n: fraction(s, i, steps) for n, s in final_sparsities.items()}
            if from_original:
                masks = {n: ref.magnitude_prune(original[n], s) for n, s in targets.items()}
            else:
                masks = ref.layer_masks(model, targets)
            if zero_first:
                ref.apply_masks(model, masks)
            retrain(*((masks, model) if swap else (model, masks)))
            history.append(masks)
        return {"last": lambda: masks, "first": lambda: history[0], "none": lambda: None, "model": lambda: model,
                "float": lambda: {n: m.float() for n, m in masks.items()}}[returns]()
    return iterative_prune


def _notebook_iterative(model, final_sparsities, steps, retrain):
    masks = {}
    for i in range(1, steps + 1):
        masks = ref.prune_model(model, {name: s * i / steps for name, s in final_sparsities.items()})
        retrain(model, masks)
    return masks


def _positive_masks(model, final_sparsities, steps, retrain):
    masks = {}
    for i in range(1, steps + 1):
        ref.prune_model(model, {name: s * i / steps for name, s in final_sparsities.items()})
        masks = {n: prunable_layers(model)[n].weight.detach() > 0 for n in final_sparsities}
        retrain(model, masks)
    return masks


def _empties_targets(model, final_sparsities, steps, retrain):
    masks = _notebook_iterative(model, final_sparsities, steps, retrain)
    final_sparsities.clear()
    return masks


ITERATIVE_ALTERNATIVES = {
    "reference": lambda m, t, k, r: ref.iterative_prune(m, t, k, r),
    "notebook": _notebook_iterative,
    "layer_masks + apply_masks": _iterative(),
    "masks reapplied after retrain": lambda m, t, k, r: ref.iterative_prune(m, t, k, lambda mm, ms: (r(mm, ms),
                                                                                                   ref.apply_masks(mm, ms))),
}

ITERATIVE_MUTANTS = {
    "final sparsity every round": (_iterative(fraction=lambda s, i, k: s), ["final sparsity", "final * i / k"]),
    "rounds from 0": (_iterative(rounds=lambda k: range(k)), ["numbered from 0"]),
    "i - 1": (_iterative(fraction=lambda s, i, k: s * (i - 1) / k), ["numbered from 0"]),
    "(i - 1) / (steps - 1)": (_iterative(fraction=lambda s, i, k: s * (i - 1) / (k - 1)), ["Round 1 pruned nothing"]),
    "i // steps": (_iterative(fraction=lambda s, i, k: s * (i // k)), ["`i // steps`", "integer division"]),
    "s * i // steps": (_iterative(fraction=lambda s, i, k: s * i // k), ["floor division"]),
    "final / steps every round": (_iterative(fraction=lambda s, i, k: s / k), ["final / steps", "climb"]),
    "cubic schedule": (_iterative(fraction=lambda s, i, k: s * (1 - (1 - i / k) ** 3)), ["cubic schedule"]),
    "i / (steps + 1)": (_iterative(fraction=lambda s, i, k: s * i / (k + 1)), ["(steps + 1)"]),
    "range(steps + 1)": (_iterative(rounds=lambda k: range(k + 1)), ["called 4 times", "round 0"]),
    "range(1, steps)": (_iterative(rounds=lambda k: range(1, k)), ["called 2 times", "range(1, steps + 1)"]),
    "from the original weights": (_iterative(from_original=True), ["*current*", "not a copy"]),
    "reloaded each round": (_iterative(reload=True), ["*current*", "reload"]),
    "not zeroed before retrain": (_iterative(zero_first=False), ["before calling retrain"]),
    "one call": (_iterative(rounds=lambda k: range(1, 2)), ["called 1 times"]),
    "None returned": (_iterative(returns="none"), ["return the final masks"]),
    "the model returned": (_iterative(returns="model"), ["return the final masks"]),
    "the first round's masks": (_iterative(returns="first"), ["round 1", "last round"]),
    "float masks": (_iterative(returns="float"), [".bool()"]),
    "a copy pruned": (_iterative(copy_model=True), ["different model", "don't copy"]),
    "retrain(masks, model)": (_iterative(swap=True), ["retrain(model, masks)"]),
    "masks as weight > 0": (_positive_masks, ["`weight > 0`", "forgot abs"]),
    "targets emptied": (_empties_targets, ["changed its argument `final_sparsities` in place"]),
    "stub": (_stub, ["not solved yet"]),
}


@pytest.mark.parametrize("name", ITERATIVE_ALTERNATIVES)
def test_iterative_prune_right_solutions_pass(name, capsys):
    _passes(check_iterative_prune, ITERATIVE_ALTERNATIVES[name], capsys)


@pytest.mark.parametrize("name", ITERATIVE_MUTANTS)
def test_iterative_prune_mistakes_are_named(name):
    fn, words = ITERATIVE_MUTANTS[name]
    _fails(check_iterative_prune, fn, *words)


# --------------------------------------------------------------------------- cubic schedule


class _AgreesWithAnything(float):
    def __eq__(self, other):
        return True

    def __sub__(self, other):
        return _AgreesWithAnything(0.0)

    __rsub__ = __sub__
    __hash__ = float.__hash__


def _cubic(formula, low=True, high=True, progress=None):
    def cubic_sparsity(t, s_i, s_f, t0, n, dt):
        p = (t - t0) / (n * dt) if progress is None else progress(t, t0, n, dt)
        if low:
            p = max(p, 0.0)
        if high:
            p = min(p, 1.0)
        return formula(s_i, s_f, p)
    return cubic_sparsity


def _zg(s_i, s_f, p):
    return s_f + (s_i - s_f) * (1 - p) ** 3


CUBIC_ALTERNATIVES = {
    "reference": ref.cubic_sparsity,
    "notebook": _cubic(_zg),
    "rising form": _cubic(lambda si, sf, p: si + (sf - si) * (1 - (1 - p) ** 3)),
    "numpy clip": lambda t, si, sf, t0, n, dt: sf + (si - sf) * (1 - np.clip((t - t0) / (n * dt), 0, 1)) ** 3,
    "branches": lambda t, si, sf, t0, n, dt: si if t < t0 else sf if t > t0 + n * dt else _zg(si, sf, (t - t0) / (n * dt)),
    "sparsity clamped to [s_i, s_f]": lambda t, si, sf, t0, n, dt: min(max(_zg(si, sf, (t - t0) / (n * dt)), si), sf),
}

CUBIC_MUTANTS = {
    "square": (_cubic(lambda si, sf, p: sf + (si - sf) * (1 - p) ** 2), ["exponent is 3"]),
    "linear": (_cubic(lambda si, sf, p: sf + (si - sf) * (1 - p)), ["cubed"]),
    "progress cubed": (_cubic(lambda si, sf, p: sf + (si - sf) * (1 - p ** 3)), ["not progress"]),
    "cube root": (_cubic(lambda si, sf, p: sf + (si - sf) * (1 - p) ** (1 / 3)), ["cube root"]),
    "swapped": (_cubic(lambda si, sf, p: si + (sf - si) * (1 - p) ** 3), ["swapped"]),
    "sign": (_cubic(lambda si, sf, p: sf - (si - sf) * (1 - p) ** 3), ["sign is +"]),
    "s_i forgotten": (_cubic(lambda si, sf, p: sf - sf * (1 - p) ** 3), ["s_i is missing"]),
    "no t0": (_cubic(_zg, progress=lambda t, t0, n, dt: t / (n * dt)), ["subtract t0"]),
    "no t0, no clamp": (lambda t, si, sf, t0, n, dt: sf + (si - sf) * (1 - t / (n * dt)) ** 3, ["subtract t0"]),
    "no dt": (_cubic(_zg, progress=lambda t, t0, n, dt: (t - t0) / n), ["n * dt"]),
    "/ n * dt": (_cubic(_zg, progress=lambda t, t0, n, dt: (t - t0) / n * dt), ["(t - t0) / (n * dt)", "multiplies"]),
    "//": (_cubic(_zg, progress=lambda t, t0, n, dt: (t - t0) // (n * dt)), ["floor division"]),
    "no clamp": (_cubic(_zg, low=False, high=False), ["clamp"]),
    "no clamp at the end": (_cubic(_zg, high=False), ["min(progress, 1.0)"]),
    "no clamp before t0": (_cubic(_zg, low=False), ["max(progress, 0.0)"]),
    "sparsity clamped to [0, 1]": (lambda t, si, sf, t0, n, dt: min(max(_zg(si, sf, (t - t0) / (n * dt)), 0.0), 1.0),
                                   ["not the sparsity"]),
    "density": (lambda *a: 1 - ref.cubic_sparsity(*a), ["density"]),
    "rounded": (lambda *a: round(ref.cubic_sparsity(*a), 2), ["rounded"]),
    "0-d tensor": (lambda *a: torch.tensor(ref.cubic_sparsity(*a)), ["tensor", "Python float"]),
    "float subclass that equals anything": (lambda *a: _AgreesWithAnything(0.3), ["subclass"]),
    "None": (lambda *a: None, ["NoneType", "float"]),
    "stub": (_stub, ["not solved yet"]),
}


@pytest.mark.parametrize("name", CUBIC_ALTERNATIVES)
def test_cubic_right_solutions_pass(name, capsys):
    _passes(check_cubic_sparsity, CUBIC_ALTERNATIVES[name], capsys)


@pytest.mark.parametrize("name", CUBIC_MUTANTS)
def test_cubic_mistakes_are_named(name):
    fn, words = CUBIC_MUTANTS[name]
    _fails(check_cubic_sparsity, fn, *words)


def test_cubic_reference_values():
    assert math.isclose(ref.cubic_sparsity(50, 0.0, 0.9, 0, 2, 50), 0.9 * 7 / 8)
