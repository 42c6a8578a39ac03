"""Checks for notebooks 02 and 03: magnitude pruning, masks that survive retraining, schedules.

Each check runs the learner's function on fixed cases built to expose one mistake each
(ties at the threshold for ``>=`` vs ``>``, large negative weights for a forgotten ``abs``,
layers of different scales for a global threshold, momentum buffers for masks that are not
reapplied after ``optimizer.step()``), then on seeded random ones, and compares with
:mod:`course_lib.pruning`. A failure names the likely mistake.
"""

from __future__ import annotations

import copy
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ... import pruning as ref
from ...models import LeNet300100, prunable_layers
from .core import call, fail, passed, returned_tensor

# --------------------------------------------------------------------------- helpers


def _bool_mask(result, fn_name: str, like: torch.Tensor) -> torch.Tensor:
    mask = returned_tensor(result, fn_name, shape=like.shape)
    if mask.dtype != torch.bool:
        if mask.is_floating_point() and mask.numel() and mask.abs().max() > 1:
            fail(f"{fn_name} returned the pruned weights (dtype {mask.dtype}); return the boolean keep-mask "
                 "instead, e.g. `weight.abs() > threshold`.")
        fail(f"{fn_name} returned a tensor of dtype {mask.dtype}; return a boolean mask "
             "(`weight.abs() > threshold` is one). Convert with .bool() if you built 0/1 values.")
    return mask


def _tie_free(shape, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n = math.prod(shape)
    magnitude = (torch.randperm(n, generator=g).float() + 1) / n
    sign = torch.randint(0, 2, (n,), generator=g).float() * 2 - 1
    return (magnitude * sign).reshape(shape)


def _kth(values: torch.Tensor, k: int) -> torch.Tensor:
    return torch.kthvalue(values.flatten(), k).values


# --------------------------------------------------------------------------- exercise: magnitude_prune


def _magnitude_diagnosis(got: torch.Tensor, w: torch.Tensor, sparsity: float) -> str:
    """Name the mistake that explains ``got`` (a wrong keep-mask of ``w`` at ``sparsity``)."""
    n = w.numel()
    k = round(sparsity * n)
    a = w.abs()
    want = ref.magnitude_prune(w, sparsity)
    pruned = int((~got).sum())
    if k >= 1:
        t = _kth(a, k)
        if torch.equal(got, a >= t):
            return ("weights equal to the threshold were kept: use `>` (strictly greater keeps), "
                    "not `>=`. The rule is: keep |w| > threshold, prune |w| <= threshold.")
        if torch.equal(got, w > _kth(w, k)) or torch.equal(got, w > t) or torch.equal(got, w >= _kth(w, k)):
            return ("large negative weights were pruned: you forgot `abs`. Magnitude means |w|: "
                    "use `weight.abs()` both to find the threshold and to compare.")
        if torch.equal(got, ~want) or torch.equal(got, a <= t):
            return ("the mask is inverted: True must mean *keep*. Return `weight.abs() > threshold` "
                    "(the big weights), not the pruned ones.")
    if n - k >= 1 and torch.equal(got, a > _kth(a, n - k)) and k != n - k:
        return (f"you pruned {pruned} of {n} weights, i.e. you treated `sparsity` as the fraction to *keep*. "
                f"sparsity = {sparsity} is the fraction to remove: prune round(sparsity * numel) = {k}.")
    if pruned == k + 1:
        return (f"one weight too many was pruned ({pruned} instead of {k}). `torch.kthvalue(x, k)` counts "
                "from 1: the k-th smallest is the threshold itself, and `<=` prunes exactly k weights.")
    if pruned == k - 1:
        return (f"one weight too few was pruned ({pruned} instead of {k}). `torch.kthvalue(x, k)` counts "
                "from 1 (k, not k + 1, is the index of the k-th smallest).")
    if pruned == math.floor(sparsity * n) != k or pruned == math.ceil(sparsity * n) != k:
        return (f"you pruned {pruned} weights; round(sparsity * numel) = round({sparsity * n:g}) = {k}. "
                "Use `round(...)`, not int()/floor/ceil.")
    if pruned == k:
        return ("the right number of weights was pruned, but not the smallest ones. Prune the entries with the "
                "smallest |w| (threshold = the k-th smallest |w|).")
    return f"it prunes {pruned} of {n} weights; expected {k} (round(sparsity * numel)), those with the smallest |w|."


def check_magnitude_prune(fn: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """``fn(weight, sparsity)``: boolean keep-mask, prunes the round(sparsity*numel) smallest |w|, ``>`` keeps."""
    cases: list[tuple[str, torch.Tensor, float]] = [
        ("a tensor with big negative weights", torch.tensor([-5.0, 0.1, -4.0, 0.2, 3.0, -0.3, 2.0, 0.4]), 0.5),
        ("a tensor with ties at the threshold", torch.tensor([0.5, -0.5, 0.5, 2.0, -3.0, 0.25, 4.0, 1.0]), 0.375),
        ("a 10-entry tensor where round() and int() differ", _tie_free((10,), 1), 0.37),
        ("a 2-D weight", _tie_free((30, 20), 2), 0.9),
        ("a conv weight", _tie_free((6, 3, 5, 5), 3), 0.66),
    ]
    cases += [(f"random weight #{i}", torch.randn(40, 25, generator=torch.Generator().manual_seed(10 + i)), s)
              for i, s in enumerate((0.1, 0.5, 0.8, 0.95, 0.99))]
    for what, w, s in cases:
        before = w.clone()
        got = _bool_mask(call(fn, w, s, exercise="magnitude_prune"), "magnitude_prune", w)
        if not torch.equal(w, before):
            fail(f"magnitude_prune changed its input ({what}). Build a new mask; don't zero the weight in place.")
        if not torch.equal(got, ref.magnitude_prune(w, s)):
            fail(f"magnitude_prune on {what} at sparsity {s}: " + _magnitude_diagnosis(got, w, s))
    w = _tie_free((5, 4), 4)
    got = _bool_mask(call(fn, w, 0.0, exercise="magnitude_prune"), "magnitude_prune", w)
    if not got.all():
        fail("sparsity 0 must keep every weight. torch.kthvalue needs k >= 1: handle k == 0 first "
             "(return torch.ones_like(weight, dtype=torch.bool)).")
    layer = nn.Linear(8, 4)
    got = call(fn, layer.weight, 0.5, exercise="magnitude_prune")
    if isinstance(got, torch.Tensor) and got.requires_grad:
        fail("the mask carries autograd history (requires_grad=True); compute it from `weight.detach()`.")
    passed(f"magnitude_prune keeps |w| > threshold and prunes exactly round(sparsity * numel) weights "
           f"on {len(cases) + 1} tensors (ties, negatives, conv weights, sparsity 0).")


# --------------------------------------------------------------------------- exercise: threshold_prune


def _tie_at_threshold(g: torch.Generator) -> tuple[torch.Tensor, float]:
    """Weights and a quality such that one |w| equals ``quality * w.std()`` exactly in float32."""
    w = torch.randn(60, generator=g)
    std = w.std()
    for i in range(w.numel()):
        q = float(w[i].abs() / std)
        if (w.abs() == q * std).sum() == 1 and bool(w[i].abs() == q * std):
            return w, q
    raise RuntimeError("no exact tie found")  # pragma: no cover (fixed seed)


def check_threshold_prune(fn: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """``fn(weight, quality)``: keep ``|w| > quality * std(w)`` ([LW] §4)."""
    g = torch.Generator().manual_seed(0)
    w_neg = torch.cat([torch.randn(200, generator=g) * 0.05, torch.tensor([-0.4, -0.3, 0.35])]).reshape(7, 29)
    tie, q_tie = _tie_at_threshold(g)
    cases = [("weights with large negative ones", w_neg, 1.0), ("weights with one at the threshold", tie, q_tie)]
    cases += [(f"random layer #{i}", torch.randn(30, 20, generator=g) * scale, q)
              for i, (scale, q) in enumerate([(0.01, 0.5), (0.1, 1.0), (1.0, 1.5), (0.05, 2.0), (3.0, 0.0)])]
    for what, w, q in cases:
        got = _bool_mask(call(fn, w, q, exercise="threshold_prune"), "threshold_prune", w)
        want = ref.threshold_prune(w, q)
        if torch.equal(got, want):
            continue
        a, std = w.abs(), w.std()
        variants = [
            (a >= q * std, "weights exactly at quality * std were kept: use `>` (strictly greater keeps)."),
            (w > q * std, "large negative weights were pruned: compare `weight.abs()`, you forgot `abs`."),
            (a > q * a.std(), "you took the std of |w|; the threshold is quality * std of the weights themselves, `weight.std()`."),
            (a > q * w.std(unbiased=False), None),
            (a > torch.full_like(a, float(q)), "the threshold is quality * std(w), not quality alone: multiply by `weight.std()`."),
            (a > w.mean() + q * std, "don't add the mean: the threshold is quality * std(w) around zero."),
            (a > q * w.var(), "use the standard deviation `weight.std()`, not the variance."),
            (~want, "the mask is inverted: True must mean keep (|w| > threshold)."),
        ]
        for variant, message in variants:
            if torch.equal(got, variant):
                if message is None:  # population std: equal up to the last weight or two, accept
                    break
                fail(f"threshold_prune on {what} (quality {q}): {message}")
        else:
            fail(f"threshold_prune on {what} (quality {q}) keeps {int(got.sum())} weights; "
                 f"|w| > quality * std(w) keeps {int(want.sum())}.")
    passed(f"threshold_prune keeps |w| > quality * std(w) on {len(cases)} layers of different scales.")


# --------------------------------------------------------------------------- exercise: per-layer pruning


def _scaled_lenet(seed: int = 0) -> nn.Module:
    """LeNet-300-100 whose layers have very different scales, so a global threshold shows."""
    torch.manual_seed(seed)
    model = LeNet300100()
    with torch.no_grad():
        model.fc1.weight.mul_(0.2)
        model.fc3.weight.mul_(5.0)
    return model


def check_prune_model(fn: Callable[[nn.Module, dict], dict]) -> None:
    """``fn(model, sparsities)``: per-layer masks ``{name: mask}``; zeros the pruned weights in place."""
    sparsities = {"fc1": 0.92, "fc2": 0.91, "fc3": 0.74}
    model = _scaled_lenet()
    original = copy.deepcopy(model)
    masks = call(fn, model, dict(sparsities), exercise="prune_model")
    if not isinstance(masks, dict):
        fail(f"prune_model returned {type(masks).__name__}; return a dict {{layer_name: keep-mask}}, e.g. {{'fc1': mask, ...}}.")
    if any(k.endswith("bias") for k in masks):
        fail("prune_model returned masks for biases; prune only the weights (`layer.weight`), the biases stay.")
    if set(masks) != set(sparsities):
        fail(f"prune_model returned masks for {sorted(masks)}; expected one per layer asked for: {sorted(sparsities)}.")
    layers = prunable_layers(original)
    want = {n: ref.magnitude_prune(layers[n].weight, s) for n, s in sparsities.items()}
    got = {n: _bool_mask(masks[n], f"prune_model(...)[{n!r}]", layers[n].weight) for n in sparsities}
    for name in sparsities:
        if torch.equal(got[name], want[name]):
            continue
        if _global_threshold(original, got) is not None or torch.equal(
                got[name], ref.global_masks(original, sparsities[name])[name]):
            fail(f"layer {name} keeps {100 * got[name].float().mean():.1f}% instead of "
                 f"{100 * (1 - sparsities[name]):.1f}%: you used one global threshold for all layers. Per-layer "
                 "pruning gives each layer its own threshold from its own weights: call "
                 "magnitude_prune(layer.weight, sparsities[name]) for each layer.")
        fail(f"the mask of {name} keeps {int(got[name].sum())} weights; magnitude_prune(model.{name}.weight, "
             f"{sparsities[name]}) keeps {int(want[name].sum())}.")
    pruned_layers = prunable_layers(model)
    for name, mask in want.items():
        w = pruned_layers[name].weight
        if not (w[~mask] == 0).all():
            fail(f"the pruned weights of {name} are not zero in the model: multiply in place, "
                 "`with torch.no_grad(): layer.weight.mul_(mask)`.")
        if not torch.equal(w[mask], layers[name].weight[mask]):
            fail(f"the kept weights of {name} changed; only the pruned ones may become zero.")
        if not torch.equal(pruned_layers[name].bias, layers[name].bias):
            fail(f"the bias of {name} changed; biases are not pruned.")
    passed("prune_model gives each layer its own threshold, zeros exactly the pruned weights and leaves the biases.")


def _global_threshold(model: nn.Module, masks: dict) -> torch.Tensor | None:
    """The single |w| cut that would explain all of ``masks`` at once, if there is one."""
    layers = prunable_layers(model)
    try:
        pruned = torch.cat([layers[n].weight.abs()[~m.bool()] for n, m in masks.items()])
        kept = torch.cat([layers[n].weight.abs()[m.bool()] for n, m in masks.items()])
    except (KeyError, RuntimeError, IndexError, TypeError):
        return None
    if pruned.numel() and kept.numel() and kept.min() > pruned.max():
        return pruned.max()
    return None


# --------------------------------------------------------------------------- exercise: a masked SGD step


def _step_variants(model, masks, opt_state, x, y):
    """Weights after one step of each way to write it (from identical starting states)."""
    results = {}
    for variant in ("right", "mask_before_step", "grad_only", "no_mask", "no_zero_grad"):
        m = copy.deepcopy(model)
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-3)
        opt.load_state_dict(copy.deepcopy(opt_state))
        layers = prunable_layers(m)
        if variant != "no_zero_grad":
            opt.zero_grad()
        else:  # the gradients of the last step are still there, and accumulate
            for p, p0 in zip(m.parameters(), model.parameters()):
                p.grad = None if p0.grad is None else p0.grad.clone()
        if variant == "mask_before_step":
            ref.apply_masks(m, masks)
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        if variant == "grad_only":
            for n, mask in masks.items():
                layers[n].weight.grad.mul_(mask)
        opt.step()
        if variant in ("right", "no_zero_grad"):
            ref.apply_masks(m, masks)
        results[variant] = {n: l.weight.detach().clone() for n, l in layers.items()}
    return results


def check_masked_step(fn: Callable) -> None:
    """``fn(model, masks, optimizer, x, y)``: one SGD step, then the pruned weights back at exactly 0; returns the loss."""
    torch.manual_seed(0)
    model = LeNet300100()
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(32, 1, 28, 28, generator=g), torch.randint(0, 10, (32,), generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-3)
    for _ in range(3):  # build up momentum before pruning: the buffers now push every weight
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    masks = ref.prune_model(model, {"fc1": 0.9, "fc2": 0.8, "fc3": 0.5})
    expected = _step_variants(model, masks, opt.state_dict(), x, y)
    want_loss = F.cross_entropy(model(x), y).item()
    before = {n: l.weight.detach().clone() for n, l in prunable_layers(model).items()}
    loss = call(fn, model, masks, opt, x, y, exercise="masked_step")
    got = {n: l.weight.detach() for n, l in prunable_layers(model).items()}
    if all(torch.equal(got[n], before[n]) for n in got):
        fail("no weight changed: call `optimizer.step()` (after `loss.backward()`).")
    revived = {n: int((got[n][~m] != 0).sum()) for n, m in masks.items()}
    if any(revived.values()):
        name = max(revived, key=revived.get)

        def same(v):
            return all(torch.allclose(got[n], expected[v][n], atol=1e-6) for n in got)

        if same("mask_before_step") or same("no_mask"):
            fail(f"{revived[name]} pruned weights of {name} are nonzero after the step: the masks were applied "
                 "*before* optimizer.step(), or never. The step moves pruned weights again (momentum and weight "
                 "decay), so reapply the masks *after* optimizer.step(): `weight.mul_(mask)` under torch.no_grad().")
        if same("grad_only"):
            fail(f"{revived[name]} pruned weights of {name} are nonzero: masking the gradients is not enough, "
                 "the momentum buffer and weight decay still move pruned weights. Reapply the masks to the "
                 "weights after optimizer.step().")
        fail(f"{revived[name]} pruned weights of {name} are nonzero after your step; reapply the masks after optimizer.step().")
    if not all(torch.allclose(got[n], expected["right"][n], atol=1e-5) for n in got):
        if all(torch.allclose(got[n], expected["no_zero_grad"][n], atol=1e-5) for n in got):
            fail("the step used stale gradients: call `optimizer.zero_grad()` before `loss.backward()`.")
        fail("the pruned weights stay zero, but the kept weights differ from one SGD step on "
             "cross_entropy(model(x), y) with the given optimizer. Use that optimizer; don't re-create it.")
    try:
        loss_value = float(loss)
    except (TypeError, ValueError):
        fail(f"masked_step returned {type(loss).__name__}; return the loss as a number (`loss.item()`).")
    if not math.isclose(loss_value, want_loss, rel_tol=1e-4):
        fail(f"masked_step returned {loss_value:.4f}; return the loss of the batch before the step ({want_loss:.4f}).")
    passed("after your step the pruned weights are exactly 0.0 even with momentum and weight decay, "
           "and the kept weights moved by one SGD step.")


# --------------------------------------------------------------------------- exercise: iterative pruning


class _FakeRetrain:
    """A stand-in for retraining: nudges the surviving weights, keeps the masks, and records each round."""

    def __init__(self):
        self.rounds: list[dict] = []

    def __call__(self, model, masks):
        layers = prunable_layers(model)
        record = {"masks": {}, "zeroed": True, "kept": {}}
        for name, mask in (masks or {}).items():
            mask = torch.as_tensor(mask).bool()
            record["masks"][name] = mask.clone()
            w = layers[name].weight
            record["kept"][name] = int(mask.sum())
            record["zeroed"] &= bool((w.detach()[~mask] == 0).all())
        g = torch.Generator().manual_seed(len(self.rounds))
        with torch.no_grad():
            for name, layer in layers.items():
                noise = torch.randn(layer.weight.shape, generator=g) * layer.weight.std() * 0.5
                layer.weight.add_(noise * (layer.weight != 0))
        self.rounds.append(record)


def check_iterative_prune(fn: Callable) -> None:
    """``fn(model, final_sparsities, steps, retrain)``: round i of k prunes each layer to ``final * i / k``."""
    targets = {"fc1": 0.92, "fc2": 0.91, "fc3": 0.74}
    steps = 3
    torch.manual_seed(0)
    model = LeNet300100()
    reference = copy.deepcopy(model)
    one_shot = {n: int(m.sum()) for n, m in ref.layer_masks(reference, targets).items()}
    fake, ref_fake = _FakeRetrain(), _FakeRetrain()
    result = call(fn, model, dict(targets), steps, fake, exercise="iterative_prune")
    ref_masks = ref.iterative_prune(reference, targets, steps, ref_fake, schedule="linear")
    numel = {n: l.weight.numel() for n, l in prunable_layers(model).items()}
    if len(fake.rounds) != steps:
        fail(f"retrain was called {len(fake.rounds)} times for steps={steps}; call retrain(model, masks) once "
             "after each prune round.")
    for i, (got, want) in enumerate(zip(fake.rounds, ref_fake.rounds), start=1):
        if set(got["masks"]) != set(targets):
            fail(f"round {i} passed masks for {sorted(got['masks'])} to retrain; pass one mask per layer of "
                 f"final_sparsities {sorted(targets)}.")
        if got["kept"] != want["kept"]:
            first = fake.rounds[0]["kept"]
            if first == one_shot:
                fail("round 1 already pruned to the final sparsity. Iterative pruning climbs: round i of k prunes "
                     "to final * i / k, so the network can adapt between rounds.")
            if first == {n: numel[n] for n in targets}:
                fail("round 1 pruned nothing: your rounds are numbered from 0. Use i = 1, ..., steps, so round "
                     "i prunes to final * i / steps and the last round reaches the target.")
            kept = ", ".join(f"{n} {100 * k / numel[n]:.1f}%" for n, k in got["kept"].items())
            want_kept = ", ".join(f"{n} {100 * k / numel[n]:.1f}%" for n, k in want["kept"].items())
            fail(f"after round {i} the masks keep {kept}; expected {want_kept} (final sparsity * {i}/{steps}).")
        if not got["zeroed"]:
            fail(f"in round {i} the pruned weights were still nonzero when retrain started: zero them "
                 "(apply the masks to the model) before calling retrain.")
        if not all(torch.equal(got["masks"][n], want["masks"][n]) for n in targets):
            fail(f"round {i} pruned the right number of weights but not the smallest *current* ones. Prune the "
                 "retrained model's weights each round, not a copy saved before the first round.")
    if not isinstance(result, dict) or set(result) != set(targets):
        fail("iterative_prune must return the final masks, a dict {layer_name: keep-mask}.")
    for n in targets:
        if not torch.equal(torch.as_tensor(result[n]).bool(), ref_masks[n]):
            fail(f"the returned mask of {n} is not the one of the last round.")
    for name, layer in prunable_layers(model).items():
        if not torch.allclose(layer.weight, prunable_layers(reference)[name].weight, atol=1e-6):
            fail(f"the weights of {name} differ from prune -> retrain with the survivors kept. Don't re-initialise "
                 "or reload the weights between rounds ([LW]: keep the surviving weights).")
    passed(f"iterative_prune climbs to the targets in {steps} rounds, prunes the current weights and "
           "retrains after every round.")


# --------------------------------------------------------------------------- exercise: cubic schedule


def check_cubic_sparsity(fn: Callable) -> None:
    """``fn(t, s_i, s_f, t0, n, dt)``: [ZG] ``s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3``, clamped outside."""
    cases = [(t, 0.0, 0.9, 100, 10, 50) for t in (100, 150, 250, 350, 600)]
    cases += [(t, 0.5, 0.95, 0, 4, 25) for t in (0, 10, 50, 99, 100)]
    cases += [(50, 0.0, 0.9, 100, 10, 50), (700, 0.0, 0.9, 100, 10, 50), (130, 0.5, 0.95, 0, 4, 25)]
    for args in cases:
        got = call(fn, *args, exercise="cubic_sparsity")
        try:
            value = float(got)
        except (TypeError, ValueError):
            fail(f"cubic_sparsity{args} returned {type(got).__name__}; return a float.")
        want = ref.cubic_sparsity(*args)
        if math.isclose(value, want, abs_tol=1e-6):
            continue
        t, s_i, s_f, t0, n, dt = args
        def clamp(x):
            return min(max(x, 0.0), 1.0)

        p = clamp((t - t0) / (n * dt))
        wrong = {
            "square": s_f + (s_i - s_f) * (1 - p) ** 2,
            "linear": s_f + (s_i - s_f) * (1 - p),
            "p_cubed": s_f + (s_i - s_f) * (1 - p ** 3),
            "swapped": s_i + (s_f - s_i) * (1 - p) ** 3,
            "no_t0": s_f + (s_i - s_f) * (1 - clamp(t / (n * dt))) ** 3,
            "no_dt": s_f + (s_i - s_f) * (1 - clamp((t - t0) / n)) ** 3,
            "sign": s_f - (s_i - s_f) * (1 - p) ** 3,
        }
        hints = {
            "square": "the exponent is 3 (cubic), not 2.",
            "linear": "the factor (1 - progress) is cubed: ** 3.",
            "p_cubed": "cube (1 - progress), not progress: (1 - (t - t0) / (n * dt)) ** 3.",
            "swapped": "s_i and s_f are swapped: it is s_f + (s_i - s_f) * (...) ** 3, which starts at s_i and ends at s_f.",
            "no_t0": "subtract t0: progress is (t - t0) / (n * dt).",
            "no_dt": "divide by n * dt (the schedule spans n pruning steps of dt training steps each), not by n.",
            "sign": "the sign is +: s_f + (s_i - s_f) * (...) ** 3.",
        }
        for key, w in wrong.items():
            if math.isclose(value, w, abs_tol=1e-6) and not math.isclose(w, want, abs_tol=1e-6):
                fail(f"cubic_sparsity{args} = {value:.4f}, expected {want:.4f}: {hints[key]}")
        if not t0 <= t <= t0 + n * dt:
            fail(f"cubic_sparsity{args} = {value:.4f}, expected {want:.4f}: outside [t0, t0 + n*dt] clamp the "
                 "progress to [0, 1], so the sparsity stays at s_i before t0 and at s_f after the end.")
        fail(f"cubic_sparsity{args} = {value:.4f}, expected {want:.4f} = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3.")
    passed(f"cubic_sparsity follows Zhu & Gupta's schedule on {len(cases)} points, clamped at both ends.")
