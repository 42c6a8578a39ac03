"""Tests of course_lib.huffman: optimality, prefix property, round trips, bad input."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.huffman import (
    canonical_code,
    code_bits,
    entropy,
    entropy_from_counts,
    huffman_bits,
    huffman_code,
    huffman_code_lengths,
    huffman_decode,
    huffman_encode,
    is_prefix_free,
    symbol_counts,
)


def optimum_bits(freqs: dict[int, int]) -> int:
    """The Huffman optimum computed independently: the sum of all merged weights."""
    weights = list(freqs.values())
    if len(weights) == 1:
        return weights[0]  # one symbol: one bit each
    heapq.heapify(weights)
    total = 0
    while len(weights) > 1:
        merged = heapq.heappop(weights) + heapq.heappop(weights)
        total += merged
        heapq.heappush(weights, merged)
    return total


frequency_maps = st.dictionaries(
    keys=st.integers(min_value=-1000, max_value=100_000),
    values=st.integers(min_value=1, max_value=10_000),
    min_size=1,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(frequency_maps)
def test_huffman_code_is_optimal_and_prefix_free(freqs):
    code = huffman_code(freqs)
    assert set(code) == set(freqs)
    assert is_prefix_free(code)
    assert code_bits(freqs, code) == optimum_bits(freqs)
    lengths = huffman_code_lengths(freqs)
    assert {s: len(w) for s, w in code.items()} == lengths
    assert sum(2.0 ** -n for n in lengths.values()) <= 1.0 + 1e-12


@settings(max_examples=100, deadline=None)
@given(frequency_maps)
def test_huffman_length_within_one_bit_of_entropy(freqs):
    total = sum(freqs.values())
    avg = code_bits(freqs, huffman_code(freqs)) / total
    h = entropy_from_counts(freqs)
    assert h - 1e-9 <= avg < h + 1 + 1e-9


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=0, max_size=400))
def test_encode_decode_round_trip(symbols):
    code = huffman_code(symbol_counts(symbols)) if symbols else {0: "0"}
    data, nbits = huffman_encode(symbols, code)
    assert len(data) == math.ceil(nbits / 8)
    assert nbits == sum(len(code[s]) for s in symbols)
    out = huffman_decode(data, code, len(symbols))
    assert out.dtype == np.int64
    assert out.tolist() == symbols
    assert huffman_decode(data, code, len(symbols), nbits=nbits).tolist() == symbols


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.integers(0, 50), st.integers(1, 30), min_size=1, max_size=30), st.data())
def test_canonical_code_of_any_kraft_lengths(lengths_seed, data):
    # Lengths from a Huffman run are always realisable; build some and check canonical order.
    lengths = huffman_code_lengths(lengths_seed)
    code = canonical_code(lengths)
    assert is_prefix_free(code)
    order = sorted(code, key=lambda s: (lengths[s], s))
    values = [int(code[s], 2) << (64 - lengths[s]) for s in order]
    assert values == sorted(values)  # canonical: increasing codewords in (length, symbol) order


def test_known_example():
    # CLRS's example: a:45 b:13 c:12 d:16 e:9 f:5 -> 224 bits per 100 symbols.
    freqs = {ord(c): f for c, f in zip("abcdef", [45, 13, 12, 16, 9, 5])}
    lengths = huffman_code_lengths(freqs)
    assert lengths == {ord("a"): 1, ord("b"): 3, ord("c"): 3, ord("d"): 3, ord("e"): 4, ord("f"): 4}
    code = canonical_code(lengths)
    assert code == {97: "0", 98: "100", 99: "101", 100: "110", 101: "1110", 102: "1111"}
    assert code_bits(freqs, code) == 224


def test_deterministic_ties():
    freqs = {3: 1, 1: 1, 2: 1, 0: 1, 4: 1}
    assert huffman_code(freqs) == huffman_code(dict(reversed(list(freqs.items()))))


def test_single_symbol_and_empty():
    assert huffman_code_lengths({7: 100}) == {7: 1}
    assert huffman_code({7: 100}) == {7: "0"}
    assert huffman_code_lengths({}) == {}
    assert huffman_code({}) == {}
    data, nbits = huffman_encode([7, 7, 7], {7: "0"})
    assert (data, nbits) == (b"\x00", 3)
    assert huffman_decode(data, {7: "0"}, 3).tolist() == [7, 7, 7]
    assert huffman_encode([], {}) == (b"", 0)
    assert huffman_decode(b"", {}, 0).tolist() == []
    assert huffman_bits([5, 5]) == 2


def test_msb_first_packing():
    code = {0: "0", 1: "10", 2: "11"}
    data, nbits = huffman_encode([1, 2, 0, 0], code)  # bits 1011 00 -> 101100(00)
    assert nbits == 6
    assert data == bytes([0b10110000])


def test_inputs_list_array_tensor():
    code = huffman_code({0: 3, 1: 2, 2: 1})
    ref = huffman_encode([0, 1, 2, 0], code)
    assert huffman_encode(np.array([0, 1, 2, 0], dtype=np.uint8), code) == ref
    assert huffman_encode(torch.tensor([0, 1, 2, 0]), code) == ref
    assert huffman_encode((np.int64(s) for s in [0, 1, 2, 0]), code) == ref


def test_long_codes_decode():
    # Fibonacci counts give the longest possible codes: 30 symbols -> 29-bit codewords.
    fib = [1, 1]
    while len(fib) < 30:
        fib.append(fib[-1] + fib[-2])
    freqs = dict(enumerate(fib))
    code = huffman_code(freqs)
    assert max(map(len, code.values())) == 29
    symbols = list(range(30)) * 3
    data, nbits = huffman_encode(symbols, code)
    assert huffman_decode(data, code, len(symbols)).tolist() == symbols


def test_decode_any_prefix_code_not_only_canonical():
    code = {5: "11", 6: "0", 7: "10"}
    data, _ = huffman_encode([5, 6, 7, 7, 6], code)
    assert huffman_decode(data, code, 5).tolist() == [5, 6, 7, 7, 6]


def test_entropy():
    assert entropy([1, 1, 1, 1]) == 0.0
    assert entropy([0, 1, 2, 3]) == pytest.approx(2.0)
    assert entropy_from_counts([1, 1]) == pytest.approx(1.0)
    assert entropy_from_counts({0: 3, 1: 1}) == pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)))
    assert entropy_from_counts([]) == 0.0
    assert entropy(torch.tensor([0, 0, 1, 1])) == pytest.approx(1.0)


# --------------------------------------------------------------------------- bad input


def test_symbol_missing_from_code():
    with pytest.raises(ValueError, match="Symbol 9 is not in the code"):
        huffman_encode([0, 9], {0: "0", 1: "1"})


def test_truncated_bitstream():
    code = huffman_code({0: 10, 1: 5, 2: 2, 3: 1})
    symbols = [3, 2, 1, 0, 3, 3, 2, 1] * 4
    data, nbits = huffman_encode(symbols, code)
    with pytest.raises(ValueError, match="truncated"):
        huffman_decode(data[: len(data) // 2], code, len(symbols))
    with pytest.raises(ValueError, match="truncated"):
        huffman_decode(data, code, len(symbols) + 1, nbits=nbits)
    with pytest.raises(ValueError, match="truncated"):
        huffman_decode(b"", code, 1)


def test_bits_that_match_no_code():
    code = {0: "0", 1: "10"}  # incomplete: '11' is no codeword
    with pytest.raises(ValueError, match="match no codeword"):
        huffman_decode(bytes([0b11000000]), code, 1)


def test_bad_codes_and_frequencies():
    with pytest.raises(ValueError, match="not prefix-free"):
        huffman_encode([0], {0: "1", 1: "10"})
    with pytest.raises(ValueError, match="'0' and '1'"):
        huffman_encode([0], {0: "2"})
    with pytest.raises(ValueError, match="Kraft"):
        canonical_code({0: 1, 1: 1, 2: 1})
    with pytest.raises(ValueError, match=">= 0"):
        huffman_code_lengths({0: -1})
    with pytest.raises(TypeError, match="integers"):
        huffman_code_lengths({"a": 1})
    with pytest.raises(TypeError, match="mapping"):
        huffman_code_lengths([1, 2, 3])


def test_non_integer_symbols():
    code = {0: "0", 1: "1"}
    with pytest.raises(TypeError, match="integer"):
        huffman_encode(np.array([0.0, 1.0]), code)
    with pytest.raises(TypeError, match="integer"):
        huffman_encode(torch.tensor([0.0, 1.0]), code)
    with pytest.raises(TypeError, match="integers"):
        huffman_encode([0, 1.5], code)
    with pytest.raises(TypeError, match="integer"):
        symbol_counts(np.array([True, False]))
    with pytest.raises(ValueError, match="1-D"):
        huffman_encode(np.zeros((2, 2), dtype=int), code)
    with pytest.raises(ValueError, match="count"):
        huffman_decode(b"\x00", code, -1)
    with pytest.raises(TypeError, match="bytes"):
        huffman_decode("0101", code, 2)
