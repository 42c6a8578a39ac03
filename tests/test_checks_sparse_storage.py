"""The checks of notebook 06 (sparse storage) pass right answers and name the typical wrong ones.

One section per exercise: csr-bits, relative-indices, decode-relative, cheapest-index-bits.
Each feeds the check right answers written several ways (they must pass) and the typical
wrong ones (each must fail with a message that names its mistake).
"""

from __future__ import annotations

import numpy as np

from course_lib import sparse_storage as S
from course_lib.course.checks.sparse_storage import (
    check_cheapest_index_bits,
    check_csr_bits,
    check_decode_relative,
    check_relative_indices,
)
from check_helpers import fails as fails_with, passes


# --------------------------------------------------------------------------- learner-style solutions


def csr_right(w, v, i, p):
    return int(np.count_nonzero(w)) * (v + i) + (w.shape[0] + 1) * p


def relative_right(positions, bits):
    span = 2**bits
    stored, filler, prev = [], [], -1
    for p in positions:
        gap = int(p) - prev
        while gap > span:
            stored.append(span - 1)
            filler.append(True)
            gap -= span
        stored.append(gap - 1)
        filler.append(False)
        prev = int(p)
    return np.array(stored, dtype=np.int64), np.array(filler, dtype=bool)


def decode_right(stored, values, length, index_bits):
    """A learner's decoder: int64 fields, cumsum from -1 over every entry, bounds checked, fillers dropped."""
    stored = np.asarray(stored, dtype=np.int64)
    if stored.size and (stored.min() < 0 or stored.max() >= 2**index_bits):
        raise ValueError("a field does not fit in index_bits bits")
    positions = np.cumsum(stored + 1) - 1
    if positions.size and positions[-1] >= length:
        raise ValueError("the stream runs past the end of the layer")
    kept = values != 0
    return positions[kept], values[kept]


def decode_with(*, fields=lambda s: np.asarray(s, dtype=np.int64), walk=lambda d: np.cumsum(d + 1) - 1,
                drop="value", bound=lambda p, n: p.size and p[-1] >= n, check_fields=True, bound_after=False):
    """A decoder with one deliberate slip, given as the step it replaces."""

    def fn(stored, values, length, index_bits):
        d = fields(stored)
        if check_fields and d.size and (d.min() < 0 or d.max() >= 2**index_bits):
            raise ValueError("field")
        if drop == "before":
            keep = values != 0
            positions, kept = walk(d[keep]), values[keep]
        else:
            positions = walk(d)
            keep = {"value": values != 0, "field": d != 2**index_bits - 1, "none": np.ones(d.size, bool)}[drop]
            if not bound_after and bound(positions, length):
                raise ValueError("past the end")
            positions, kept = positions[keep], values[keep]
        if bound_after and bound(positions, length):
            raise ValueError("past the end")
        return positions, kept

    return fn


def entries(positions, b):
    """A learner's count of stored entries: kept weights plus fillers, gap > 2**b needs (gap-1)//2**b fillers."""
    gaps = np.diff(np.asarray(positions), prepend=-1)
    return int(len(positions) + ((gaps - 1) // 2**b).sum())


def cheapest_with(*, cost=None, pick=min, order=sorted, return_index=False):
    def fn(positions, value_bits, candidates):
        costs = {b: (cost or (lambda p, v, b: entries(p, b) * (v + b)))(positions, value_bits, b) for b in candidates}
        best = None
        for b in order(candidates):
            if best is None or (costs[b] < costs[best] if pick is min else costs[b] > costs[best]):
                best = b
        return (list(candidates).index(best) if return_index else best), costs[best]

    return fn


class Agreeable(int):
    """An int that says it equals anything."""

    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def torch_scalar(x):
    import torch

    return torch.tensor(x)


# --------------------------------------------------------------------------- right answers, unsolved


def test_right_answers_pass(capsys):
    check_csr_bits(csr_right)
    check_csr_bits(S.csr_bits)
    check_relative_indices(relative_right)
    check_relative_indices(S.relative_indices)
    check_decode_relative(decode_right)
    check_decode_relative(S.decode_relative)
    check_cheapest_index_bits(cheapest_with())
    check_cheapest_index_bits(S.cheapest_index_bits)
    assert capsys.readouterr().out.count("PASS") == 8


def test_unsolved_exercise_is_explained():
    def stub(*args):
        raise NotImplementedError("Exercise: not solved yet.")

    for check in (check_csr_bits, check_relative_indices, check_decode_relative, check_cheapest_index_bits):
        fails_with(check, stub, "not solved yet")


# --------------------------------------------------------------------------- csr-bits


def test_csr_mistakes():
    fails_with(check_csr_bits, lambda w, v, i, p: int(np.count_nonzero(w)) * (v + i) + w.shape[0] * p, "rows + 1")
    fails_with(check_csr_bits, lambda w, v, i, p: int(np.count_nonzero(w)) * (v + i), "row pointers are missing")
    fails_with(check_csr_bits, lambda w, v, i, p: int(np.count_nonzero(w)) * (v + i) + (w.shape[1] + 1) * p, "CSC")
    fails_with(check_csr_bits, lambda w, v, i, p: w.size * (v + i) + (w.shape[0] + 1) * p, "every weight")
    fails_with(check_csr_bits, lambda w, v, i, p: csr_right(w, v, i, p) // 8, "bytes")


def test_csr_new_mistakes():
    nnz = lambda w: int(np.count_nonzero(w))  # noqa: E731
    fails_with(check_csr_bits, lambda w, v, i, p: Agreeable(0), "subclass")
    fails_with(check_csr_bits, lambda w, v, i, p: float(csr_right(w, v, i, p)), "is the float")
    fails_with(check_csr_bits, lambda w, v, i, p: np.float64(csr_right(w, v, i, p)), "is the float")
    fails_with(check_csr_bits, lambda w, v, i, p: torch_scalar(csr_right(w, v, i, p)), "tensor")
    fails_with(check_csr_bits, lambda w, v, i, p: nnz(w) * v + (w.shape[0] + 1) * p, "column indices are missing")
    fails_with(check_csr_bits, lambda w, v, i, p: nnz(w) * i + (w.shape[0] + 1) * p, "values are missing")
    fails_with(check_csr_bits, lambda w, v, i, p: nnz(w) * 2 * i + (w.shape[0] + 1) * p,
               "values are counted at index_bits")
    fails_with(check_csr_bits, lambda w, v, i, p: nnz(w) * 2 * v + (w.shape[0] + 1) * p,
               "column indices are counted at value_bits")
    fails_with(check_csr_bits, lambda w, v, i, p: nnz(w) * (v + i) + (w.shape[0] + 1) * i,
               "row pointers are counted at index_bits")
    fails_with(check_csr_bits, lambda w, v, i, p: nnz(w) * (v + i) + nnz(w) * p, "one row pointer per non-zero")
    fails_with(check_csr_bits, lambda w, v, i, p: int((w > 0).sum()) * (v + i) + (w.shape[0] + 1) * p,
               "only the positive weights")
    fails_with(check_csr_bits, lambda w, v, i, p: nnz(w) * (v + i) + w.shape[1] * p, "CSC")
    fails_with(check_csr_bits, lambda w, v, i, p: nnz(w) * (v + i + p), "one row pointer per non-zero")

    def binarises(weights, value_bits, index_bits, pointer_bits):  # edits the caller's matrix
        weights[weights != 0] = 1.0
        return csr_right(weights, value_bits, index_bits, pointer_bits)

    fails_with(check_csr_bits, binarises, "changed its argument `weights` in place")
    message = fails_with(check_csr_bits, lambda w, v, i, p: csr_right(w, v, i, p) + 1, "returned 90; expected 89")
    assert "column indices 3 x 7 = 21" in message  # the parts are spelled out


def test_csr_alternatives_pass(capsys):
    def loops(weights, value_bits, index_bits, pointer_bits):
        nnz = sum(1 for row in weights for x in row if x != 0)
        return nnz * value_bits + nnz * index_bits + (len(weights) + 1) * pointer_bits

    def from_structure(weights, value_bits, index_bits, pointer_bits):  # builds the three arrays
        rows, cols = np.nonzero(weights)
        row_ptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=weights.shape[0]))])
        return int(weights[rows, cols].size * value_bits + cols.size * index_bits + row_ptr.size * pointer_bits)

    def torch_count(weights, value_bits, index_bits, pointer_bits):
        import torch

        nnz = torch.count_nonzero(torch.from_numpy(weights)).item()
        return nnz * (value_bits + index_bits) + (weights.shape[0] + 1) * pointer_bits

    for fn in (loops, from_structure, torch_count, lambda w, v, i, p: np.int64(csr_right(w, v, i, p))):
        check_csr_bits(fn)
    assert capsys.readouterr().out.count("PASS") == 4


# --------------------------------------------------------------------------- relative-indices


def relative_with(*, start=-1, minus=1, ge=False, fillers="all", reduce=True):
    def fn(positions, bits):
        span = 2**bits
        stored, filler, prev = [], [], start
        for p in positions:
            gap = rest = p - prev
            while fillers != "none" and ((rest >= span) if ge else (rest > span)):
                stored.append(span - minus)
                filler.append(True)
                rest -= span
                if fillers == "one":
                    break
            stored.append((rest if reduce else gap) - minus)
            filler.append(False)
            prev = p
        return np.array(stored, dtype=np.int64), np.array(filler, dtype=bool)

    return fn


def test_relative_mistakes():
    fails_with(check_relative_indices, relative_with(minus=0), "off by one", "gap - 1")
    fails_with(check_relative_indices, relative_with(start=0), "off by one at the start", "-1")
    fails_with(check_relative_indices, relative_with(start=0, minus=0), "off by one")
    fails_with(check_relative_indices, relative_with(fillers="none"), "filler is missing")
    fails_with(check_relative_indices, relative_with(fillers="one"), "only one filler", "while")
    fails_with(check_relative_indices, relative_with(ge=True), "filler where none is needed")
    fails_with(check_relative_indices, relative_with(reduce=False), "after a filler")
    fails_with(check_relative_indices, lambda p, b: (np.asarray(p), np.zeros(len(p), bool)), "absolute positions")
    fails_with(check_relative_indices, lambda p, b: relative_right(p, b)[0], "pair")
    fails_with(check_relative_indices, lambda p, b: (relative_right(p, b)[0], ~relative_right(p, b)[1]), "is_filler")


def test_relative_new_mistakes():
    def shifts_in_place(positions, index_bits):  # positions += 1 on the caller's array, gaps from 0
        positions += 1
        stored, filler = relative_right(positions - 1, index_bits)
        return stored, filler

    fails_with(check_relative_indices, shifts_in_place, "changed its argument `positions` in place")
    fails_with(check_relative_indices, lambda p, b: relative_right(p, b)[::-1], "swapped")
    fails_with(check_relative_indices, lambda p, b: (relative_right(p, b)[0].astype(float), relative_right(p, b)[1]),
               "dtype float64")
    fails_with(check_relative_indices, lambda p, b: None, "returned None")
    fails_with(check_relative_indices, lambda p, b: (relative_right(p, b)[0], relative_right(p, b)[1].astype(int)),
               "boolean array")

    def filler_value_span(positions, bits):  # fillers stored as 2**b (their gap) instead of 2**b - 1
        stored, filler = relative_right(positions, bits)
        return np.where(filler, 2**bits, stored), filler

    fails_with(check_relative_indices, filler_value_span, "fillers are stored as 8", "8 - 1 = 7")

    def wrong_somewhere(positions, bits):  # no known mistake: the smallest failing input is shown
        stored, filler = relative_right(positions, bits)
        if stored.size >= 3:
            stored = stored.copy()
            stored[2] = 0
        return stored, filler

    fails_with(check_relative_indices, wrong_somewhere, "relative_indices([1, 4, 6], 3) returned [1, 2, 0]",
               "expected [1, 2, 1]")


def test_relative_alternatives_pass(capsys):
    def torch_out(positions, bits):
        import torch

        stored, filler = relative_right(positions, bits)
        return torch.from_numpy(stored), torch.from_numpy(filler)

    def int32_out(positions, bits):
        stored, filler = relative_right(positions, bits)
        return stored.astype(np.int32), filler

    for fn in (torch_out, int32_out, relative_right):
        check_relative_indices(fn)
    assert capsys.readouterr().out.count("PASS") == 3


# --------------------------------------------------------------------------- decode-relative


def test_decode_mistakes():
    fails_with(check_decode_relative, decode_with(drop="none"), "fillers are still there", "values != 0")
    fails_with(check_decode_relative, decode_with(drop="field"), "whose field is 2**b - 1", "value is 0")
    fails_with(check_decode_relative, decode_with(drop="before"), "dropped before", "sum over every entry")
    fails_with(check_decode_relative, decode_with(walk=lambda d: np.cumsum(d) - 1), "off by one", "d + 1")
    fails_with(check_decode_relative, decode_with(walk=lambda d: np.cumsum(d + 1)), "1 too large", "starts at -1",
               "run past the end")  # its last position is 16, in a layer of 16: the bound test fires
    fails_with(check_decode_relative, decode_with(walk=lambda d: np.cumsum(d)), "off by one", "starts at -1")
    fails_with(check_decode_relative, decode_with(walk=lambda d: d), "stored fields, not positions", "np.cumsum")
    fails_with(check_decode_relative, decode_with(walk=lambda d: d + 1), "gaps, not positions")
    fails_with(check_decode_relative, decode_with(fields=np.asarray), "uint8", "overflows at 255", "int64")


def test_decode_bad_streams_must_raise():
    fails_with(check_decode_relative, decode_with(bound=lambda p, n: False), "instead of raising",
               "position 15", ">= length")
    fails_with(check_decode_relative, decode_with(bound=lambda p, n: p.size and p[-1] > n), ">= length, not > length")
    fails_with(check_decode_relative, decode_with(bound_after=True), "a filler, lands on position 9",
               "before dropping the fillers")
    fails_with(check_decode_relative, decode_with(check_fields=False), "field 8 does not fit in 3 bits", ">=, not >")

    def field_gt(stored, values, length, index_bits):  # > 2**b instead of >= 2**b
        d = np.asarray(stored, dtype=np.int64)
        if d.size and (d.min() < 0 or d.max() > 2**index_bits):
            raise ValueError("field")
        return decode_with(check_fields=False)(stored, values, length, index_bits)

    fails_with(check_decode_relative, field_gt, "field 8 does not fit", ">=, not >")

    def max_only(stored, values, length, index_bits):  # negative fields slip through
        d = np.asarray(stored, dtype=np.int64)
        if d.size and d.max() >= 2**index_bits:
            raise ValueError("field")
        return decode_with(check_fields=False)(stored, values, length, index_bits)

    fails_with(check_decode_relative, max_only, "field -1 is negative")

    def asserts(stored, values, length, index_bits):  # assert is not ValueError
        d = np.asarray(stored, dtype=np.int64)
        positions = np.cumsum(d + 1) - 1
        assert not positions.size or positions[-1] < length
        return decode_with()(stored, values, length, index_bits)

    fails_with(check_decode_relative, asserts, "raised AssertionError", "Raise ValueError yourself")

    def always_raises(stored, values, length, index_bits):
        raise ValueError("bad stream")

    fails_with(check_decode_relative, always_raises, "raised ValueError (bad stream)", "the stream is valid",
               "inside a layer of 16 weights")

    def off_by_one_bound(stored, values, length, index_bits):  # >= length - 1 rejects the last position
        return decode_with(bound=lambda p, n: p.size and p[-1] >= n - 1)(stored, values, length, index_bits)

    fails_with(check_decode_relative, off_by_one_bound, "the stream is valid", "position 15", "(0..15)")


def test_decode_empty_stream():
    def max_first(stored, values, length, index_bits):  # stored.max() on an empty array
        d = np.asarray(stored, dtype=np.int64)
        if d.max() >= 2**index_bits or d.min() < 0:
            raise ValueError("field")
        return decode_with(check_fields=False)(stored, values, length, index_bits)

    fails_with(check_decode_relative, max_first, "An empty stream is valid", "two empty arrays", ".size")
    fails_with(check_decode_relative, decode_with(bound=lambda p, n: p[-1] >= n), "IndexError", "two empty arrays")

    def float_empty(stored, values, length, index_bits):  # np.array([]) for an empty stream: float64
        if len(stored) == 0:
            return np.array([]), np.array([])
        return decode_right(stored, values, length, index_bits)

    fails_with(check_decode_relative, float_empty, "dtype float64", "np.zeros(0, dtype=np.int64)")


def test_decode_types_and_in_place():
    def shifts_in_place(stored, values, length, index_bits):  # stored += 1 on the caller's array
        stored += 1
        return decode_with(walk=lambda d: np.cumsum(d) - 1)(stored, values, length, index_bits + 1)

    fails_with(check_decode_relative, shifts_in_place, "changed its argument `stored` in place")

    def zeroes_fillers(stored, values, length, index_bits):  # values[...] = on the caller's array
        out = decode_right(stored, values, length, index_bits)
        values[values == 0] = 0  # harmless
        values[:1] = 7
        return out

    fails_with(check_decode_relative, zeroes_fillers, "changed its argument `values` in place")
    fails_with(check_decode_relative, lambda s, v, n, b: decode_right(s, v, n, b)[::-1], "swapped")
    fails_with(check_decode_relative, lambda s, v, n, b: None, "returned None")
    fails_with(check_decode_relative, lambda s, v, n, b: decode_right(s, v, n, b)[0], "pair")
    fails_with(check_decode_relative, lambda s, v, n, b: (decode_right(s, v, n, b)[0] * 1.0, decode_right(s, v, n, b)[1]),
               "dtype float64", "integers")
    fails_with(check_decode_relative, lambda s, v, n, b: (decode_right(s, v, n, b)[0], decode_right(s, v, n, b)[1] * 1.0),
               "kept_values have dtype float64", "the stored values int64")

    def mixed_masks(stored, values, length, index_bits):  # positions of every entry, values of the kept ones
        positions, kept = decode_right(stored, values, length, index_bits)
        return np.cumsum(np.asarray(stored, dtype=np.int64) + 1) - 1, kept

    fails_with(check_decode_relative, mixed_masks, "positions but", "same mask")

    def wrong_somewhere(stored, values, length, index_bits):  # no known mistake: the smallest case is shown
        positions, kept = decode_right(stored, values, length, index_bits)
        return positions, kept[::-1].copy()

    fails_with(check_decode_relative, wrong_somewhere, "decode_relative([1, 2, 7, 2], [0.5, -1.25, 0.0, 2.0], 16, 3)",
               "expected [0.5, -1.25, 2.0]", "kept values")


def test_decode_alternatives_pass(capsys):
    def loop(stored, values, length, index_bits):
        positions, kept, pos = [], [], -1
        for d, v in zip(stored, values):
            if not 0 <= int(d) < 2**index_bits:
                raise ValueError("field")
            pos += int(d) + 1
            if pos >= length:
                raise ValueError("past the end")
            if v != 0:
                positions.append(pos)
                kept.append(v)
        return np.array(positions, dtype=np.int64), np.array(kept, dtype=values.dtype)

    def torch_version(stored, values, length, index_bits):
        import torch

        d = torch.as_tensor(np.asarray(stored, dtype=np.int64))
        if d.numel() and (d.min() < 0 or d.max() >= 2**index_bits):
            raise ValueError("field")
        positions = torch.cumsum(d + 1, 0) - 1
        if positions.numel() and positions[-1] >= length:
            raise ValueError("past the end")
        v = torch.from_numpy(values)
        return positions[v != 0], v[v != 0]

    def int32_positions(stored, values, length, index_bits):
        positions, kept = decode_right(stored, values, length, index_bits)
        return positions.astype(np.int32), kept

    def any_bound(stored, values, length, index_bits):  # every entry tested, not only the last
        d = np.asarray(stored, dtype=np.int64)
        if ((d < 0) | (d >= 2**index_bits)).any():
            raise ValueError("field")
        positions = np.cumsum(d + 1) - 1
        if (positions >= length).any():
            raise ValueError("past the end")
        return positions[np.flatnonzero(values)], values[np.flatnonzero(values)]

    for fn in (loop, torch_version, int32_positions, any_bound):
        passes(check_decode_relative, fn, capsys)


# --------------------------------------------------------------------------- cheapest-index-bits


def test_cheapest_mistakes():
    fails_with(check_cheapest_index_bits, cheapest_with(cost=lambda p, v, b: len(p) * (v + b)), "fillers are not counted")
    fails_with(check_cheapest_index_bits,
               cheapest_with(cost=lambda p, v, b: len(p) * (v + b) + (entries(p, b) - len(p)) * b), "filler costs value_bits + b")
    fails_with(check_cheapest_index_bits, cheapest_with(cost=lambda p, v, b: entries(p, b) * b), "only the index bits")
    fails_with(check_cheapest_index_bits, cheapest_with(order=list), "tie", "smallest")
    fails_with(check_cheapest_index_bits, cheapest_with(pick=max), "most expensive")
    fails_with(check_cheapest_index_bits, cheapest_with(return_index=True), "position of the winner")
    fails_with(check_cheapest_index_bits, lambda p, v, c: cheapest_with()(p, v, c)[0], "pair")
    fails_with(check_cheapest_index_bits, lambda p, v, c: (max(c), entries(p, max(c)) * (v + max(c))), "not the cheapest")


def test_cheapest_new_mistakes():
    def le_scan(positions, value_bits, candidates):  # <= keeps the last of equal totals
        best = None
        for b in sorted(candidates):
            total = entries(positions, b) * (value_bits + b)
            if best is None or total <= best[1]:
                best = (b, total)
        return best

    fails_with(check_cheapest_index_bits, le_scan, "tie", "smallest")

    def min_in_list_order(positions, value_bits, candidates):  # min keeps the first in the given order
        b = min(candidates, key=lambda b: entries(positions, b) * (value_bits + b))
        return b, entries(positions, b) * (value_bits + b)

    fails_with(check_cheapest_index_bits, min_in_list_order, "tie", "smallest")
    fails_with(check_cheapest_index_bits, lambda p, v, c: cheapest_with()(p, v, c)[::-1], "swapped")
    fails_with(check_cheapest_index_bits, lambda p, v, c: (cheapest_with()(p, v, c)[0], float(cheapest_with()(p, v, c)[1])),
               "is the float")
    fails_with(check_cheapest_index_bits, lambda p, v, c: (Agreeable(0), Agreeable(0)), "subclass")
    fails_with(check_cheapest_index_bits, lambda p, v, c: None, "returned None")

    def sorts_candidates(positions, value_bits, candidates):  # candidates.sort() on the caller's list
        candidates.sort()
        return cheapest_with()(positions, value_bits, candidates)

    fails_with(check_cheapest_index_bits, sorts_candidates, "changed its argument `candidates` in place")

    def wrong_total(positions, value_bits, candidates):  # the right width, kept weights only at b bits
        b, _ = cheapest_with()(positions, value_bits, candidates)
        return b, entries(positions, b) * (value_bits + b) + 1

    fails_with(check_cheapest_index_bits, wrong_total, "the right bit-width")


def test_cheapest_alternatives_pass(capsys):
    def tuples(positions, value_bits, candidates):
        total, b = min((entries(positions, b) * (value_bits + b), b) for b in candidates)
        return b, total

    def numpy_argmin(positions, value_bits, candidates):
        cands = np.array(sorted(candidates))
        gaps = np.diff(np.asarray(positions), prepend=-1)
        totals = np.array([(len(positions) + ((gaps - 1) // 2**b).sum()) * (value_bits + b) for b in cands])
        i = int(np.argmin(totals))
        return int(cands[i]), int(totals[i])

    def library_relative(positions, value_bits, candidates):
        costs = {b: S.relative_indices(positions, b)[0].size * (value_bits + b) for b in candidates}
        b = min(costs, key=lambda b: (costs[b], b))
        return b, costs[b]

    for fn in (tuples, numpy_argmin, library_relative):
        check_cheapest_index_bits(fn)
    assert capsys.readouterr().out.count("PASS") == 3
