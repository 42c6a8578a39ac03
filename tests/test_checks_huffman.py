"""The checks of notebooks 06 and 07 pass right answers and name the typical wrong ones."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest

from course_lib import huffman as H
from course_lib import sparse_storage as S
from course_lib.course.checks.core import failure_message as fails_with, CheckFailed, CheckInputError
from course_lib.course.checks.huffman import (
    check_canonical_code,
    check_huffman_code_lengths,
    check_huffman_decode,
    check_huffman_encode,
)
from course_lib.course.checks.sparse_storage import check_csr_bits, check_positions_from_relative, check_relative_indices




# --------------------------------------------------------------------------- learner-style solutions


def lengths_heapq(freqs):
    """A learner's Huffman: heap of (weight, tiebreak, symbols), depth += 1 for each merge."""
    if len(freqs) == 1:
        return {s: 1 for s in freqs}
    heap = [(f, i, [s]) for i, (s, f) in enumerate(freqs.items())]
    heapq.heapify(heap)
    depth = {s: 0 for s in freqs}
    count = len(heap)
    while len(heap) > 1:
        w1, _, a = heapq.heappop(heap)
        w2, _, b = heapq.heappop(heap)
        for s in a + b:
            depth[s] += 1
        heapq.heappush(heap, (w1 + w2, count, a + b))
        count += 1
    return depth


def canonical_learner(lengths):
    code, value, prev = {}, 0, None
    for s in sorted(lengths, key=lambda s: (lengths[s], s)):
        n = lengths[s]
        if prev is not None:
            value = (value + 1) << (n - prev)
        code[s] = format(value, f"0{n}b")
        prev = n
    return code


def encode_learner(symbols, code):
    bits = "".join(code[int(s)] for s in symbols)
    padded = bits.ljust(-(-len(bits) // 8) * 8, "0")
    return bytes(int(padded[i : i + 8], 2) for i in range(0, len(padded), 8)), len(bits)


def decode_learner(data, code, count):
    inverse = {w: s for s, w in code.items()}
    out, word = [], ""
    for byte in data:
        for bit in format(byte, "08b"):
            word += bit
            if word in inverse:
                out.append(inverse[word])
                word = ""
                if len(out) == count:
                    return out
    raise ValueError("truncated")


def relative_learner(positions, bits):
    span = 2**bits
    stored, filler, prev = [], [], -1
    for p in positions:
        gap = p - prev
        while gap > span:
            stored.append(span - 1)
            filler.append(True)
            gap -= span
        stored.append(gap - 1)
        filler.append(False)
        prev = p
    return np.array(stored, dtype=np.int64), np.array(filler, dtype=bool)


def csr_learner(weights, value_bits, index_bits, pointer_bits):
    nnz = int(np.count_nonzero(weights))
    return nnz * (value_bits + index_bits) + (weights.shape[0] + 1) * pointer_bits


# --------------------------------------------------------------------------- right answers pass


def test_right_answers_pass(capsys):
    check_huffman_code_lengths(lengths_heapq)
    check_huffman_code_lengths(H.huffman_code_lengths)
    check_canonical_code(canonical_learner)
    check_canonical_code(H.canonical_code)
    check_huffman_encode(encode_learner)
    check_huffman_encode(H.huffman_encode)
    check_huffman_decode(decode_learner)
    check_huffman_decode(H.huffman_decode)
    check_relative_indices(relative_learner)
    check_relative_indices(S.relative_indices)
    check_positions_from_relative(S.positions_from_relative)
    check_positions_from_relative(lambda d, b: np.cumsum(np.asarray(d) + 1) - 1)
    check_csr_bits(csr_learner)
    check_csr_bits(S.csr_bits)
    assert capsys.readouterr().out.count("PASS") == 14


def test_unsolved_exercise_is_explained():
    def stub(*args):
        raise NotImplementedError("Exercise huffman-code-lengths: not solved yet.")

    for check in (check_huffman_code_lengths, check_canonical_code, check_huffman_encode, check_huffman_decode,
                  check_relative_indices, check_positions_from_relative, check_csr_bits):
        fails_with(check, stub, "not solved yet")
    with pytest.raises(CheckInputError):
        check_huffman_code_lengths("not a function")


# --------------------------------------------------------------------------- code lengths


def test_lengths_mistakes():
    fails_with(check_huffman_code_lengths, lambda f: {s: 0 for s in f} if len(f) == 1 else lengths_heapq(f),
               "single symbol still needs 1 bit")

    def shannon(freqs):
        if len(freqs) == 1:
            return {s: 1 for s in freqs}
        total = sum(freqs.values())
        return {s: max(1, math.ceil(-math.log2(f / total))) for s, f in freqs.items()}

    fails_with(check_huffman_code_lengths, shannon, "not optimal", "Shannon")

    def heaviest(freqs):  # a max-heap by negating weights: merges the two heaviest
        if len(freqs) == 1:
            return {s: 1 for s in freqs}
        heap = [(-f, i, [s]) for i, (s, f) in enumerate(sorted(freqs.items(), key=lambda kv: (kv[1], kv[0]), reverse=True))]
        heapq.heapify(heap)
        depth, c = {s: 0 for s in freqs}, len(heap)
        while len(heap) > 1:
            w1, _, a = heapq.heappop(heap)
            w2, _, b = heapq.heappop(heap)
            for s in a + b:
                depth[s] += 1
            heapq.heappush(heap, (w1 + w2, c, a + b))
            c += 1
        return depth

    fails_with(check_huffman_code_lengths, heaviest, "not optimal", "two heaviest")

    def no_push_back(freqs):  # sorts once and folds: a caterpillar tree
        if len(freqs) == 1:
            return {s: 1 for s in freqs}
        order = sorted(freqs, key=lambda s: (freqs[s], s))  # lightest first: the running merge takes the next
        n = len(order)
        return {s: (n - 1 if i == 0 else n - i) for i, s in enumerate(order)}

    fails_with(check_huffman_code_lengths, no_push_back, "not optimal", "heapq.heappush")
    fails_with(check_huffman_code_lengths, lambda f: {s: n + 1 for s, n in lengths_heapq(f).items()} if len(f) > 1 else {s: 1 for s in f},
               "1 too large")
    fails_with(check_huffman_code_lengths, lambda f: {s: n - 1 for s, n in lengths_heapq(f).items()} if len(f) > 1 else {s: 1 for s in f},
               "1 too small")
    fails_with(check_huffman_code_lengths, lambda f: {s: 1 for s in f}, "Kraft")
    fails_with(check_huffman_code_lengths, lambda f: list(lengths_heapq(f).values()), "return a dict")
    fails_with(check_huffman_code_lengths, lambda f: dict(list(lengths_heapq(f).items())[:-1]) if len(f) > 1 else {s: 1 for s in f},
               "has no length")
    fails_with(check_huffman_code_lengths, lambda f: {s: 4 for s in f} if len(f) > 1 else {s: 1 for s in f}, "not optimal")


# --------------------------------------------------------------------------- canonical codes


def test_canonical_mistakes():
    def no_shift(lengths):  # forgets to shift left when the length grows
        code, value = {}, 0
        for i, s in enumerate(sorted(lengths, key=lambda s: (lengths[s], s))):
            if i:
                value += 1
            code[s] = format(value, f"0{lengths[s]}b")
        return code

    fails_with(check_canonical_code, no_shift, "not prefix-free")
    fails_with(check_canonical_code, lambda L: {s: bin(int(w, 2))[2:] for s, w in canonical_learner(L).items()}, "leading zeros")
    fails_with(check_canonical_code, lambda L: {s: int(w, 2) for s, w in canonical_learner(L).items()}, "integer")
    fails_with(check_canonical_code,
               lambda L: {s: w.translate(str.maketrans("01", "10")) for s, w in canonical_learner(L).items()}, "complements")

    def reverse_symbols(lengths):  # ties broken by decreasing symbol
        code, value, prev = {}, 0, None
        for s in sorted(lengths, key=lambda s: (lengths[s], -s)):
            n = lengths[s]
            if prev is not None:
                value = (value + 1) << (n - prev)
            code[s] = format(value, f"0{n}b")
            prev = n
        return code

    fails_with(check_canonical_code, reverse_symbols, "increasing symbol order")


# --------------------------------------------------------------------------- encoding


def test_encode_mistakes():
    def lsb_first(symbols, code):
        data, n = encode_learner(symbols, code)
        return bytes(int(format(b, "08b")[::-1], 2) for b in data), n

    fails_with(check_huffman_encode, lsb_first, "LSB-first", "MSB-first")

    def little_endian(symbols, code):
        bits = "".join(code[int(s)] for s in symbols)
        padded = bits.ljust(-(-len(bits) // 8) * 8, "0")
        return int(padded, 2).to_bytes(len(padded) // 8, "little"), len(bits)

    fails_with(check_huffman_encode, little_endian, "reverse order")

    def left_padding(symbols, code):
        bits = "".join(code[int(s)] for s in symbols)
        return int(bits, 2).to_bytes(-(-len(bits) // 8), "big"), len(bits)

    fails_with(check_huffman_encode, left_padding, "padding zeros are at the start")
    fails_with(check_huffman_encode, lambda s, c: (encode_learner(s, c)[0], 8 * len(encode_learner(s, c)[0])), "includes the padding")
    fails_with(check_huffman_encode, lambda s, c: "".join(c[int(x)] for x in s), "bit string")

    def drop_last_byte(symbols, code):
        bits = "".join(code[int(s)] for s in symbols)
        return bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits) - 7, 8)), len(bits)

    fails_with(check_huffman_encode, drop_last_byte, "partial byte")
    fails_with(check_huffman_encode, lambda s, c: (list(encode_learner(s, c)[0]), encode_learner(s, c)[1]), "return bytes")


# --------------------------------------------------------------------------- decoding


def test_decode_mistakes():
    def whole_stream(data, code, count):  # ignores count: decodes the padding too
        inverse = {w: s for s, w in code.items()}
        out, word = [], ""
        for byte in data:
            for bit in format(byte, "08b"):
                word += bit
                if word in inverse:
                    out.append(inverse[word])
                    word = ""
        return out

    fails_with(check_huffman_decode, whole_stream, "padding", "count")

    def lsb_reader(data, code, count):
        return decode_learner(bytes(int(format(b, "08b")[::-1], 2) for b in data), code, count)

    fails_with(check_huffman_decode, lsb_reader, "LSB-first")

    def silent_truncation(data, code, count):
        try:
            return decode_learner(data, code, count)
        except ValueError:
            inverse = {w: s for s, w in code.items()}
            out, word = [], ""
            for bit in "".join(format(b, "08b") for b in data):
                word += bit
                if word in inverse:
                    out.append(inverse[word])
                    word = ""
            return out[:count]

    fails_with(check_huffman_decode, silent_truncation, "truncated", "raise")

    def index_error(data, code, count):
        bits = "".join(format(b, "08b") for b in data)
        inverse = {w: s for s, w in code.items()}
        out, pos = [], 0
        while len(out) < count:
            word = ""
            while word not in inverse:
                word += bits[pos]
                pos += 1
            out.append(inverse[word])
        return out

    fails_with(check_huffman_decode, index_error, "IndexError", "ValueError")


# --------------------------------------------------------------------------- relative indices


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
    fails_with(check_relative_indices, lambda p, b: relative_learner(p, b)[0], "pair")
    fails_with(check_relative_indices, lambda p, b: (relative_learner(p, b)[0], ~relative_learner(p, b)[1]), "is_filler")


def test_positions_mistakes():
    fails_with(check_positions_from_relative, lambda d, b: np.cumsum(np.asarray(d) + 1), "1 too large")
    fails_with(check_positions_from_relative, lambda d, b: np.cumsum(d), "off by one", "d + 1")
    fails_with(check_positions_from_relative, lambda d, b: np.asarray(d), "Add them up")


def test_csr_mistakes():
    fails_with(check_csr_bits, lambda w, v, i, p: int(np.count_nonzero(w)) * (v + i) + w.shape[0] * p, "rows + 1")
    fails_with(check_csr_bits, lambda w, v, i, p: int(np.count_nonzero(w)) * (v + i), "row pointers are missing")
    fails_with(check_csr_bits, lambda w, v, i, p: int(np.count_nonzero(w)) * (v + i) + (w.shape[1] + 1) * p, "CSC")
    fails_with(check_csr_bits, lambda w, v, i, p: w.size * (v + i) + (w.shape[0] + 1) * p, "every weight")
    fails_with(check_csr_bits, lambda w, v, i, p: csr_learner(w, v, i, p) // 8, "bytes")
