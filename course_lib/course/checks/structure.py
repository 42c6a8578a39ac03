"""Checks for notebook 08: latency, structured pruning, slimmable slices, compound coefficients.

- :func:`check_time_inference`: the model handed over is a scripted one that sleeps a known time
  per call and records how it was called, so the check sees a missing warm-up (too few calls),
  autograd left on (``torch.is_grad_enabled()`` inside the call), another input than ``x``, and
  which statistic came back (median, mean, minimum, total, milliseconds, the warm-up timed too).
- :func:`check_units_to_keep`: importance over the wrong dimension (columns, input channels),
  L1 / max / signed sums instead of the L2 norm, the smallest kept, ``amount`` read as the
  fraction kept, ``int`` instead of ``round``, ties, unsorted indices, a mask for indices, and
  the amount that would remove every unit (must raise ``ValueError``).
- :func:`check_remove_units`: the next layer's inputs not removed (or its outputs removed
  instead), the layer's inputs cut instead of its outputs, biases, attributes that disagree
  with the weights, conv settings lost, plain tensors instead of parameters, originals changed.
- :func:`check_slice_weights`: the wrong axis, the last units instead of the first, biases,
  ``w[:out][:in]``, and slices cut off from the shared weight (no gradient reaches it).
- :func:`check_compound_candidates`: coefficients that break the FLOPs constraint (no
  squares, a missing square, all squared), values below 1, strict tolerance, a hard-coded
  target, duplicates.

Every call goes through :func:`core.call_unchanged`; answers are coerced (:func:`core.as_float`,
:func:`core.as_tensor`) before they are compared with the reference in the library.
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Any, Callable

import torch
from torch import nn

from ... import scaling as ref_scaling
from ... import structured as ref
from .core import as_float, as_tensor, call, call_unchanged, fail, mismatch, passed

# --------------------------------------------------------------------------- time_inference


class _Scripted(nn.Module):
    """A stand-in model: each call sleeps a scripted time and records how it was called."""

    def __init__(self, durations: list[float], x: torch.Tensor):
        super().__init__()
        self.p = nn.Parameter(torch.ones(()))
        self.durations = list(durations)
        self.expected_x = x
        self.calls = 0
        self.grad_calls = 0
        self.other_input = False
        self.elapsed: list[float] = []  # what each call really took: a loaded machine oversleeps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        i = self.calls
        self.calls += 1
        if torch.is_grad_enabled():
            self.grad_calls += 1
        if x is not self.expected_x:
            self.other_input = True
        start = time.perf_counter()
        time.sleep(self.durations[min(i, len(self.durations) - 1)])
        self.elapsed.append(time.perf_counter() - start)
        return x * self.p

    def __deepcopy__(self, memo):  # call_unchanged keeps a pristine copy: same weights, same script
        twin = _Scripted(self.durations, self.expected_x)
        twin.p = nn.Parameter(self.p.detach().clone())
        return twin


_WARM = 0.050  # seconds a warm-up call takes (cold caches, first allocation)
_TIMED = [0.080, 0.020, 0.010, 0.080, 0.020]  # the timed calls: median 20 ms, mean 42 ms, minimum 10 ms


def _statistics(warm: list[float], timed: list[float]) -> dict[str, float]:
    everything = warm + timed
    ordered = sorted(timed)
    return {
        "median": ordered[len(ordered) // 2],
        "mean": sum(timed) / len(timed),
        "minimum": min(timed),
        "maximum": max(timed),
        "total": sum(timed),
        "median of every call": sorted(everything)[len(everything) // 2] if len(everything) % 2 else
        (sorted(everything)[len(everything) // 2 - 1] + sorted(everything)[len(everything) // 2]) / 2,
    }


_STAT_HINTS = {
    "mean": "that is the mean of the timed calls. Return their median (statistics.median(times)): "
            "a few slow calls, which a shared machine always has, pull a mean up",
    "minimum": "that is the fastest call, not the median. Return statistics.median(times)",
    "maximum": "that is the slowest call, not the median. Return statistics.median(times)",
    "total": "that is the total of all timed calls. Return the median time of one call",
    "median of every call": "the warm-up calls are in your statistics. Time only the calls after the "
                            "warm-up: run `warmup` calls first, untimed",
}


def _diagnose_time(got: float, stats: dict[str, float]) -> str | None:
    if got <= 0.002:
        return ("the time is close to 0, though every call sleeps at least 10 ms. Measure wall-clock time "
                "around each call with time.perf_counter() (time.process_time() counts CPU time only)")
    for scale, unit in ((1e3, "milliseconds"), (1e6, "microseconds")):
        if abs(got / scale - stats["median"]) <= 0.25 * stats["median"]:
            return f"that is the median in {unit}. Return seconds (time.perf_counter() counts seconds)"
    best = min(stats, key=lambda k: abs(math.log(got / stats[k])))
    if best != "median" and abs(math.log(got / stats[best])) < 0.2:
        return _STAT_HINTS[best]
    return None


def check_time_inference(fn: Callable[..., float]) -> None:
    """``fn(model, x, warmup, repeats)``: median seconds of ``model(x)`` after ``warmup`` untimed calls."""
    x = torch.randn(2, 3)
    for warmup, timed in ((3, _TIMED), (0, [0.020])):
        repeats = len(timed)
        model = _Scripted([_WARM] * warmup + timed, x)
        shown = f"time_inference(model, x, warmup={warmup}, repeats={repeats})"
        got = call_unchanged(fn, model, x, warmup, repeats, exercise="time_inference")
        if model.grad_calls:
            fail(f"{shown}: autograd was on in {model.grad_calls} of the {model.calls} calls. Call the model inside "
                 "`with torch.inference_mode():` (inference never runs backward, and recording the graph "
                 "for it costs time).")
        if model.other_input:
            fail(f"{shown}: the model was called on another input than x. Time model(x) itself.")
        if model.calls != warmup + repeats:
            if warmup and model.calls == repeats:
                fail(f"{shown} called the model {repeats} times: no warm-up. Run `warmup` untimed calls "
                     "first (the first calls pay one-off costs: allocation, cold caches), then `repeats` "
                     "timed ones.")
            fail(f"{shown} called the model {model.calls} times; expected {warmup} untimed warm-up calls, then "
                 f"{repeats} timed ones ({warmup + repeats} in all).")
        if isinstance(got, (list, tuple)):
            fail(f"{shown} returned a {type(got).__name__}; return one number, the median in seconds.")
        got = as_float(got, f"{shown}: the result")
        # The statistics of what the calls really took (a loaded machine wakes a sleeper late, never
        # early), so a late wake-up cannot make one statistic look like another.
        stats = _statistics(model.elapsed[:warmup], model.elapsed[warmup:])
        want = stats["median"]
        if not 0.9 * want <= got <= want + 0.010:
            why = _diagnose_time(got, stats) if warmup else None
            calls = ", ".join(f"{1e3 * d:.0f}" for d in model.elapsed[warmup:])
            detail = (f" The {repeats} timed calls took {calls} ms (after warm-up calls of about "
                      f"{1e3 * _WARM:.0f} ms each); their median is {1e3 * want:.0f} ms.")
            fail(f"{shown} returned {got:.4f} s: {why}." + detail if why else
                 f"{shown} returned {got:.4f} s; expected about {want:.3f} s.{detail}")
    real = nn.Linear(4, 3)
    got = as_float(call_unchanged(fn, real, torch.randn(8, 4), 2, 3, exercise="time_inference"),
                   "time_inference(nn.Linear(4, 3), x, 2, 3)")
    if not got > 0:
        fail(f"time_inference(nn.Linear(4, 3), x, 2, 3) returned {got}; a time is positive.")
    passed("time_inference warms up, turns autograd off and returns the median, in seconds.")


# --------------------------------------------------------------------------- units_to_keep


def _seeded(shape, seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _unit_cases() -> list[tuple[torch.Tensor, float]]:
    ties = torch.tensor([[3.0, 4.0], [0.0, 5.0], [5.0, 0.0], [1.0, 0.0], [-4.0, 3.0], [0.0, -5.0]])  # five norms of 5
    spiky = torch.zeros(5, 4)
    spiky[0, 0] = 3.0             # L2 3.00, L1 3.0, max 3
    spiky[1] = 1.4                # L2 2.80, L1 5.6, max 1.4
    spiky[2, :2] = 2.0            # L2 2.83, L1 4.0, max 2
    spiky[3] = torch.tensor([-2.0, -2.0, -2.0, 1.0])  # L2 3.6, L1 7, signed sum -5
    spiky[4, 3] = 0.5
    return [
        (spiky, 0.4),                         # remove 2 of 5
        (spiky, 0.6),                         # remove 3 of 5
        (ties, 0.5),                          # five rows of norm 5: the lower indices stay
        (_seeded((10, 7), 1), 0.38),          # 3.8 -> round removes 4 (int() would remove 3)
        (_seeded((6, 3, 2, 2), 2), 0.5),      # a Conv2d weight: the norm of each whole filter
        (_seeded((8, 8), 3), 0.25),           # square: rows and columns have the same count
        (_seeded((6, 10, 3, 3), 4), 1 / 3),   # conv with more input channels than filters
        (_seeded((4, 5), 5), 0.0),            # nothing removed: every unit stays
        (_seeded((300, 784), 6), 0.9),
    ]


def _keep_by(scores: torch.Tensor, removed: int, *, smallest: bool = False, high_ties: bool = False) -> torch.Tensor:
    n = scores.numel()
    s = scores if smallest else -scores
    if high_ties:
        order = torch.sort(s.flip(0), stable=True).indices
        order = n - 1 - order
    else:
        order = torch.sort(s, stable=True).indices
    return order[: n - removed].sort().values


def _unit_variants(w: torch.Tensor, amount: float) -> list[tuple[str, torch.Tensor]]:
    n = w.shape[0]
    flat = w.flatten(1)
    l2 = flat.norm(dim=1)
    removed = round(amount * n)
    out = []

    def add(message: str, fn: Callable[[], torch.Tensor]) -> None:
        try:
            out.append((message, fn()))
        except (RuntimeError, ValueError, IndexError):
            pass

    cols = w.transpose(0, 1).flatten(1).norm(dim=1)
    add("the importance is computed over the wrong dimension: one score per input "
        f"{'channel' if w.dim() == 4 else 'column'}. A unit is an output: a row of a Linear weight, a whole filter "
        "weight[i] of a Conv2d. Take the norm of weight.flatten(1) along dim=1",
        lambda: _keep_by(cols, round(amount * cols.numel())))
    add("you kept the units with the smallest norms; keep the largest", lambda: _keep_by(l2, removed, smallest=True))
    add("amount is the fraction to remove, not to keep", lambda: _keep_by(l2, n - removed))
    add("the count is rounded down (int(amount * n)); the rule is round(amount * n), as in "
        "torch.nn.utils.prune", lambda: _keep_by(l2, int(amount * n)))
    add("that is the L1 norm (sum of |w|); the criterion is the L2 norm, weight.flatten(1).norm(dim=1)",
        lambda: _keep_by(flat.abs().sum(1), removed))
    add("that ranks by the largest |w| of each unit; the criterion is the L2 norm of all its weights",
        lambda: _keep_by(flat.abs().amax(1), removed))
    add("the signs are not removed: a plain sum of weights lets negatives cancel. Use the L2 norm",
        lambda: _keep_by(flat.sum(1), removed))
    add("on a tie the unit with the higher index stays; keep the lower one (torch.sort(..., stable=True) "
        "on -scores keeps index order among equals)", lambda: _keep_by(l2, removed, high_ties=True))
    add("these are the indices of the removed units; return the kept ones",
        lambda: torch.tensor(sorted(set(range(n)) - set(_keep_by(l2, removed).tolist())), dtype=torch.long))
    return out


def _show_weight(w: torch.Tensor) -> str:
    return f"a weight of shape {tuple(w.shape)}"


def _as_indices(got: Any, shown: str, n: int) -> torch.Tensor:
    if isinstance(got, torch.Tensor) and got.dtype == torch.bool:
        fail(f"{shown} returned a bool mask; return the indices of the kept units (mask.nonzero().flatten()).")
    if isinstance(got, (list, tuple)):
        fail(f"{shown} returned a {type(got).__name__}; return a 1-D tensor of int64 indices.")
    got = as_tensor(got, f"{shown}: the result", kind="int")
    if got.dim() != 1:
        fail(f"{shown} returned a tensor of shape {tuple(got.shape)}; return a 1-D tensor of indices.")
    return got.long()


def check_units_to_keep(fn: Callable[..., torch.Tensor]) -> None:
    """``fn(weight, amount)``: sorted int64 indices of the units kept after removing ``round(amount * n)``
    units of smallest L2 norm (ties: the lower index stays); ``ValueError`` if none would stay."""
    for w, amount in _unit_cases():
        n = w.shape[0]
        shown = f"units_to_keep({_show_weight(w)}, amount={amount:g})"
        got = _as_indices(call_unchanged(fn, w.clone(), amount, exercise="units_to_keep"), shown, n)
        want = ref.units_to_keep(w, amount)
        if torch.equal(got, want):
            continue
        if got.numel() == want.numel() and torch.equal(got.sort().values, want):
            fail(f"{shown}: the right units, but not in ascending order. Return them sorted "
                 "(.sort().values): the next layer's columns must stay in their order.")
        for message, variant in _unit_variants(w, amount):
            if variant.shape == got.shape and torch.equal(variant, got):
                fail(f"{shown}: {message}.")
        fail(mismatch("units_to_keep", f"{_show_weight(w)}, {amount:g}", want, got)
             + f" (It keeps {got.numel()} of {n} units; expected {want.numel()}.)")
    for w, amount in ((_seeded((6, 4), 7), 1.0), (_seeded((6, 4), 8), 0.95)):
        shown = f"units_to_keep({_show_weight(w)}, amount={amount:g})"
        try:
            got = fn(w.clone(), amount)
        except ValueError:
            continue
        except NotImplementedError:
            call(fn, w, amount, exercise="units_to_keep")
        except Exception as exc:
            fail(f"{shown} raised {type(exc).__name__}: {exc}. It would remove all {w.shape[0]} units "
                 "(round(amount * n) = n): raise ValueError with a message saying so.")
        fail(f"{shown} returned {got!r:.60}; it would remove all {w.shape[0]} units (round(amount * n) = n). "
             "A layer without units computes nothing: raise ValueError saying so.")
    passed("units_to_keep ranks units by L2 norm, removes round(amount * n), keeps ties in order.")


# --------------------------------------------------------------------------- remove_units


def _layer_cases() -> list[tuple[nn.Module, nn.Module, torch.Tensor, torch.Tensor]]:
    torch.manual_seed(80)
    return [
        (nn.Linear(5, 4), nn.Linear(4, 6), torch.tensor([0, 2, 3]), torch.randn(3, 5)),
        (nn.Conv2d(2, 4, 3, padding=1), nn.Conv2d(4, 3, 3), torch.tensor([1, 3]), torch.randn(2, 2, 6, 6)),
        (nn.Linear(6, 5), nn.Linear(5, 2), torch.tensor([4]), torch.randn(2, 6)),
        (nn.Conv2d(1, 6, 3, stride=2), nn.Conv2d(6, 6, 1), torch.tensor([0, 1, 2, 5]), torch.randn(2, 1, 9, 9)),
    ]


def _kind(layer: nn.Module) -> str:
    if isinstance(layer, nn.Linear):
        return f"nn.Linear({layer.in_features}, {layer.out_features})"
    return f"nn.Conv2d({layer.in_channels}, {layer.out_channels}, {layer.kernel_size[0]})"


def _layer_attrs(layer: nn.Module) -> tuple[int, int]:
    if isinstance(layer, nn.Linear):
        return layer.in_features, layer.out_features
    return layer.in_channels, layer.out_channels


def _check_pair(shown: str, layer: nn.Module, nxt: nn.Module, keep: torch.Tensor, new: Any, new_next: Any) -> None:
    k = keep.numel()
    w, w2 = layer.weight.detach(), nxt.weight.detach()
    for what, got, like in (("the new layer", new, layer), ("the new next layer", new_next, nxt)):
        if not isinstance(got, type(like)):
            fail(f"{shown}: {what} is a {type(got).__name__}; return a new {type(like).__name__} "
                 f"(build one, e.g. nn.{type(like).__name__}(...), and copy the kept weights in).")
        if not isinstance(got.weight, nn.Parameter) or not got.weight.requires_grad:
            fail(f"{shown}: {what}'s weight is not a trainable nn.Parameter, so retraining cannot change it. "
                 "Build a new layer and copy the weights into it (with torch.no_grad(): new.weight.copy_(...)).")
    gw, gw2 = new.weight.detach(), new_next.weight.detach()
    if tuple(gw2.shape) == tuple(w2.shape):
        fail(f"{shown}: the next layer still takes all {w2.shape[1]} inputs, but only {k} units are left to feed "
             "it. Remove its inputs too: next_layer.weight[:, keep].")
    if tuple(gw2.shape[:2]) == (k, w2.shape[1]):
        fail(f"{shown}: the next layer lost outputs (rows of its weight) instead of inputs. Its inputs are the "
             "columns (input channels): next_layer.weight[:, keep].")
    if tuple(gw.shape[:2]) == (w.shape[0], k):
        fail(f"{shown}: the layer lost inputs (columns) instead of output units. A unit is a row (a filter): "
             "layer.weight[keep].")
    if tuple(gw.shape) != (k, *w.shape[1:]) or tuple(gw2.shape) != (w2.shape[0], k, *w2.shape[2:]):
        fail(f"{shown}: the weights have shapes {tuple(gw.shape)} and {tuple(gw2.shape)}; expected "
             f"{(k, *w.shape[1:])} and {(w2.shape[0], k, *w2.shape[2:])}.")
    if not torch.equal(gw, w[keep]):
        if torch.equal(gw, w[:k]):
            fail(f"{shown}: the layer keeps its first {k} rows, not the rows `keep` ({keep.tolist()}). "
                 "Index with keep: layer.weight[keep].")
        fail(f"{shown}: the layer's weight is not rows {keep.tolist()} of the original.")
    if not torch.equal(gw2, w2[:, keep]):
        fail(f"{shown}: the next layer's weight is not columns {keep.tolist()} of the original "
             f"(next_layer.weight[:, keep]).")
    if layer.bias is not None:
        if new.bias is None or new.bias.numel() != k:
            fail(f"{shown}: the layer's bias has {None if new.bias is None else new.bias.numel()} entries; its units "
                 f"are {k}: keep bias[keep] too.")
        if not torch.equal(new.bias.detach(), layer.bias.detach()[keep]):
            fail(f"{shown}: the layer's bias is not bias[keep] of the original.")
    if nxt.bias is not None:
        if new_next.bias is None or not torch.equal(new_next.bias.detach(), nxt.bias.detach()):
            fail(f"{shown}: the next layer's bias changed. It belongs to the next layer's outputs, which all stay: "
                 "copy it whole.")
    n_in, _ = _layer_attrs(layer)
    for what, got, want_in, want_out in (("the new layer", new, n_in, k),
                                         ("the new next layer", new_next, k, _layer_attrs(nxt)[1])):
        if _layer_attrs(got) != (want_in, want_out):
            fail(f"{shown}: {what} says it has {_layer_attrs(got)[0]} inputs and {_layer_attrs(got)[1]} outputs, "
                 f"but its weight has {want_in} and {want_out}. Build a new layer of the new size.")
    for what, got, like in (("the new layer", new, layer), ("the new next layer", new_next, nxt)):
        if isinstance(like, nn.Conv2d):
            for attr in ("kernel_size", "stride", "padding", "dilation"):
                if getattr(got, attr) != getattr(like, attr):
                    fail(f"{shown}: {what} has {attr} {getattr(got, attr)}; the original has {getattr(like, attr)}. "
                         f"Copy the conv's settings (nn.Conv2d(..., {attr}=layer.{attr})).")


def check_remove_units(fn: Callable[..., tuple]) -> None:
    """``fn(layer, next_layer, keep)`` -> ``(new_layer, new_next)``: rows ``keep`` of the layer (and its
    bias), columns ``keep`` of the next layer (its bias whole); the originals unchanged."""
    for layer, nxt, keep, x in _layer_cases():
        shown = f"remove_units({_kind(layer)}, {_kind(nxt)}, keep={keep.tolist()})"
        got = call_unchanged(fn, layer, nxt, keep.clone(), exercise="remove_units")
        if got is None:
            fail(f"{shown} returned None: add `return new_layer, new_next`.")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(f"{shown} returned {type(got).__name__}; return a pair (new_layer, new_next).")
        new, new_next = got
        if new is layer or new_next is nxt:
            fail(f"{shown} returned one of the original layers; build new ones and leave the originals alone.")
        _check_pair(shown, layer, nxt, keep, new, new_next)
        ref_new, ref_next = ref.remove_units(layer, nxt, keep)
        with torch.no_grad():
            want = ref_next(torch.relu(ref_new(x)))
            got_out = new_next(torch.relu(new(x)))
        if got_out.shape != want.shape or not torch.allclose(got_out, want, atol=1e-5):
            fail(f"{shown}: the new pair computes something else than the original pair with the removed units "
                 "switched off.")
    passed("remove_units keeps rows `keep` of the layer and columns `keep` of the next one.")


# --------------------------------------------------------------------------- slice_weights


def _slice_cases():
    return [
        ((6, 5), True, 3, 4),
        ((5, 4, 3, 3), True, 2, 3),
        ((4, 4), False, 1, 3),
        ((3, 7), True, 7, 3),
        ((7, 3), True, 2, 2),
    ]


def check_slice_weights(fn: Callable[..., tuple]) -> None:
    """``fn(weight, bias, in_units, out_units)`` -> ``(weight[:out_units, :in_units], bias[:out_units])``,
    slices through which gradients reach the shared weights; ``None`` for a missing bias."""
    for seed, (shape, has_bias, n_in, n_out) in enumerate(_slice_cases()):
        weight = _seeded(shape, 90 + seed).requires_grad_()
        bias = _seeded((shape[0],), 95 + seed).requires_grad_() if has_bias else None
        shown = (f"slice_weights(weight of shape {shape}, {'bias' if has_bias else 'None'}, in_units={n_in}, "
                 f"out_units={n_out})")
        got = call_unchanged(fn, weight, bias, n_in, n_out, exercise="slice_weights")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(f"{shown} returned {type(got).__name__}; return a pair (weight slice, bias slice).")
        gw, gb = got
        gw_t = as_tensor(gw, f"{shown}: the weight slice", kind="float", graph=True)
        want_shape = (n_out, n_in, *shape[2:])
        if tuple(gw_t.shape) != want_shape:
            s = tuple(gw_t.shape)
            if s[:2] == (n_in, n_out) or (len(s) >= 2 and s[0] == min(n_in, shape[0]) and s[1] == min(n_out, shape[1])
                                           and (n_in, n_out) != (n_out, n_in)):
                fail(f"{shown}: the slice has shape {s}: sliced on the wrong axis. A weight is "
                     "[out, in, ...]: outputs are rows (axis 0), inputs columns or input channels (axis 1): "
                     "weight[:out_units, :in_units].")
            if s[:2] == (min(n_out, n_in), shape[1]):
                fail(f"{shown}: the slice has shape {s}. weight[:out_units][:in_units] slices the rows twice; "
                     "index both axes in one bracket: weight[:out_units, :in_units].")
            if s[:2] == (n_out, shape[1]):
                fail(f"{shown}: the slice has shape {s}: the inputs are not sliced. The narrower layer before "
                     "produces only in_units inputs: weight[:out_units, :in_units].")
            if s[:2] == (shape[0], n_in):
                fail(f"{shown}: the slice has shape {s}: the outputs are not sliced: weight[:out_units, :in_units].")
            fail(f"{shown}: the weight slice has shape {s}; expected {want_shape}.")
        full = weight.detach()
        if not torch.equal(gw_t, full[:n_out, :n_in]):
            if torch.equal(gw_t, full[-n_out:, -n_in:]) or torch.equal(gw_t, full[-n_out:, :n_in]):
                fail(f"{shown}: those are the last units. A slimmable network uses the first k units of every layer "
                     "(the first k rows, the first inputs): weight[:out_units, :in_units].")
            fail(f"{shown}: the weight slice holds other values than weight[:out_units, :in_units].")
        if bias is None:
            if gb is not None:
                fail(f"{shown} returned a bias slice for a layer without bias; return None for it.")
        else:
            if gb is None:
                fail(f"{shown} returned None for the bias; return bias[:out_units].")
            gb_t = as_tensor(gb, f"{shown}: the bias slice", kind="float", graph=True)
            if gb_t.shape != (n_out,):
                if gb_t.shape == (n_in,):
                    fail(f"{shown}: the bias has {n_in} entries (in_units). A bias belongs to the outputs: "
                         "bias[:out_units].")
                fail(f"{shown}: the bias slice has shape {tuple(gb_t.shape)}; expected ({n_out},): bias[:out_units].")
            if not torch.equal(gb_t, bias.detach()[:n_out]):
                fail(f"{shown}: the bias slice is not bias[:out_units] (the first out_units entries).")
        # gradients must reach the shared weights, exactly in the sliced block
        if not isinstance(gw, torch.Tensor) or gw.grad_fn is None and gw is not weight:
            fail(f"{shown}: the weight slice is cut off from the shared weight (no autograd link: .detach(), .data, "
                 "torch.tensor(...) or a copy made without autograd), so training a narrow width cannot change "
                 "the weights the widths share. Slice the tensor itself: weight[:out_units, :in_units].")
        loss = gw.sum() + (gb.sum() if isinstance(gb, torch.Tensor) else 0)
        loss.backward()
        expect = torch.zeros(shape)
        expect[:n_out, :n_in] = 1
        if weight.grad is None or not torch.equal(weight.grad, expect):
            fail(f"{shown}: a gradient on the slice does not land on weight[:out_units, :in_units] of the shared "
                 "weight. Slice the tensor itself (a view), without detaching or copying it.")
        if bias is not None and (bias.grad is None or bias.grad[:n_out].ne(1).any()):
            fail(f"{shown}: a gradient on the bias slice does not reach the shared bias. Return bias[:out_units].")
    passed("slice_weights returns the first units of both axes, linked to the shared weights.")


# --------------------------------------------------------------------------- compound_candidates


def _compound_cases():
    return [
        (([1.0, 1.2, 1.4, 2.0], [1.0, 1.1, 1.2, 1.4], [1.0, 1.1, 1.2, 1.4]), {}),
        (([0.8, 1.0, 2.0], [1.0, 1.25, 1.5], [1.0, 1.25]), {"target": 2.0, "tolerance": 0.15}),
        (([1.5, 2.0, 2.5], [1.0], [1.0]), {"target": 2.0, "tolerance": 0.5}),  # both ends exactly at the tolerance
        (([1.0, 2.0, 4.0], [1.0, 2.0], [1.0, 2.0]), {"target": 4.0, "tolerance": 0.05}),
        (([1.0, 1.1], [0.9, 1.0], [1.0]), {"target": 2.0, "tolerance": 0.1}),  # nothing fits
    ]


def _compound_variant(grid, target, tolerance, *, factor=None, least=True, strict=False, positive=False,
                      relative=False):
    out = []
    for a, b, g in itertools.product(*grid):
        f = factor(a, b, g) if factor else a * b * b * g * g
        off = abs(f / target - 1) if relative else abs(f - target)
        fits = off < tolerance if strict else off <= tolerance
        big = (min(a, b, g) > 1) if positive else (min(a, b, g) >= 1)
        if fits and (big or not least):
            out.append((a, b, g))
    return out


_COMPOUND_SLIPS = [
    (dict(factor=lambda a, b, g: a * b * g), "you constrained alpha * beta * gamma. FLOPs grow with the square of "
     "width and of resolution (twice the channels means four times the multiply-adds of a conv): "
     "alpha * beta**2 * gamma**2"),
    (dict(factor=lambda a, b, g: a * b * b * g), "gamma is not squared. Resolution scales both sides of the image, "
     "so FLOPs grow with its square: alpha * beta**2 * gamma**2"),
    (dict(factor=lambda a, b, g: a * b * g * g), "beta is not squared. Width scales both the inputs and the outputs of "
     "a conv, so FLOPs grow with its square: alpha * beta**2 * gamma**2"),
    (dict(factor=lambda a, b, g: a * a * b * b * g * g), "alpha is squared too. FLOPs grow linearly with depth "
     "(twice the layers, twice the work): alpha * beta**2 * gamma**2"),
    (dict(least=False), "coefficients below 1 got in. [EN] requires alpha, beta, gamma >= 1: every dimension grows "
     "(or stays) as phi grows"),
    (dict(positive=True), "coefficients equal to 1 were left out. 1 is allowed (>= 1): that dimension is simply "
     "not scaled"),
    (dict(strict=True), "the tolerance is strict (<). A factor exactly `tolerance` away from the target fits "
     "(<= tolerance)"),
    (dict(relative=True), "the tolerance is relative (|f / target - 1|); it is absolute: "
     "|alpha * beta**2 * gamma**2 - target| <= tolerance"),
]


def _as_triples(got: Any, shown: str) -> list[tuple[float, float, float]]:
    if got is None:
        fail(f"{shown} returned None: add `return candidates`.")
    if not isinstance(got, list):
        fail(f"{shown} returned a {type(got).__name__}; return a list of (alpha, beta, gamma) tuples.")
    out = []
    for item in got:
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            fail(f"{shown}: the item {item!r:.40} is not an (alpha, beta, gamma) triple.")
        out.append(tuple(as_float(v, f"{shown}: a coefficient") for v in item))
    return out


def _fmt(triples) -> str:
    shown = ", ".join("(" + ", ".join(f"{v:g}" for v in t) + ")" for t in triples[:6])
    return "[" + shown + (", ..." if len(triples) > 6 else "") + "]"


def check_compound_candidates(fn: Callable[..., list]) -> None:
    """``fn(alphas, betas, gammas, target=2.0, tolerance=0.1)``: the grid points with all three >= 1 and
    ``|alpha * beta**2 * gamma**2 - target| <= tolerance``."""
    for grid, kwargs in _compound_cases():
        target, tolerance = kwargs.get("target", 2.0), kwargs.get("tolerance", 0.1)
        args = ", ".join(f"{list(g)}" for g in grid) + "".join(f", {k}={v}" for k, v in kwargs.items())
        shown = f"compound_candidates({args})"
        got = _as_triples(call_unchanged(fn, *[list(g) for g in grid], exercise="compound_candidates", **kwargs), shown)
        want = ref_scaling.compound_candidates(*grid, target=target, tolerance=tolerance)
        if len(set(got)) != len(got):
            fail(f"{shown} returned some triples twice; return each grid point once.")
        if sorted(got) == sorted(want):
            continue
        broken = [t for t in got if abs(ref_scaling.flops_factor(*t) - target) > tolerance + 1e-12]
        for slip, message in _COMPOUND_SLIPS:
            if sorted(_compound_variant(grid, target, tolerance, **slip)) == sorted(got):
                extra = ""
                if broken:
                    a, b, g = broken[0]
                    extra = (f" For example ({a:g}, {b:g}, {g:g}) has alpha * beta**2 * gamma**2 = "
                             f"{ref_scaling.flops_factor(a, b, g):.3g}, not within {tolerance:g} of {target:g}.")
                fail(f"{shown}: {message}.{extra}")
        if broken:
            a, b, g = broken[0]
            fail(f"{shown} returned ({a:g}, {b:g}, {g:g}), which breaks the FLOPs constraint: alpha * beta**2 * "
                 f"gamma**2 = {ref_scaling.flops_factor(a, b, g):.3g}, not within {tolerance:g} of {target:g}.")
        fail(mismatch("compound_candidates", args, _fmt(want), _fmt(got)))
    passed("compound_candidates keeps alpha, beta, gamma >= 1 with alpha*beta^2*gamma^2 near target.")
