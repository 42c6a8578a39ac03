"""Checks for notebook 07: CSR size, relative indices with fillers and their inverse ([DC] §2, Fig. 2).

The typical mistakes named: off-by-one gaps (storing the gap instead of gap - 1,
counting the first gap from 0 instead of -1), a missing filler, a single filler
where several are needed, a filler for a gap that fits, counting on from the last
real weight instead of from the filler; for CSR, ``rows`` instead of ``rows + 1``
row pointers and counting zeros as stored values.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ... import sparse_storage as ref
from .core import call, fail, passed

# --------------------------------------------------------------------------- CSR size


def _csr_cases() -> list[tuple[np.ndarray, tuple[int, int, int]]]:
    rng = np.random.default_rng(7)
    small = np.zeros((4, 10), dtype=np.float32)
    small[0, 1], small[2, 9], small[3, 0] = 0.5, -1.0, 2.0
    pruned = (rng.normal(size=(30, 78)) * (rng.random((30, 78)) < 0.1)).astype(np.float32)
    return [(small, (32, 32, 32)), (pruned, (32, 32, 32)), (pruned, (6, 7, 10)), (np.zeros((3, 5), np.float32), (32, 32, 32))]


def check_csr_bits(fn: Callable[..., int]) -> None:
    """``fn(weights, value_bits, index_bits, pointer_bits)``: bits of a matrix in CSR form."""
    for w, (vb, ib, pb) in _csr_cases():
        got = call(fn, w.copy(), vb, ib, pb, exercise="csr_bits")
        rows, cols = w.shape
        nnz = int(np.count_nonzero(w))
        want = ref.csr_bits(w, vb, ib, pb)
        shown = f"csr_bits(weights of shape {w.shape} with {nnz} non-zeros, value_bits={vb}, index_bits={ib}, pointer_bits={pb})"
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            if hasattr(got, "item") and getattr(got, "size", getattr(got, "numel", lambda: 0)) in (1,):
                fail(f"{shown} returned a {type(got).__name__}; return a plain int (use int(...)).")
            fail(f"{shown} returned {got!r}; return the number of bits as an int.")
        if got == want:
            continue
        if got == nnz * (vb + ib) + rows * pb:
            fail(f"{shown} = {got}: CSR stores rows + 1 row pointers (the last one marks the end of the last row), not rows.")
        if got == nnz * (vb + ib):
            fail(f"{shown} = {got}: the row pointers are missing: add (rows + 1) * pointer_bits.")
        if got == nnz * (vb + ib) + (cols + 1) * pb:
            fail(f"{shown} = {got}: that is CSC (one pointer per column). CSR has one pointer per row, plus one.")
        if got == w.size * (vb + ib) + (rows + 1) * pb:
            fail(f"{shown} = {got}: you stored every weight. CSR stores only the non-zeros: np.count_nonzero(weights).")
        if got * 8 == want or abs(got - want / 8) < 1:
            fail(f"{shown} = {got}: that is bytes. Return bits.")
        fail(f"{shown} = {got}, expected nnz * (value_bits + index_bits) + (rows + 1) * pointer_bits = {want}.")
    passed("csr_bits counts values and column indices of the non-zeros, plus rows + 1 row pointers.")


# --------------------------------------------------------------------------- relative indices


def _relative_cases() -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(70)
    cases = [
        ([1, 4, 6], 3),  # no filler: gaps 2, 3, 2
        ([0, 1, 2, 9], 3),  # a weight at position 0; a gap of exactly 2**3 = 8 fits
        ([1, 4, 15], 3),  # [DC] Fig. 2: gap 11 > 8 needs a filler
        ([2, 30], 3),  # gap 28 needs three fillers
        ([8], 3),  # gap 9 from the start: one filler
        ([], 4),
    ]
    random = np.flatnonzero(rng.random(3000) < 0.08)
    cases += [(random.tolist(), 5), (random[:200].tolist(), 2)]
    return [(np.asarray(p, dtype=np.int64), b) for p, b in cases]


def _as_pair(got: Any, shown: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(got, tuple) or len(got) != 2:
        fail(f"{shown} returned {type(got).__name__}; return a pair (stored, is_filler).")
    stored, filler = (np.asarray(x.detach().cpu() if hasattr(x, "detach") else x) for x in got)
    if stored.ndim != 1 or filler.ndim != 1:
        fail(f"{shown}: stored and is_filler must be 1-D arrays.")
    if stored.size and not np.issubdtype(stored.dtype, np.integer):
        fail(f"{shown}: stored has dtype {stored.dtype}; the index fields are integers.")
    return stored.astype(np.int64), filler


def _variant(positions: np.ndarray, bits: int, *, start: int = -1, minus: int = 1, threshold_ge: bool = False,
             fillers: str = "all", reduce_after_filler: bool = True) -> list[int]:
    """An encoder with one deliberate slip, to recognise the learner's mistake by its output."""
    span = 1 << bits
    out, prev = [], start
    for p in positions.tolist():
        gap = rest = p - prev
        n_fill = 0
        if fillers != "none":
            while (rest >= span) if threshold_ge else (rest > span):
                n_fill += 1
                rest -= span
                if fillers == "one":
                    break
        out += [span - minus] * n_fill
        out.append((rest if reduce_after_filler else gap) - minus)
        prev = p
    return out


def check_relative_indices(fn: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]) -> None:
    """``fn(positions, index_bits) -> (stored, is_filler)`` following [DC] Fig. 2 with gap - 1 fields."""
    for positions, bits in _relative_cases():
        shown = f"relative_indices({positions.tolist() if positions.size <= 6 else f'<{positions.size} positions>'}, {bits})"
        stored, filler = _as_pair(call(fn, positions.copy(), bits, exercise="relative_indices"), shown)
        want, want_filler = ref.relative_indices(positions, bits)
        span = 1 << bits
        if np.array_equal(stored, want):
            if filler.shape != want_filler.shape or filler.dtype != np.bool_:
                fail(f"{shown}: is_filler must be a boolean array with one flag per entry ({want.size}), got dtype {filler.dtype}, shape {filler.shape}.")
            if not np.array_equal(filler, want_filler):
                fail(f"{shown}: stored is right, but is_filler {filler.astype(int).tolist()[:12]} should be {want_filler.astype(int).tolist()[:12]}: True exactly at the filler entries.")
            continue
        got_list = stored.tolist()
        if positions.size and got_list == positions.tolist():
            fail(f"{shown} = {got_list[:8]}: these are the absolute positions. Store the differences between consecutive positions.")
        if got_list == _variant(positions, bits, minus=0):
            fail(f"{shown} = {got_list[:8]}: off by one. Store gap - 1, so that gaps 1..2**b fit in b bits (a stored {span - 1} means a gap of {span}).")
        if got_list == _variant(positions, bits, start=0):
            fail(f"{shown} = {got_list[:8]}: off by one at the start. The first gap counts from position -1 (a weight at position 0 has gap 1, stored 0), not from 0.")
        if got_list == _variant(positions, bits, start=0, minus=0):
            fail(f"{shown} = {got_list[:8]}: off by one: store gap - 1, and count the first gap from position -1.")
        if got_list == _variant(positions, bits, fillers="none"):
            fail(f"{shown} = {got_list[:8]}: a filler is missing. A gap larger than 2**{bits} = {span} does not fit in {bits} bits: insert a filler entry (stored {span - 1}, value 0) every {span} positions.")
        if got_list == _variant(positions, bits, fillers="one"):
            fail(f"{shown} = {got_list[:8]}: only one filler per gap. A gap of more than 2 * {span} needs several: use a while loop.")
        if got_list == _variant(positions, bits, threshold_ge=True):
            fail(f"{shown} = {got_list[:8]}: a filler where none is needed. A gap of exactly {span} fits (stored {span - 1}); insert fillers only while gap > {span}.")
        if got_list == _variant(positions, bits, reduce_after_filler=False):
            fail(f"{shown} = {got_list[:8]}: after a filler, count the rest of the gap from the filler's position (gap -= {span} per filler), not from the previous weight.")
        if stored.size and (stored.max() >= span or stored.min() < 0):
            bad = int(stored.max() if stored.max() >= span else stored.min())
            fail(f"{shown}: stored value {bad} does not fit in {bits} bits (0..{span - 1}). A gap larger than {span} needs a filler.")
        fail(f"{shown} = {got_list[:10]}, expected {want.tolist()[:10]}.")
    passed("relative_indices stores gap - 1 from position -1, with a filler each time a gap exceeds 2**index_bits.")


# --------------------------------------------------------------------------- inverse


def check_positions_from_relative(fn: Callable[[np.ndarray, int], np.ndarray]) -> None:
    """``fn(stored, index_bits)`` must return the position of every entry, fillers included."""
    for positions, bits in _relative_cases():
        stored, filler = ref.relative_indices(positions, bits)
        want = ref.positions_from_relative(stored, bits)
        shown = f"positions_from_relative({stored.tolist() if stored.size <= 6 else f'<{stored.size} entries>'}, {bits})"
        got = call(fn, stored.copy(), bits, exercise="positions_from_relative")
        got = np.asarray(got.detach().cpu() if hasattr(got, "detach") else got)
        if got.shape != want.shape:
            if got.shape == (int((~filler).sum()),):
                fail(f"{shown}: {got.size} positions for {want.size} entries. Return one position per entry, fillers included (the caller drops them).")
            fail(f"{shown}: returned shape {got.shape}, expected {want.shape}: one position per stored entry.")
        if np.array_equal(got, want):
            continue
        if np.array_equal(got, want + 1):
            fail(f"{shown}: every position is 1 too large. The running position starts at -1: positions = cumsum(stored + 1) - 1.")
        if np.array_equal(got, np.cumsum(stored)):
            fail(f"{shown}: off by one: a stored d means a gap of d + 1. positions = cumsum(stored + 1) - 1.")
        if np.array_equal(got, np.cumsum(stored) - 1):
            fail(f"{shown}: add 1 to every stored value (gap = d + 1) before summing: cumsum(stored + 1) - 1.")
        if np.array_equal(got, stored):
            fail(f"{shown}: the stored values are gaps, not positions. Add them up: np.cumsum.")
        fail(f"{shown} = {got.tolist()[:10]}, expected {want.tolist()[:10]}.")
    passed("positions_from_relative undoes relative_indices: positions = cumsum(stored + 1) - 1.")


# --------------------------------------------------------------------------- cheapest index bit-width


def _cheapest_cases() -> list[tuple[np.ndarray, int, list[int]]]:
    rng = np.random.default_rng(71)
    sparse = np.flatnonzero(rng.random(20000) < 0.08)  # ~8% kept, as fc layers in [DC] Table 2
    clustered = np.sort(np.concatenate([np.arange(100, 140), np.arange(3000, 3010), [9000]]))
    return [
        (np.array([1, 4, 15]), 4, [2, 3]),  # Fig. 2: 3 bits need one filler, 2 bits need four
        (sparse, 5, list(range(2, 9))),
        (sparse, 8, list(range(2, 9))),
        (clustered, 4, list(range(2, 9))),
        (np.arange(12), 4, [5, 3, 2]),  # a full layer: no fillers
        (np.array([0, 1, 6]), 1, [3, 2]),  # a tie: 3 entries * (1 + 3) = 4 entries * (1 + 2) -> 2 bits
    ]


def _fixed_bits(positions: np.ndarray, value_bits: int, b: int, filler_value_bits: bool = True, fillers: bool = True) -> int:
    stored, is_filler = ref.relative_indices(positions, b)
    n_fill = int(is_filler.sum()) if fillers else 0
    n_kept = int(positions.size)
    return n_kept * (value_bits + b) + n_fill * ((value_bits if filler_value_bits else 0) + b)


def check_cheapest_index_bits(fn: Callable[..., tuple[int, int]]) -> None:
    """``fn(positions, value_bits, candidates) -> (b, bits)``: the cheapest fixed-width index size."""
    for positions, vb, candidates in _cheapest_cases():
        shown = (f"cheapest_index_bits(<{positions.size} positions>, value_bits={vb}, candidates={candidates})"
                 if positions.size > 6 else f"cheapest_index_bits({positions.tolist()}, {vb}, {candidates})")
        got = call(fn, positions.copy(), vb, list(candidates), exercise="cheapest_index_bits")
        if not isinstance(got, tuple) or len(got) != 2:
            fail(f"{shown} returned {type(got).__name__}; return a pair (index_bits, total_bits).")
        b, total = got
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or isinstance(total, bool) or not isinstance(total, (int, np.integer)):
            fail(f"{shown} returned ({b!r}, {total!r}); both must be ints (use int(...)).")
        want_b, want_total = ref.cheapest_index_bits(positions, vb, candidates)
        if (b, total) == (want_b, want_total):
            continue
        if b not in candidates:
            fail(f"{shown}: {b} is not one of the candidates. Return the winning bit-width itself, not its position in the list.")
        costs = {c: _fixed_bits(positions, vb, c) for c in candidates}
        no_fill = {c: _fixed_bits(positions, vb, c, fillers=False) for c in candidates}
        cheap_fill = {c: _fixed_bits(positions, vb, c, filler_value_bits=False) for c in candidates}
        index_only = {c: ref.relative_indices(positions, c)[0].size * c for c in candidates}
        if total == no_fill.get(b) and total != costs[b]:
            fail(f"{shown} = ({b}, {total}): the fillers are not counted. Each filler is a stored entry too: count the entries of relative_indices(positions, b), fillers included.")
        if total == cheap_fill.get(b) and total != costs[b]:
            fail(f"{shown} = ({b}, {total}): a filler costs value_bits + b like any entry (its value 0 is stored), not only its b index bits.")
        if total == index_only.get(b) and total != costs[b]:
            fail(f"{shown} = ({b}, {total}): only the index bits are counted. Every entry stores a value too: entries * (value_bits + b).")
        if total == costs[b] and costs[b] == want_total:
            fail(f"{shown} = ({b}, {total}): a tie between several bit-widths. Pick the smallest one (compare (bits, b) pairs, or scan the candidates in increasing order with <).")
        if total == costs[b]:
            worst = max(costs, key=costs.get)
            if b == worst:
                fail(f"{shown} = ({b}, {total}): that is the most expensive bit-width. Take the minimum (min), not the maximum.")
            fail(f"{shown} = ({b}, {total}): {b} bits is not the cheapest; {want_b} bits need only {want_total}. Compare every candidate.")
        fail(f"{shown} = ({b}, {total}), expected ({want_b}, {want_total}): total = entries * (value_bits + b), entries counting the fillers.")
    passed("cheapest_index_bits counts kept weights and fillers at value_bits + b each, and picks the cheapest (smallest on ties).")


__all__ = ["check_csr_bits", "check_relative_indices", "check_positions_from_relative", "check_cheapest_index_bits"]
