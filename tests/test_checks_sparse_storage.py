"""The cheapest-index-bits check of notebook 06 passes right answers and names the typical wrong ones.

(The checks of relative_indices, positions_from_relative and csr_bits are tested in
tests/test_checks_huffman.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import sparse_storage as S
from course_lib.course.checks.core import failure_message as fails_with, CheckFailed
from course_lib.course.checks.sparse_storage import check_cheapest_index_bits




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


def test_right_answers_pass(capsys):
    check_cheapest_index_bits(cheapest_with())
    check_cheapest_index_bits(S.cheapest_index_bits)
    assert capsys.readouterr().out.count("PASS") == 2


def test_unsolved():
    def stub(*args):
        raise NotImplementedError("Exercise cheapest-index-bits: not solved yet.")

    fails_with(check_cheapest_index_bits, stub, "not solved yet")


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


# --------------------------------------------------------------------------- issue: every typical mistake, named
# In-place changes, types, parts of a sum named, ties in both orders, swapped pairs, odd subclasses.

from course_lib.course.checks.sparse_storage import (  # noqa: E402
    check_csr_bits,
    check_positions_from_relative,
    check_relative_indices,
)


class Agreeable(int):
    """An int that says it equals anything."""

    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def csr_right(w, v, i, p):
    return int(np.count_nonzero(w)) * (v + i) + (w.shape[0] + 1) * p


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


def torch_scalar(x):
    import torch

    return torch.tensor(x)


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


def test_positions_new_mistakes():
    fails_with(check_positions_from_relative, lambda d, b: np.cumsum(np.asarray(d) + 1.0) - 1, "dtype float64")

    def adds_in_place(stored, index_bits):  # stored += 1 on the caller's array
        stored += 1
        return np.cumsum(stored) - 1

    fails_with(check_positions_from_relative, adds_in_place, "changed its argument `stored` in place")
    fails_with(check_positions_from_relative, lambda d, b: (np.cumsum(np.asarray(d) + 1) - 1, b), "tuple")
    fails_with(check_positions_from_relative, lambda d, b: None, "returned None")
    fails_with(check_positions_from_relative, lambda d, b: np.asarray(d) + 1, "gaps, not positions")
    fails_with(check_positions_from_relative, lambda d, b: np.cumsum(np.asarray(d) + 2) - 2,
               "positions_from_relative([7, 0], 3) returned [7, 9]; expected [7, 8]")

    def kept_only(stored, index_bits):  # drops the fillers itself
        positions = np.cumsum(np.asarray(stored) + 1) - 1
        return positions[np.asarray(stored) != 2**index_bits - 1] if len(stored) else positions

    fails_with(check_positions_from_relative, kept_only, "as if it were a filler", "fillers included")


def test_positions_alternatives_pass(capsys):
    def loop(stored, bits):
        out, pos = [], -1
        for d in stored:
            pos += int(d) + 1
            out.append(pos)
        return out

    def torch_sum(stored, bits):
        import torch

        return torch.cumsum(torch.as_tensor(stored) + 1, 0) - 1

    def numpy_int32(stored, bits):
        return (np.cumsum(np.asarray(stored, dtype=np.int32) + 1) - 1).astype(np.int32)

    for fn in (loop, torch_sum, numpy_int32, S.positions_from_relative):
        check_positions_from_relative(fn)
    assert capsys.readouterr().out.count("PASS") == 4


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
