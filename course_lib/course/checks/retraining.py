"""Checks for notebook 03, pruning with retraining: ``masked_step``, ``iterative_prune``, ``cubic_sparsity``.

Like the checks of notebook 02 (:mod:`~course_lib.course.checks.magnitude_pruning`), each runs
the learner's function on fixed cases built to expose one mistake each (momentum buffers from
before the pruning for masks that are not reapplied after ``optimizer.step()``, a stand-in
``retrain`` that records every round for a wrong schedule, points before, inside and after the
schedule for a missing clamp), and compares with :mod:`course_lib.pruning`. Every call goes
through :func:`~course_lib.course.checks.core.call_unchanged`, so an argument changed in place
is named; returned values are coerced (bool masks, a Python float). A failure names the mistake
whose output matches what the learner's function returned, else shows the smallest failing
input, the expected value and the value returned.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from ... import pruning as ref
from ...models import LeNet300100, prunable_layers
from .core import CheckFailed, as_float, call_unchanged, fail, mismatch, passed
from .magnitude_pruning import _mask_of

# --------------------------------------------------------------------------- exercise: a masked SGD step

_STEP_VARIANTS = ("right", "mask_before_step", "grad_only", "no_mask", "no_zero_grad", "positive_before",
                  "positive_after", "sum_loss", "nll_loss")


def _masked_step_setup():
    """LeNet-300-100 after 3 SGD steps (momentum built up), then pruned; the masks not in layer order."""
    torch.manual_seed(0)
    model = LeNet300100()
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(32, 1, 28, 28, generator=g), torch.randint(0, 10, (32,), generator=g)
    opt = _SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-3)
    for _ in range(3):  # build up momentum before pruning: the buffers now push every weight
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    masks = ref.prune_model(model, {"fc3": 0.5, "fc1": 0.9, "fc2": 0.8})  # not in the layers' order
    return model, masks, opt, x, y


class _SGD(torch.optim.SGD):
    """torch.optim.SGD with a one-line repr, for messages that show the arguments."""

    def __repr__(self) -> str:
        group = self.param_groups[0]
        return f"SGD(lr={group['lr']}, momentum={group['momentum']}, weight_decay={group['weight_decay']})"


class _Variants(dict):
    """Weights (and losses) after one step of each way to write it, computed when first asked for."""

    def __init__(self, model, masks, opt_state, x, y):
        super().__init__()
        stale = [None if p.grad is None else p.grad.clone() for p in model.parameters()]  # deepcopy drops .grad
        self.start = (copy.deepcopy(model), masks, copy.deepcopy(opt_state), x, y, stale)

    def __missing__(self, key: str):
        variant = next(v for v in _STEP_VARIANTS if key == v or key.startswith(v + "_") and key != v)
        self.update(_step_variants(*self.start, variants=(variant,)))
        return self[key]


def _step_variants(model, masks, opt_state, x, y, stale, variants=_STEP_VARIANTS):
    """Weights after one step of each way to write it (from identical starting states), and the losses."""
    results = {}
    for variant in variants:
        m = copy.deepcopy(model)
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-3)
        opt.load_state_dict(copy.deepcopy(opt_state))
        layers = prunable_layers(m)
        if variant != "no_zero_grad":
            opt.zero_grad()
        else:  # the gradients of the last step are still there, and accumulate
            for p, g in zip(m.parameters(), stale):
                p.grad = None if g is None else g.clone()
        if variant == "mask_before_step":
            ref.apply_masks(m, masks)
        positive = {n: layers[n].weight.detach() > 0 for n in masks}
        out = m(x)
        loss = {"sum_loss": lambda: F.cross_entropy(out, y, reduction="sum"),
                "nll_loss": lambda: F.nll_loss(out, y)}.get(variant, lambda: F.cross_entropy(out, y))()
        loss.backward()
        if variant == "grad_only":
            for n, mask in masks.items():
                layers[n].weight.grad.mul_(mask)
        opt.step()
        if variant in ("right", "no_zero_grad", "sum_loss", "nll_loss"):
            ref.apply_masks(m, masks)
        if variant == "positive_before":
            ref.apply_masks(m, positive)
        if variant == "positive_after":
            ref.apply_masks(m, {n: layers[n].weight.detach() > 0 for n in masks})
        results[variant] = {n: l.weight.detach().clone() for n, l in layers.items()}
        if variant == "right":
            with torch.no_grad():
                results["right_loss_after"] = F.cross_entropy(m(x), y).item()
        results[variant + "_loss"] = loss.item()
    return results


def _loss_value(loss: Any) -> float:
    if isinstance(loss, torch.Tensor):
        if loss.requires_grad or loss.grad_fn is not None:
            fail("masked_step returned the loss tensor, which still carries its autograd graph (it keeps "
                 "the whole batch's activations alive).\nReturn loss.item(), a Python float.")
        fail(f"masked_step returned a tensor of shape {tuple(loss.shape)}; return the loss as a Python "
             "float: loss.item().")
    if loss is None:
        fail("masked_step returned None; return the loss of the batch as a Python float (loss.item()).")
    return as_float(loss, "The value masked_step returned")


def check_masked_step(fn: Callable) -> None:
    """``fn(model, masks, optimizer, x, y)``: one SGD step, then the pruned weights back at exactly 0; returns the loss."""
    model, masks, opt, x, y = _masked_step_setup()
    expected = _Variants(model, masks, opt.state_dict(), x, y)
    want_loss = expected["right_loss"]
    before = {n: l.weight.detach().clone() for n, l in prunable_layers(model).items()}
    params = list(model.parameters())
    weights = {n: l.weight for n, l in prunable_layers(model).items()}
    momentum = [opt.state[p]["momentum_buffer"].clone() for p in params]
    loss = call_unchanged(fn, model, masks, opt, x, y, exercise="masked_step", may_change=(0, 2))
    loss_value = _loss_value(loss)
    layers = prunable_layers(model)
    for n, layer in layers.items():
        if n not in weights or layer.weight is not weights[n]:
            fail(f"masked_step replaced {n}.weight with a new tensor or nn.Parameter. The optimizer still "
                 "holds the old one, so the next step trains weights the model no longer uses.\nChange the "
                 "weights in place: `with torch.no_grad(): layer.weight.mul_(mask)`.")
    got = {n: l.weight.detach() for n, l in layers.items()}
    if all(torch.equal(got[n], before[n]) for n in got):
        fail("No weight changed: call `optimizer.step()` (after `loss.backward()`).")

    def same(variant: str, atol: float = 1e-6) -> bool:
        return all(torch.allclose(got[n], expected[variant][n], atol=atol) for n in got)

    revived = {n: int((got[n][~m] != 0).sum()) for n, m in masks.items()}
    if any(revived.values()):
        n = max(revived, key=revived.get)
        head = f"{revived[n]} pruned weights of {n} are nonzero after the step"
        if same("mask_before_step") or same("no_mask"):
            fail(f"{head}: the masks were applied *before* optimizer.step(), or never.\nThe step moves "
                 "pruned weights again (their gradient and the momentum buffer), so reapply the masks "
                 "*after* optimizer.step(): `weight.mul_(mask)` under torch.no_grad().")
        if same("positive_before") or same("positive_after"):
            fail(f"{head}: you masked with `weight > 0`, which forgot abs (and keeps revived weights).\n"
                 "Apply the masks you were given after optimizer.step(): layers[name].weight.mul_(masks[name]).")
        if same("grad_only"):
            fail(f"{head}: masking the gradients is not enough, the momentum buffer from before the "
                 "pruning still moves pruned weights.\nReapply the masks to the weights after "
                 "optimizer.step().")
        fail(f"{head}; reapply every mask to its layer's weight after optimizer.step() "
             "(prunable_layers(model)[name] is the layer of masks[name]).")
    if not same("right", 1e-5):
        if same("positive_before", 1e-5) or same("positive_after", 1e-5):
            fail("Kept negative weights became zero: you masked with `weight > 0`, which forgot abs.\n"
                 "Apply the masks you were given: layers[name].weight.mul_(masks[name]).")
        if same("no_zero_grad", 1e-5):
            fail("The step used stale gradients: call `optimizer.zero_grad()` before `loss.backward()`.")
        if same("sum_loss", 1e-5) or math.isclose(loss_value, expected["sum_loss_loss"], rel_tol=1e-4):
            fail("The loss is summed over the batch (reduction='sum'); use the mean, "
                 "F.cross_entropy(model(x), y).")
        if same("nll_loss", 1e-5) or math.isclose(loss_value, expected["nll_loss_loss"], rel_tol=1e-4):
            fail("F.nll_loss needs log-probabilities; the model returns logits. Use "
                 "F.cross_entropy(model(x), y).")
        buffers = [opt.state.get(p, {}).get("momentum_buffer") for p in params]
        if all(isinstance(m, torch.Tensor) and torch.equal(m, b) for m, b in zip(buffers, momentum)):
            fail("The weights moved but the optimizer you were given did not step (its momentum is "
                 "unchanged). Use that optimizer; don't create a new one.")
        fail("The pruned weights stay zero, but the kept weights differ from one SGD step on "
             "cross_entropy(model(x), y) with the given optimizer.\nUse that optimizer, step once, "
             "don't re-create it.")
    if not math.isclose(loss_value, want_loss, rel_tol=1e-4):
        if math.isclose(loss_value, expected["right_loss_after"], rel_tol=1e-4):
            fail(f"masked_step returned {loss_value:.4f}, the loss after the step; return the loss of the "
                 f"batch computed for the step ({want_loss:.4f}).")
        fail(f"masked_step returned {loss_value:.4f}; return the loss of the batch before the step "
             f"({want_loss:.4f}), loss.item().")
    passed("masked_step: one SGD step, and the pruned weights are exactly 0.0 again (momentum too).")


# --------------------------------------------------------------------------- exercise: iterative pruning


class _FakeRetrain:
    """A stand-in for retraining: nudges the surviving weights, keeps the masks, and records each round."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.rounds: list[dict] = []
        self.other_model = False

    def __call__(self, model=None, masks=None, *args, **kwargs):
        if not isinstance(model, nn.Module):
            raise CheckFailed(f"retrain was called with {type(model).__name__} as its first argument; "
                              "call retrain(model, masks).")
        if not isinstance(masks, dict):
            raise CheckFailed(f"retrain was called with {type(masks).__name__} as masks; call "
                              "retrain(model, masks) with the dict {layer_name: mask} of the round.")
        if model is not self.model:
            self.other_model = True
        layers = prunable_layers(model)
        record = {"masks": {}, "zeroed": True, "kept": {}, "positive": bool(masks)}
        for name, mask in masks.items():
            record["masks"][name] = mask.detach().clone() if isinstance(mask, torch.Tensor) else mask
            if name in layers and isinstance(mask, torch.Tensor) and mask.shape == layers[name].weight.shape:
                keep = mask.detach().bool()
                record["kept"][name] = int(keep.sum())
                record["zeroed"] &= bool((layers[name].weight.detach()[~keep] == 0).all())
                record["positive"] &= bool(torch.equal(keep, layers[name].weight.detach() > 0))
        g = torch.Generator().manual_seed(len(self.rounds))
        with torch.no_grad():
            for name, layer in layers.items():
                noise = torch.randn(layer.weight.shape, generator=g) * layer.weight.std() * 0.5
                layer.weight.add_(noise * (layer.weight != 0))
        self.rounds.append(record)


def _schedules(targets: dict[str, float], steps: int) -> list[tuple[list[dict[str, float]], str]]:
    """Per-round sparsities of the right schedule (first) and of the typical wrong ones, with diagnoses."""
    def each(f):
        return [{n: f(s, i) for n, s in targets.items()} for i in range(1, steps + 1)]

    return [
        (each(lambda s, i: s * i / steps), ""),
        (each(lambda s, i: s * (i - 1) / steps),
         "Your rounds are numbered from 0: round 1 pruned nothing and the last round stops short of the "
         "target.\nUse i = 1, ..., steps: round i prunes to final * i / steps."),
        (each(lambda s, i: s * (i - 1) / (steps - 1)) if steps > 1 else [],
         "Round 1 pruned nothing: use i = 1, ..., steps, round i pruning to final * i / steps "
         "(round 1 already prunes final / steps)."),
        (each(lambda s, i: s),
         "Round 1 already pruned to the final sparsity. Iterative pruning climbs: round i of k prunes "
         "to final * i / k, so the network can adapt between rounds."),
        (each(lambda s, i: s * (i // steps)),
         "`i // steps` is integer division: it is 0 until the last round, so the early rounds pruned "
         "nothing and the last one jumped to the target.\nUse true division: final * i / steps."),
        (each(lambda s, i: s * i // steps),
         "`final * i // steps` is floor division: it rounds every round's sparsity down to 0.\nUse "
         "true division: final * i / steps."),
        (each(lambda s, i: s / steps),
         "Every round pruned to final / steps: the sparsity must climb, round i prunes to "
         "final * i / steps."),
        (each(lambda s, i: s * (1 - (1 - i / steps) ** 3)),
         "That is the cubic schedule 1 - (1 - i / steps)**3; here round i prunes to final * i / steps "
         "(linear)."),
        (each(lambda s, i: s * i / (steps + 1)),
         "The last round must reach the target: round i prunes to final * i / steps, "
         "not / (steps + 1)."),
        ([{n: s * i / steps for n, s in targets.items()} for i in range(0, steps + 1)],
         "Rounds run i = 1, ..., steps: round 0 (sparsity 0) is one round too many."),
        ([{n: s * i / steps for n, s in targets.items()} for i in range(1, steps)],
         "The loop stops one round early (range(1, steps)): use range(1, steps + 1), so the last round "
         "reaches the target."),
    ]


def _simulate(initial: nn.Module, schedule: list[dict[str, float]], observed: list[dict] | None = None
              ) -> _FakeRetrain:
    """Prune -> fake retrain on a copy of ``initial`` with ``schedule``; stops at the first round that
    keeps other counts than ``observed`` (when given)."""
    model = copy.deepcopy(initial)
    fake = _FakeRetrain(model)
    for i, sparsities in enumerate(schedule):
        masks = ref.prune_model(model, sparsities)
        fake(model, masks)
        ref.apply_masks(model, masks)
        if observed is not None and (i >= len(observed) or fake.rounds[i]["kept"] != observed[i]["kept"]):
            break
    return fake


def _kept(rounds: list[dict]) -> list[dict[str, int]]:
    return [r["kept"] for r in rounds]


def _which_schedule(initial: nn.Module, targets, steps, observed: list[dict]) -> str | None:
    """The diagnosis of the wrong schedule that gives the kept counts observed, if one does."""
    for schedule, message in _schedules(targets, steps)[1:]:
        if len(schedule) == len(observed) and _kept(_simulate(initial, schedule, observed).rounds) == _kept(observed):
            return message
    return None


class _SmallMLP(nn.Module):
    """LeNet-300-100's layer names at a tenth of its width: the rounds are checked exactly, and fast."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(196, 30)
        self.fc2 = nn.Linear(30, 20)
        self.fc3 = nn.Linear(20, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x.flatten(1))))))


def check_iterative_prune(fn: Callable) -> None:
    """``fn(model, final_sparsities, steps, retrain)``: round i of k prunes each layer to ``final * i / k``."""
    targets = {"fc1": 0.92, "fc2": 0.91, "fc3": 0.74}
    steps = 3
    torch.manual_seed(0)
    model = _SmallMLP()
    initial = copy.deepcopy(model)
    fake = _FakeRetrain(model)
    result = call_unchanged(fn, model, targets, steps, fake, exercise="iterative_prune", may_change=(0, 3))
    reference = _simulate(initial, _schedules(targets, steps)[0][0])
    ref_masks = {n: reference.rounds[-1]["masks"][n] for n in targets}  # the masks of the last round
    numel = {n: l.weight.numel() for n, l in prunable_layers(model).items()}
    if fake.other_model:
        fail("retrain was called with a different model than the one passed in: prune and retrain "
             "`model` itself, in place (don't copy it or build a new one).")
    if len(fake.rounds) != steps:
        why = _which_schedule(initial, targets, steps, fake.rounds) if all(
            set(r["kept"]) == set(targets) for r in fake.rounds) else None
        fail(f"retrain was called {len(fake.rounds)} times for steps={steps}; call retrain(model, masks) "
             "once after each prune round." + (f"\n{why}" if why else ""))
    for i, (got, want) in enumerate(zip(fake.rounds, reference.rounds), start=1):
        if set(got["masks"]) != set(targets):
            fail(f"Round {i} passed masks for {sorted(map(str, got['masks']))} to retrain; pass one mask per "
                 f"layer of final_sparsities {sorted(targets)}.")
        for n in targets:
            _mask_of(got["masks"][n], f"The mask of {n} that round {i} passed to retrain",
                     prunable_layers(initial)[n].weight, verb="is")
        if got["kept"] != want["kept"]:
            if got["positive"]:
                fail(f"The masks that round {i} passed to retrain are `weight > 0`: that forgot abs, so the "
                     "negative surviving weights count as pruned.\nPass the masks prune_model returned "
                     "(or `weight != 0`).")
            why = _which_schedule(initial, targets, steps, fake.rounds)
            kept = ", ".join(f"{n} {100 * k / numel[n]:.1f}%" for n, k in got["kept"].items())
            want_kept = ", ".join(f"{n} {100 * k / numel[n]:.1f}%" for n, k in want["kept"].items())
            fail(f"After round {i} of {steps} the masks keep {kept}; expected {want_kept} "
                 f"(final sparsity * {i}/{steps})." + (f"\n{why}" if why else ""))
        if not got["zeroed"]:
            fail(f"In round {i} the pruned weights were still nonzero when retrain started: zero them "
                 "(apply the masks to the model) before calling retrain.")
        if not all(torch.equal(got["masks"][n].bool(), want["masks"][n]) for n in targets):
            fail(f"Round {i} pruned the right number of weights but not the smallest *current* ones. Prune "
                 "the retrained model's weights each round, not a copy saved before the first round (and "
                 "don't reload it).")
    if not isinstance(result, dict) or set(result) != set(targets):
        got_text = type(result).__name__ if not isinstance(result, dict) else f"a dict of {sorted(result)}"
        fail(f"iterative_prune returned {got_text}; return the final masks, a dict {{layer_name: "
             "keep-mask} (those of the last round).")
    final = {n: _mask_of(result[n], f"The returned mask of {n}", prunable_layers(initial)[n].weight, verb="is")
             for n in targets}
    if not all(torch.equal(final[n], ref_masks[n]) for n in targets):
        for j, r in enumerate(fake.rounds[:-1], start=1):
            if all(torch.equal(final[n], r["masks"][n].bool()) for n in targets):
                fail(f"The returned masks are those of round {j}; return the masks of the last round.")
        fail("The returned masks are not those of the last round; return the masks of the last round.")
    for name, layer in prunable_layers(model).items():
        if not torch.allclose(layer.weight, prunable_layers(reference.model)[name].weight, atol=1e-6):
            if torch.equal(layer.weight, prunable_layers(initial)[name].weight):
                fail(f"The weights of {name} in the model you were given never changed: prune and retrain "
                     "that model in place, not a copy.")
            fail(f"The weights of {name} differ from prune -> retrain with the survivors kept. Don't "
                 "re-initialise or reload the weights between rounds ([LW]: keep the surviving weights).")
    passed(f"iterative_prune climbs to the targets in {steps} rounds, pruning the current weights.")


# --------------------------------------------------------------------------- exercise: cubic schedule


def _cubic_cases() -> list[tuple]:
    cases = [(t, 0.0, 0.9, 100, 10, 50) for t in (100, 150, 250, 350, 600)]
    cases += [(t, 0.5, 0.95, 0, 4, 25) for t in (0, 10, 50, 99, 100)]
    cases += [(50, 0.0, 0.9, 100, 10, 50), (700, 0.0, 0.9, 100, 10, 50), (130, 0.5, 0.95, 0, 4, 25),
              (5, 0.2, 0.8, 10, 3, 2), (13, 0.2, 0.8, 10, 3, 2), (40, 0.2, 0.8, 10, 3, 2),  # before, in, after
              (7, 0.3, 0.3, 5, 1, 1), (3, 0.1, 0.6, 2, 1, 1),  # s_i == s_f; one pruning step of one step
              (13, 0.2, 0.8, 10, 10, 2)]  # (t - t0) / n * dt = 0.6 < 1: the precedence slip shows
    return cases


def _cubic_mistakes(t, s_i, s_f, t0, n, dt) -> list[tuple[str, Callable[[], float]]]:
    def clamp(x):
        return min(max(x, 0.0), 1.0)

    def formula(p):
        return s_f + (s_i - s_f) * (1 - p) ** 3

    raw = (t - t0) / (n * dt)
    p = clamp(raw)
    clamp_msg = ("Outside [t0, t0 + n*dt] clamp the progress to [0, 1], so the sparsity stays at s_i "
                 "before t0 and at s_f after the end.")
    return [
        ("The exponent is 3 (cubic), not 2.", lambda: s_f + (s_i - s_f) * (1 - p) ** 2),
        ("The factor (1 - progress) is cubed: ** 3.", lambda: s_f + (s_i - s_f) * (1 - p)),
        ("Cube (1 - progress), not progress: (1 - (t - t0) / (n * dt)) ** 3.",
         lambda: s_f + (s_i - s_f) * (1 - p ** 3)),
        ("Cube, not cube root: (1 - progress) ** 3.", lambda: s_f + (s_i - s_f) * (1 - p) ** (1 / 3)),
        ("s_i and s_f are swapped: it is s_f + (s_i - s_f) * (...) ** 3, which starts at s_i and ends "
         "at s_f.", lambda: s_i + (s_f - s_i) * (1 - p) ** 3),
        ("The sign is +: s_f + (s_i - s_f) * (...) ** 3.", lambda: s_f - (s_i - s_f) * (1 - p) ** 3),
        ("s_i is missing: the schedule starts at s_i, s_f + (s_i - s_f) * (...) ** 3.",
         lambda: s_f - s_f * (1 - p) ** 3),
    ] + [
        (message, lambda progress=progress, c=c: formula(c(progress)))
        for message, progress in [
            ("You must subtract t0: progress is (t - t0) / (n * dt).", t / (n * dt)),
            ("Divide by n * dt (the schedule spans n pruning steps of dt training steps each), not by n.",
             (t - t0) / n),
            ("`(t - t0) / n * dt` multiplies by dt: write (t - t0) / (n * dt).", (t - t0) / n * dt),
            ("`//` is floor division: the progress jumps from 0 to 1. Use (t - t0) / (n * dt).",
             (t - t0) // (n * dt)),
        ]
        for c in (clamp, lambda x: x)  # with the clamp, and without it too
    ] + [
        (clamp_msg, lambda: formula(raw)),
        ("After the end the progress must stop at 1: min(progress, 1.0), so the sparsity stays at s_f.",
         lambda: formula(max(raw, 0.0))),
        ("Before t0 the progress must stay at 0: max(progress, 0.0), so the sparsity stays at s_i.",
         lambda: formula(min(raw, 1.0))),
        ("Clamp the progress to [0, 1], not the sparsity to [0, 1].", lambda: clamp(formula(raw))),
        ("That is the density 1 - s_t; return the sparsity s_t.", lambda: 1 - formula(p)),
    ] + [(f"You rounded the result to {d} decimals; return it unrounded.", lambda d=d: round(formula(p), d))
         for d in (1, 2, 3, 4)]


def check_cubic_sparsity(fn: Callable) -> None:
    """``fn(t, s_i, s_f, t0, n, dt)``: [ZG] ``s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3``, clamped outside."""
    cases = _cubic_cases()
    results: list[float] = []
    for args in cases:
        try:
            got = call_unchanged(fn, *args, exercise="cubic_sparsity")
        except CheckFailed:
            if any(not math.isclose(g, ref.cubic_sparsity(*a), abs_tol=1e-6) for g, a in zip(results, cases)):
                break
            raise
        if isinstance(got, torch.Tensor):
            fail(f"cubic_sparsity{args} returned a tensor of shape {tuple(got.shape)}; return a Python "
                 "float (use Python numbers, min/max, or .item()).")
        results.append(as_float(got, f"cubic_sparsity{args}"))
    wrong = [i for i, (g, a) in enumerate(zip(results, cases))
             if not math.isclose(g, ref.cubic_sparsity(*a), abs_tol=1e-6)]
    if not wrong:
        passed(f"cubic_sparsity follows Zhu & Gupta's schedule on {len(cases)} points, clamped at both ends.")
        return
    i = wrong[0]
    shown = mismatch("cubic_sparsity", ", ".join(map(str, cases[i])), round(ref.cubic_sparsity(*cases[i]), 6),
                     round(results[i], 6))
    tables = [_cubic_mistakes(*a) for a in cases[: len(results)]]
    for j, (message, _) in enumerate(tables[0]):
        def value(k):
            try:
                return tables[k][j][1]()
            except (ZeroDivisionError, ValueError, TypeError, OverflowError):
                return None
        if all(value(k) is not None and math.isclose(results[k], value(k), abs_tol=1e-6)
               for k in range(len(results))):
            fail(f"{shown}\n{message}")
    t, s_i, s_f, t0, n, dt = cases[i]
    if not t0 <= t <= t0 + n * dt:
        fail(f"{shown}\nOutside [t0, t0 + n*dt] clamp the progress to [0, 1], so the sparsity stays at "
             "s_i before t0 and at s_f after the end.")
    fail(f"{shown}\nThe schedule is s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt)) ** 3.")
