"""The checks of notebook 08 pass right answers and name the typical wrong ones."""

from __future__ import annotations

import itertools
import statistics
import time

import pytest
import torch
from torch import nn

from course_lib import latency, scaling, slimmable, structured
from course_lib.course.checks.structure import (check_compound_candidates, check_remove_units, check_slice_weights,
                                                 check_time_inference, check_units_to_keep)

from check_helpers import fails, passes


def stub(*args, **kwargs):
    raise NotImplementedError("not solved yet")


# --------------------------------------------------------------------------- time_inference


def timer(*, warm=True, grad=False, stat=statistics.median, unit=1, clock=time.perf_counter, time_warmup=False,
          other_input=False, extra_calls=0):
    def time_inference(model, x, warmup=10, repeats=50):
        ctx = torch.enable_grad() if grad else torch.inference_mode()
        with ctx:
            times = []
            for _ in range(warmup if warm else 0):
                start = clock()
                model(x)
                if time_warmup:
                    times.append(clock() - start)
            for _ in range(repeats + extra_calls):
                start = clock()
                model(x.clone() if other_input else x)
                times.append(clock() - start)
        return stat(times) * unit
    return time_inference


def test_time_inference_right_answers(capsys):
    passes(check_time_inference, latency.time_inference, capsys)
    passes(check_time_inference, timer(), capsys)

    def no_grad_sorted(model, x, warmup=10, repeats=50):  # torch.no_grad and a sorted middle element
        with torch.no_grad():
            for _ in range(warmup):
                model(x)
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - t)
        return sorted(times)[len(times) // 2]

    passes(check_time_inference, no_grad_sorted, capsys)
    passes(check_time_inference, timer(stat=lambda t: float(torch.tensor(t).median())), capsys)


def test_time_inference_mistakes():
    fails(check_time_inference, stub, "not solved yet")
    fails(check_time_inference, timer(warm=False), "no warm-up")
    fails(check_time_inference, timer(grad=True), "autograd was on", "torch.inference_mode()")
    fails(check_time_inference, timer(stat=statistics.mean), "mean", "median")
    fails(check_time_inference, timer(stat=min), "fastest call")
    fails(check_time_inference, timer(stat=sum), "total")
    fails(check_time_inference, timer(unit=1e3), "milliseconds")
    fails(check_time_inference, timer(clock=time.process_time), "close to 0", "perf_counter")
    fails(check_time_inference, timer(time_warmup=True), "warm-up calls are in your statistics")
    fails(check_time_inference, timer(other_input=True), "another input")
    fails(check_time_inference, timer(extra_calls=1), "called the model 9 times")
    fails(check_time_inference, timer(stat=lambda t: torch.tensor(statistics.median(t))), "tensor")
    fails(check_time_inference, timer(stat=lambda t: t), "return one number")

    def one_block(model, x, warmup=10, repeats=50):  # a single timer around the loop: the mean
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            start = time.perf_counter()
            for _ in range(repeats):
                model(x)
        return (time.perf_counter() - start) / repeats

    fails(check_time_inference, one_block, "mean of the timed calls")


# --------------------------------------------------------------------------- units_to_keep


def keeper(*, scores=lambda w: w.flatten(1).norm(dim=1), count=round, smallest=False, as_kept=True,
           sort=True, mask=False, raise_all=True, high_ties=False, dtype=torch.long, cols=False):
    def units_to_keep(weight, amount):
        s = scores(weight.transpose(0, 1) if cols else weight)
        n = s.numel()
        removed = count(amount * n)
        if raise_all and removed >= n:
            raise ValueError("would remove every unit")
        key = s if smallest else -s
        order = torch.sort(key.flip(0) if high_ties else key, stable=True).indices
        if high_ties:
            order = n - 1 - order
        kept = order[: n - removed] if as_kept else order[n - removed:]
        if sort:
            kept = kept.sort().values
        if mask:
            m = torch.zeros(n, dtype=torch.bool)
            m[kept] = True
            return m
        return kept.to(dtype)
    return units_to_keep


def test_units_to_keep_right_answers(capsys):
    passes(check_units_to_keep, structured.units_to_keep, capsys)
    passes(check_units_to_keep, keeper(), capsys)
    passes(check_units_to_keep, keeper(scores=lambda w: (w.flatten(1) ** 2).sum(1)), capsys)  # squared: same order
    passes(check_units_to_keep, keeper(dtype=torch.int32), capsys)

    def loops(weight, amount):
        n = weight.shape[0]
        norms = [float(weight[i].pow(2).sum().sqrt()) for i in range(n)]
        removed = round(amount * n)
        if removed >= n:
            raise ValueError("no units left")
        ranked = sorted(range(n), key=lambda i: (-norms[i], i))
        return torch.tensor(sorted(ranked[: n - removed]))

    passes(check_units_to_keep, loops, capsys)


def test_units_to_keep_mistakes():
    fails(check_units_to_keep, stub, "not solved yet")
    fails(check_units_to_keep, keeper(cols=True), "wrong dimension")
    fails(check_units_to_keep, keeper(smallest=True), "smallest norms")
    fails(check_units_to_keep, keeper(scores=lambda w: w.flatten(1).abs().sum(1)), "L1 norm")
    fails(check_units_to_keep, keeper(scores=lambda w: w.flatten(1).abs().amax(1)), "largest |w|")
    fails(check_units_to_keep, keeper(scores=lambda w: w.flatten(1).sum(1)), "signs")
    fails(check_units_to_keep, keeper(count=int), "rounded down")
    fails(check_units_to_keep, keeper(count=lambda v: round(v), as_kept=False), "removed units")
    fails(check_units_to_keep, keeper(sort=False), "ascending order")
    fails(check_units_to_keep, keeper(mask=True), "bool mask")
    fails(check_units_to_keep, keeper(dtype=torch.float32), "dtype torch.float32")
    fails(check_units_to_keep, keeper(high_ties=True), "tie")
    fails(check_units_to_keep, keeper(raise_all=False), "raise ValueError")

    def amount_kept(weight, amount):  # amount read as the fraction kept
        return keeper()(weight, 1 - amount) if amount not in (0.0,) else torch.arange(0)

    fails(check_units_to_keep, amount_kept, "fraction to remove")

    def conv_dim1(weight, amount):  # a conv's norm over its input channels only
        s = weight.transpose(0, 1).flatten(1).norm(dim=1) if weight.dim() == 4 else weight.norm(dim=1)
        n = weight.shape[0]
        removed = round(amount * s.numel())
        if round(amount * n) >= n:
            raise ValueError("all")
        return torch.sort(-s, stable=True).indices[: s.numel() - removed].sort().values

    fails(check_units_to_keep, conv_dim1, "wrong dimension", "input channel")

    def zeroes(weight, amount):  # edits the caller's weight
        kept = keeper()(weight, amount)
        with torch.no_grad():
            weight.zero_()
        return kept

    fails(check_units_to_keep, zeroes, "changed its argument `weight` in place")


# --------------------------------------------------------------------------- remove_units


def remover(*, next_cols=True, next_rows=False, layer_cols=False, bias=True, next_bias_cut=False, attrs=True,
            settings=True, first_k=False, plain=False, in_place=False):
    def rebuilt(old, weight, b, in_n, out_n):
        if isinstance(old, nn.Linear):
            new = nn.Linear(in_n if attrs else old.in_features, out_n if attrs else old.out_features)
        else:
            kw = dict(stride=old.stride, padding=old.padding) if settings else {}
            new = nn.Conv2d(in_n if attrs else old.in_channels, out_n if attrs else old.out_channels,
                            old.kernel_size, **kw)
        new.weight = nn.Parameter(weight.clone()) if not plain else weight.clone()
        new.bias = nn.Parameter(b.clone())
        return new

    def remove_units(layer, next_layer, keep):
        k = keep.numel()
        idx = torch.arange(k) if first_k else keep
        w = layer.weight.detach()
        lw = w[:, idx] if layer_cols else w[idx]
        lb = layer.bias.detach()[idx] if bias else layer.bias.detach()
        w2 = next_layer.weight.detach()
        nw = w2[idx] if next_rows else (w2[:, idx] if next_cols else w2)
        nb = next_layer.bias.detach()[idx] if next_bias_cut else next_layer.bias.detach()
        new = rebuilt(layer, lw, lb, lw.shape[1], lw.shape[0])
        new_next = rebuilt(next_layer, nw, nb, nw.shape[1], nw.shape[0])
        if in_place:
            layer.weight = nn.Parameter(lw.clone())
        return new, new_next

    return remove_units


def test_remove_units_right_answers(capsys):
    passes(check_remove_units, structured.remove_units, capsys)
    passes(check_remove_units, remover(), capsys)

    def via_deepcopy(layer, next_layer, keep):  # copy, then set weights and sizes
        import copy

        new, new_next = copy.deepcopy(layer), copy.deepcopy(next_layer)
        new.weight = nn.Parameter(layer.weight.detach()[keep].clone())
        new.bias = nn.Parameter(layer.bias.detach()[keep].clone())
        new_next.weight = nn.Parameter(next_layer.weight.detach()[:, keep].clone())
        if isinstance(new, nn.Linear):
            new.out_features, new_next.in_features = keep.numel(), keep.numel()
        else:
            new.out_channels, new_next.in_channels = keep.numel(), keep.numel()
        return new, new_next

    passes(check_remove_units, via_deepcopy, capsys)


def test_remove_units_mistakes():
    fails(check_remove_units, stub, "not solved yet")
    fails(check_remove_units, remover(next_cols=False), "still takes all", "next_layer.weight[:, keep]")
    fails(check_remove_units, remover(next_rows=True), "lost outputs", "columns")
    fails(check_remove_units, remover(layer_cols=True), "lost inputs", "layer.weight[keep]")
    fails(check_remove_units, remover(bias=False), "bias[keep]")
    fails(check_remove_units, remover(next_bias_cut=True), "next layer's bias")
    fails(check_remove_units, remover(attrs=False), "says it has")
    fails(check_remove_units, remover(settings=False), "padding")
    fails(check_remove_units, remover(first_k=True), "first 3 rows")
    fails(check_remove_units, remover(plain=True), "nn.Parameter")
    fails(check_remove_units, remover(in_place=True), "changed its argument `layer` in place")
    fails(check_remove_units, lambda layer, nxt, keep: None, "returned None")
    fails(check_remove_units, lambda layer, nxt, keep: (layer, nxt), "original layers")
    fails(check_remove_units, lambda layer, nxt, keep: remover()(layer, nxt, keep)[0], "pair")


# --------------------------------------------------------------------------- slice_weights


def slicer(*, swap=False, last=False, bias_in=False, bias_whole=False, detach=False, twice=False, no_in=False,
           bias_none_always=False):
    def slice_weights(weight, bias, in_units, out_units):
        o, i = (in_units, out_units) if swap else (out_units, in_units)
        if twice:
            w = weight[:o][:i]
        elif last:
            w = weight[-o:, -i:]
        elif no_in:
            w = weight[:o]
        else:
            w = weight[:o, :i]
        if detach:
            w = w.detach()
        if bias is None or bias_none_always:
            return w, None
        b = bias if bias_whole else bias[:in_units] if bias_in else bias[:out_units]
        return w, b
    return slice_weights


def test_slice_weights_right_answers(capsys):
    passes(check_slice_weights, slimmable.slice_weights, capsys)
    passes(check_slice_weights, slicer(), capsys)
    passes(check_slice_weights, lambda w, b, i, o: (w.narrow(0, 0, o).narrow(1, 0, i), None if b is None else b[:o]),
           capsys)
    passes(check_slice_weights, lambda w, b, i, o: (w[:o, :i].clone(), None if b is None else b[:o].clone()), capsys)


def test_slice_weights_mistakes():
    fails(check_slice_weights, stub, "not solved yet")
    fails(check_slice_weights, slicer(swap=True), "wrong axis")
    fails(check_slice_weights, slicer(last=True), "last units")
    fails(check_slice_weights, slicer(bias_in=True), "belongs to the outputs")
    fails(check_slice_weights, slicer(bias_whole=True), "bias[:out_units]")
    fails(check_slice_weights, slicer(detach=True), "cut off")
    fails(check_slice_weights, slicer(twice=True), "rows twice")
    fails(check_slice_weights, slicer(no_in=True), "inputs are not sliced")
    fails(check_slice_weights, slicer(bias_none_always=True), "returned None for the bias")
    fails(check_slice_weights, lambda w, b, i, o: (torch.tensor(w[:o, :i].tolist()), None if b is None else b[:o]),
          "cut off")
    fails(check_slice_weights, lambda w, b, i, o: w[:o, :i], "pair")


# --------------------------------------------------------------------------- compound_candidates


def candidates(*, factor=lambda a, b, g: a * b**2 * g**2, least=lambda a, b, g: min(a, b, g) >= 1,
               fits=lambda off, tol: off <= tol, ignore_target=False, as_type=tuple, dup=False):
    def compound_candidates(alphas, betas, gammas, target=2.0, tolerance=0.1):
        t = 2.0 if ignore_target else target
        out = [as_type((a, b, g)) for a, b, g in itertools.product(alphas, betas, gammas)
               if least(a, b, g) and fits(abs(factor(a, b, g) - t), tolerance)]
        return out + out[:1] if dup else out
    return compound_candidates


def test_compound_candidates_right_answers(capsys):
    passes(check_compound_candidates, scaling.compound_candidates, capsys)
    passes(check_compound_candidates, candidates(), capsys)
    passes(check_compound_candidates, candidates(as_type=list), capsys)
    passes(check_compound_candidates, lambda *a, **k: sorted(candidates()(*a, **k), reverse=True), capsys)


def test_compound_candidates_mistakes():
    fails(check_compound_candidates, stub, "not solved yet")
    fails(check_compound_candidates, candidates(factor=lambda a, b, g: a * b * g), "alpha * beta * gamma",
          "breaks" if False else "square")
    fails(check_compound_candidates, candidates(factor=lambda a, b, g: a * b**2 * g), "gamma is not squared")
    fails(check_compound_candidates, candidates(factor=lambda a, b, g: a * b * g**2), "beta is not squared")
    fails(check_compound_candidates, candidates(factor=lambda a, b, g: (a * b * g) ** 2), "alpha is squared too")
    fails(check_compound_candidates, candidates(least=lambda a, b, g: True), "below 1")
    fails(check_compound_candidates, candidates(least=lambda a, b, g: min(a, b, g) > 1), "equal to 1")
    fails(check_compound_candidates, candidates(fits=lambda off, tol: off < tol), "strict")
    fails(check_compound_candidates, candidates(ignore_target=True), "breaks the FLOPs constraint")
    fails(check_compound_candidates, candidates(dup=True), "twice")
    fails(check_compound_candidates, lambda *a, **k: tuple(candidates()(*a, **k)), "list")
    fails(check_compound_candidates, lambda *a, **k: None, "returned None")


def test_the_messages_fit_the_screen():
    for check, fn in ((check_units_to_keep, keeper(cols=True)), (check_remove_units, remover(next_cols=False)),
                      (check_slice_weights, slicer(swap=True)),
                      (check_compound_candidates, candidates(factor=lambda a, b, g: a * b * g))):
        message = fails(check, fn)
        assert len(message.splitlines()) <= 8, message


@pytest.mark.parametrize("check", [check_time_inference, check_units_to_keep, check_remove_units,
                                   check_slice_weights, check_compound_candidates])
def test_passing_something_that_is_not_a_function_is_refused(check):
    from course_lib.course.checks.core import CheckInputError

    with pytest.raises(CheckInputError):
        check(42)
