"""The cheapest-index-bits check of notebook 07 passes right answers and names the typical wrong ones.

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
    fails_with(check_cheapest_index_bits, cheapest_with(return_index=True), "not one of the candidates")
    fails_with(check_cheapest_index_bits, lambda p, v, c: cheapest_with()(p, v, c)[0], "pair")
    fails_with(check_cheapest_index_bits, lambda p, v, c: (max(c), entries(p, max(c)) * (v + max(c))), "not the cheapest")
