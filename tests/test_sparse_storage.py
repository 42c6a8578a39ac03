"""Tests of course_lib.sparse_storage: relative indices with fillers ([DC] §2, Fig. 2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib.sparse_storage import (
    csr_bits,
    csr_bytes,
    decode_relative,
    decode_sparse,
    dense_bits,
    encode_sparse,
    index_bits_sweep,
    positions_from_relative,
    relative_bits,
    relative_indices,
    storage_bits,
)


def test_fig2_example_three_bits():
    # Gaps 2, 3, 11: the last one exceeds 2**3 = 8, so a filler sits at position 12.
    stored, filler = relative_indices([1, 4, 15], 3)
    assert stored.tolist() == [1, 2, 7, 2]
    assert filler.tolist() == [False, False, True, False]
    assert positions_from_relative(stored, 3).tolist() == [1, 4, 12, 15]
    assert positions_from_relative(stored, 3, filler).tolist() == [1, 4, 15]


def test_decode_relative_fig2_and_fillers():
    layer = np.zeros(16, dtype=np.float32)
    layer[[1, 4, 15]] = [0.5, -1.25, 2.0]
    stored, values = encode_sparse(layer, 3)
    assert stored.tolist() == [1, 2, 7, 2] and values.tolist() == [0.5, -1.25, 0.0, 2.0]
    positions, kept = decode_relative(stored, values, 16, 3)
    assert positions.tolist() == [1, 4, 15] and positions.dtype == np.int64
    assert kept.tolist() == [0.5, -1.25, 2.0] and kept.dtype == np.float32
    # A gap of exactly 2**b is stored 2**b - 1 like a filler's field, but its value is not 0: kept.
    positions, kept = decode_relative(np.array([0, 7, 0]), np.array([3, 1, 2]), 12, 3)
    assert positions.tolist() == [0, 8, 9] and kept.tolist() == [3, 1, 2]


def test_decode_relative_uint8_fields_do_not_overflow():
    layer = np.zeros(1200, dtype=np.int64)
    layer[[3, 259, 1100]] = [7, 1, 200]
    stored, values = encode_sparse(layer, 8)
    assert stored.dtype == np.uint8 and 255 in stored.tolist()
    positions, kept = decode_relative(stored, values, layer.size, 8)
    assert positions.tolist() == [3, 259, 1100] and kept.tolist() == [7, 1, 200]


def test_decode_relative_empty_and_bad_streams():
    positions, kept = decode_relative(np.zeros(0, np.uint8), np.zeros(0, np.float16), 10, 3)
    assert positions.size == 0 and positions.dtype == np.int64 and kept.dtype == np.float16
    fig2, vals = np.array([1, 2, 7, 2]), np.array([0.5, -1.25, 0.0, 2.0])
    assert decode_relative(fig2, vals, 16, 3)[0].tolist() == [1, 4, 15]
    with pytest.raises(ValueError, match="past the end"):  # the last weight on position 15 of 15
        decode_relative(fig2, vals, 15, 3)
    with pytest.raises(ValueError, match="past the end"):  # a trailing filler outside the layer
        decode_relative(np.array([1, 7]), np.array([0.5, 0.0]), 9, 3)
    with pytest.raises(ValueError, match="0..7"):
        decode_relative(np.array([1, 8]), np.array([1, 2]), 40, 3)
    with pytest.raises(ValueError, match="0..7"):
        decode_relative(np.array([2, -1]), np.array([1, 2]), 40, 3)
    with pytest.raises(ValueError, match="one entry each"):
        decode_relative(np.array([1, 2]), np.array([1.0]), 10, 3)
    with pytest.raises(ValueError, match="length"):
        decode_relative(np.array([1]), np.array([1.0]), -1, 3)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.int64, st.integers(0, 300), elements=st.integers(-3, 3)), st.integers(1, 16))
def test_decode_relative_inverts_encode_sparse(values, bits):
    positions, kept = decode_relative(*encode_sparse(values, bits), values.size, bits)
    assert np.array_equal(positions, np.flatnonzero(values))
    assert np.array_equal(kept, values[positions])


def test_gap_boundaries():
    # With 3 bits, a gap of exactly 8 fits; 9 needs one filler; 17 needs two.
    assert relative_indices([7], 3)[0].tolist() == [7]  # gap 8 from the virtual start -1
    assert relative_indices([8], 3)[0].tolist() == [7, 0]  # gap 9: filler at 7, then gap 1
    stored, filler = relative_indices([0, 17], 3)
    assert stored.tolist() == [0, 7, 7, 0]
    assert filler.tolist() == [False, True, True, False]
    assert relative_indices([0], 1)[0].tolist() == [0]
    assert relative_indices([0, 1, 2], 2)[0].tolist() == [0, 0, 0]


def test_gaps_larger_than_the_bit_width_allows():
    values = np.zeros(1000)
    values[[3, 500, 999]] = [1.0, -2.0, 3.0]
    for bits in (1, 2, 4, 8):
        stored, stored_values = encode_sparse(values, bits)
        assert stored.max() <= 2**bits - 1
        assert np.count_nonzero(stored_values) == 3
        assert np.array_equal(decode_sparse(stored, stored_values, values.size, bits), values)


def test_empty_layer_and_full_layer():
    empty = np.zeros(50, dtype=np.float32)
    stored, vals = encode_sparse(empty, 4)
    assert stored.size == 0 and vals.size == 0
    assert np.array_equal(decode_sparse(stored, vals, 50, 4), empty)
    full = np.arange(1, 21, dtype=np.int64)
    stored, vals = encode_sparse(full, 2)
    assert stored.tolist() == [0] * 20
    assert np.array_equal(decode_sparse(stored, vals, 20, 2), full)
    assert encode_sparse(np.zeros(0), 3)[0].size == 0


def test_dtypes():
    stored, vals = encode_sparse(np.array([0, 3, 0, 1], dtype=np.int16), 5)
    assert stored.dtype == np.uint8 and vals.dtype == np.int16
    stored, _ = encode_sparse(np.array([0.0, 1.0]), 12)
    assert stored.dtype == np.uint16
    stored, vals = encode_sparse(torch.tensor([0.0, 2.5, 0.0]), 3)
    assert vals.tolist() == [2.5]


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(np.int64, st.integers(0, 300), elements=st.integers(-3, 3)),
    st.integers(1, 16),
)
def test_round_trip(values, bits):
    stored, stored_values = encode_sparse(values, bits)
    assert np.array_equal(decode_sparse(stored, stored_values, values.size, bits), values)
    positions = np.flatnonzero(values)
    rel, filler = relative_indices(positions, bits)
    assert np.array_equal(positions_from_relative(rel, bits, filler), positions)
    assert (~filler).sum() == positions.size
    assert np.array_equal(stored_values == 0, filler)
    assert rel.min(initial=0) >= 0 and rel.max(initial=0) < 2**bits
    # Minimal: a filler only where the gap did not fit.
    gaps = np.diff(positions, prepend=-1)
    assert filler.sum() == ((gaps - 1) // 2**bits).sum()


@settings(max_examples=100, deadline=None)
@given(st.sets(st.integers(0, 5000), max_size=200), st.integers(1, 10))
def test_relative_indices_property(position_set, bits):
    positions = np.array(sorted(position_set), dtype=np.int64)
    rel, filler = relative_indices(positions, bits)
    everything = positions_from_relative(rel, bits)
    assert np.array_equal(everything[~filler], positions)
    assert not np.isin(everything[filler], positions).any()  # fillers land on pruned positions


def test_storage_sizes():
    w = np.zeros((4, 10))
    w[0, 1] = w[2, 9] = w[3, 0] = 1.0
    assert dense_bits(w.size) == 40 * 32
    assert csr_bits(w) == 3 * 64 + 5 * 32
    assert csr_bytes(w, value_bits=5, index_bits=4, pointer_bits=2) == (3 * 9 + 5 * 2 + 7) // 8
    assert relative_bits(w.ravel(), 6, 3) == len(encode_sparse(w.ravel(), 3)[0]) * 9
    # the filler as its own symbol: one value bit more per entry, only where there are fillers
    entries = len(encode_sparse(w.ravel(), 3)[0])
    assert entries > 3 and relative_bits(w.ravel(), 6, 3, filler_symbol=True) == entries * 10
    assert relative_bits(w.ravel(), 6, 8, filler_symbol=True) == 3 * (6 + 8)  # no fillers at 8 bits
    conv = torch.zeros(2, 3, 5, 5)
    conv[1, 2, 4, 4] = 1
    assert csr_bits(conv) == 64 + 3 * 32
    s = storage_bits(w, value_bits=6, index_bits=3)
    assert s == {"dense": 1280, "csr": 3 * 38 + 5 * 32, "relative": relative_bits(w.ravel(), 6, 3)}


def test_index_bits_sweep():
    rng = np.random.default_rng(0)
    codes = rng.integers(1, 17, size=5000) * (rng.random(5000) < 0.1)
    rows = index_bits_sweep(codes, value_bits=4, index_bits=range(2, 9), weight_codes=codes)
    assert [r["index_bits"] for r in rows] == list(range(2, 9))
    for r in rows:
        stored, _ = encode_sparse(codes, r["index_bits"])
        assert r["entries"] == stored.size
        assert r["fixed_bits"] == stored.size * (4 + r["index_bits"])
        assert 0 < r["huffman_bits"] <= r["fixed_bits"]
    fillers = [r["fillers"] for r in rows]
    assert fillers == sorted(fillers, reverse=True)


def test_bad_input():
    for bits in (0, 17, -1):
        with pytest.raises(ValueError, match="index_bits must be between 1 and 16"):
            encode_sparse(np.ones(3), bits)
    with pytest.raises(TypeError, match="index_bits must be an integer"):
        relative_indices([1, 2], 3.0)
    with pytest.raises(TypeError, match="integers"):
        relative_indices(np.array([1.0, 2.0]), 3)
    with pytest.raises(ValueError, match="strictly increasing"):
        relative_indices([3, 1], 3)
    with pytest.raises(ValueError, match="strictly increasing"):
        relative_indices([1, 1], 3)
    with pytest.raises(ValueError, match=">= 0"):
        relative_indices([-2, 1], 3)
    with pytest.raises(ValueError, match="1-D"):
        encode_sparse(np.ones((2, 2)), 3)
    with pytest.raises(ValueError, match="past the end"):
        decode_sparse(np.array([7, 7]), np.array([1.0, 1.0]), 10, 3)
    with pytest.raises(ValueError, match="0..7"):
        decode_sparse(np.array([8]), np.array([1.0]), 10, 3)
    with pytest.raises(ValueError, match="one entry each"):
        decode_sparse(np.array([1, 2]), np.array([1.0]), 10, 3)
    with pytest.raises(ValueError, match="length"):
        decode_sparse(np.array([1]), np.array([1.0]), -1, 3)
    with pytest.raises(ValueError, match="matrix"):
        csr_bits(np.ones(5))


def test_cheapest_index_bits():
    from course_lib.sparse_storage import cheapest_index_bits

    positions = np.flatnonzero(np.random.default_rng(3).random(20000) < 0.08)
    b, total = cheapest_index_bits(positions, 5, range(2, 9))
    totals = {c: relative_indices(positions, c)[0].size * (5 + c) for c in range(2, 9)}
    assert total == min(totals.values()) and totals[b] == total
    assert b == min(c for c, t in totals.items() if t == total)
    assert cheapest_index_bits([], 5) == (2, 0)  # empty layer: ties -> the smallest width
    assert cheapest_index_bits(np.arange(10), 4, [3, 2]) == (2, 60)  # full layer: no fillers
    with pytest.raises(ValueError, match="candidates is empty"):
        cheapest_index_bits([1, 2], 4, [])
    with pytest.raises(ValueError, match="value_bits"):
        cheapest_index_bits([1, 2], -1)
