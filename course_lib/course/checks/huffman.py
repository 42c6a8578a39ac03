"""Checks for notebook 06: Huffman code lengths, canonical codes, encoding and decoding ([DC] §4).

Each check runs the learner's function on fixed and seeded random cases, compares
it with :mod:`course_lib.huffman`, and names the typical mistake on failure:
a non-optimal code (Shannon lengths, merging the heaviest subtrees, forgetting to
push the merged subtree back), a code that is not prefix-free, lost leading zeros,
bits packed LSB-first instead of MSB-first, padding decoded as symbols, ...
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from typing import Any, Callable

import numpy as np

from ... import huffman as ref
from .core import CheckFailed, call, fail, passed

# --------------------------------------------------------------------------- cases


def _frequency_cases() -> list[dict[int, int]]:
    rng = np.random.default_rng(6)
    cases: list[dict[int, int]] = [
        {0: 45, 1: 13, 2: 12, 3: 16, 4: 9, 5: 5},  # the textbook example
        {3: 1, 8: 1},
        {0: 1, 1: 2, 2: 4, 3: 8, 4: 16, 5: 32},  # skewed: lengths 1..5
        {10: 7, 11: 7, 12: 7, 13: 7, 14: 7, 15: 7, 16: 7, 17: 7},  # uniform: all 3 bits
    ]
    for n in (12, 30):
        symbols = rng.choice(200, size=n, replace=False)
        counts = rng.geometric(0.05, size=n)
        cases.append({int(s): int(c) for s, c in zip(symbols, counts)})
    return cases


def _optimum(freqs: Mapping[int, int]) -> int:
    """Huffman's optimum, computed independently: the sum of all merged weights."""
    w = list(freqs.values())
    if len(w) == 1:
        return w[0]
    heapq.heapify(w)
    total = 0
    while len(w) > 1:
        m = heapq.heappop(w) + heapq.heappop(w)
        total += m
        heapq.heappush(w, m)
    return total


def _total_bits(freqs: Mapping[int, int], lengths: Mapping[int, int]) -> int:
    return sum(f * lengths[s] for s, f in freqs.items())


def _kraft(lengths: Mapping[int, int]) -> float:
    return sum(2.0 ** -n for n in lengths.values())


def _shannon_lengths(freqs: Mapping[int, int]) -> dict[int, int]:
    total = sum(freqs.values())
    return {s: max(1, math.ceil(-math.log2(f / total))) for s, f in freqs.items()}


def _merge_lengths(freqs: Mapping[int, int], heaviest: bool = False, push_back: bool = True) -> dict[int, int]:
    """Lengths from a wrong merge rule: the two heaviest, or a merged node that is not pushed back."""
    order = sorted(freqs, key=lambda s: (freqs[s], s), reverse=heaviest)
    if not push_back:  # a caterpillar: the running merge always takes the next lightest symbol
        n = len(order)
        return {s: (n - 1 if i == 0 else n - i) for i, s in enumerate(order)}
    sign = -1 if heaviest else 1
    heap = [(sign * freqs[s], i, [s]) for i, s in enumerate(order)]
    heapq.heapify(heap)
    depth = {s: 0 for s in freqs}
    counter = len(heap)
    while len(heap) > 1:
        w1, _, a = heapq.heappop(heap)
        w2, _, b = heapq.heappop(heap)
        for s in a + b:
            depth[s] += 1
        heapq.heappush(heap, (w1 + w2, counter, a + b))
        counter += 1
    return depth


def _as_int_dict(got: Any, fn_name: str, what: str) -> dict[int, Any]:
    if not isinstance(got, Mapping):
        fail(f"{fn_name} returned {type(got).__name__}; return a dict {{symbol: {what}}}.")
    return dict(got)


# --------------------------------------------------------------------------- code lengths


def check_huffman_code_lengths(fn: Callable[[Mapping[int, int]], Mapping[int, int]]) -> None:
    """``fn(frequencies) -> {symbol: code length}`` must give optimal (Huffman) lengths."""
    got = call(fn, {9: 40}, exercise="huffman_code_lengths")
    got = _as_int_dict(got, "huffman_code_lengths", "length")
    if got == {9: 0}:
        fail("huffman_code_lengths({9: 40}) = {9: 0}: a single symbol still needs 1 bit per occurrence. Return {9: 1}.")
    if got != {9: 1}:
        fail(f"huffman_code_lengths({{9: 40}}) = {got}: with one symbol the code is one bit long, {{9: 1}}.")
    for freqs in _frequency_cases():
        got = _as_int_dict(call(fn, dict(freqs), exercise="huffman_code_lengths"), "huffman_code_lengths", "length")
        shown = f"huffman_code_lengths on {len(freqs)} symbols"
        missing = [s for s in freqs if s not in got]
        if missing:
            fail(f"{shown}: symbol {missing[0]} has no length. Every symbol needs a codeword, so every key of frequencies must be in the result.")
        extra = [s for s in got if s not in freqs]
        if extra:
            fail(f"{shown}: the result has symbol {extra[0]!r}, which is not in frequencies. Key the result by the symbols, not by positions or merged nodes.")
        bad = [(s, n) for s, n in got.items() if isinstance(n, bool) or not isinstance(n, (int, np.integer))]
        if bad:
            fail(f"{shown}: the length of symbol {bad[0][0]} is {bad[0][1]!r}; lengths are whole numbers of bits.")
        total, best = _total_bits(freqs, got), _optimum(freqs)
        plus_one = {s: n + 1 for s, n in got.items()}
        minus_one = {s: n - 1 for s, n in got.items()}
        if _total_bits(freqs, plus_one) == best and min(plus_one.values()) >= 1 and _kraft(plus_one) <= 1 + 1e-12:
            fail(f"{shown}: every length is 1 too small. Each merge puts all the symbols of both merged subtrees one level deeper, the first merge included.")
        bad = [(s, n) for s, n in got.items() if n < 1]
        if bad:
            fail(f"{shown}: the length of symbol {bad[0][0]} is {bad[0][1]!r}; every codeword has at least 1 bit.")
        if _kraft(got) > 1 + 1e-12:
            fail(
                f"{shown}: these lengths break Kraft's inequality (sum of 2**-length = {_kraft(got):.3f} > 1), "
                "so no prefix code has them. Count, for each symbol, the merges above it."
            )
        if total == best:
            continue
        if min(got.values()) > 1 and _total_bits(freqs, minus_one) == best:
            fail(f"{shown}: the code is not optimal: every length is 1 too large. Did you count the root as a level? A symbol's length is the number of merges above it.")
        worse = f"{shown}: the code is not optimal ({total} bits where Huffman needs {best})"
        if got == _shannon_lengths(freqs):
            fail(f"{worse}: these are Shannon's lengths ceil(log2(1/p)), which waste up to 1 bit per symbol. Build the Huffman tree: repeatedly merge the two lightest subtrees.")
        if got == _merge_lengths(freqs, heaviest=True):
            fail(f"{worse}: you merged the two heaviest subtrees. heapq is a min-heap: heapq.heappop returns the lightest, and those are the two to merge.")
        if got == _merge_lengths(freqs, push_back=False):
            fail(f"{worse}: you merged the symbols in one pass of sorted order. Push every merged subtree back into the heap (heapq.heappush) so it competes with the rest.")
        fail(f"{worse}. Merge the two lightest subtrees (heapq.heappop twice), push the merge back, and repeat.")
    got = call(fn, {}, exercise="huffman_code_lengths")
    if got != {}:
        fail(f"huffman_code_lengths({{}}) = {got!r}; with no symbols return an empty dict.")
    passed("huffman_code_lengths gives optimal code lengths: the Huffman total on every case, one bit for a single symbol.")


# --------------------------------------------------------------------------- canonical code


def _length_cases() -> list[dict[int, int]]:
    cases = [{0: 1, 1: 2, 2: 3, 3: 3}, {5: 2, 6: 2, 7: 2, 8: 2}, {4: 3, 1: 1, 9: 3, 2: 2}, {0: 1}]
    cases += [ref.huffman_code_lengths(f) for f in _frequency_cases()]
    return cases


def check_canonical_code(fn: Callable[[Mapping[int, int]], Mapping[int, str]]) -> None:
    """``fn(lengths) -> {symbol: '0'/'1' string}`` must be the canonical prefix code."""
    for lengths in _length_cases():
        got = _as_int_dict(call(fn, dict(lengths), exercise="canonical_code"), "canonical_code", "'0'/'1' string")
        want = ref.canonical_code(lengths)
        shown = f"canonical_code({lengths})" if len(lengths) <= 6 else f"canonical_code on {len(lengths)} symbols"
        if set(got) != set(lengths):
            fail(f"{shown}: the symbols of the result {sorted(got)[:8]} differ from those of lengths {sorted(lengths)[:8]}.")
        for s, word in got.items():
            if isinstance(word, (int, np.integer)):
                fail(f"{shown}: the codeword of symbol {s} is the integer {word}. Return strings: format(value, f'0{{length}}b').")
            if not isinstance(word, str) or not word or set(word) - {"0", "1"}:
                fail(f"{shown}: the codeword of symbol {s} is {word!r}; it must be a string of '0' and '1'.")
        for s, word in got.items():
            if len(word) != lengths[s]:
                if len(word) < lengths[s] and word.lstrip("0") == want[s].lstrip("0"):
                    fail(f"{shown}: symbol {s} got {word!r}, {len(word)} bits instead of {lengths[s]}: the leading zeros are lost. Use format(value, f'0{{length}}b'), not bin(value).")
                fail(f"{shown}: symbol {s} got {word!r} of {len(word)} bits, but its length is {lengths[s]}.")
        clash = ref._prefix_clash(got)
        if clash is not None:
            (a, wa), (b, wb) = clash
            fail(
                f"{shown}: the code is not prefix-free: {wa!r} (symbol {a}) is a prefix of {wb!r} (symbol {b}). "
                "When the length grows, shift the next code left by the difference: value = (value + 1) << (new_length - old_length)."
            )
        if got == want:
            continue
        flipped = {s: w.translate(str.maketrans("01", "10")) for s, w in got.items()}
        if flipped == want:
            fail(f"{shown}: your codewords are the complements of the canonical ones. The first (shortest) symbol gets all zeros, and codes count upwards.")
        by_len = lambda code: {n: sorted(w for s, w in code.items() if len(w) == n) for n in set(lengths.values())}  # noqa: E731
        if by_len(got) == by_len(want):
            fail(f"{shown}: the right codewords, but given to the wrong symbols. Within one length, assign them in increasing symbol order: sort by (length, symbol).")
        fail(f"{shown}: prefix-free, but not the canonical code: sort the symbols by (length, symbol); the first gets all zeros; each next code is the previous + 1, shifted left when the length grows. Expected {dict(list(want.items())[:4])}...")
    passed("canonical_code builds the canonical prefix code: right lengths, prefix-free, codes increasing in (length, symbol) order.")


# --------------------------------------------------------------------------- encoding


def _reverse_bits_in_bytes(data: bytes) -> bytes:
    return np.packbits(np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")).tobytes()


def _bit_string(symbols, code) -> str:
    return "".join(code[int(s)] for s in symbols)


def _encode_cases() -> list[tuple[Any, dict[int, str]]]:
    rng = np.random.default_rng(60)
    small = {0: "0", 1: "10", 2: "11"}
    stream = rng.geometric(0.35, size=1500).astype(np.int64)
    code = ref.huffman_code(ref.symbol_counts(stream))
    eight = {0: "00", 1: "01", 2: "10", 3: "11"}
    return [
        ([1, 2, 0, 0], small),  # 6 bits: 10 11 0 0
        ([2, 2, 2, 1, 0, 1, 1], small),  # 13 bits
        ([3, 0, 1, 2], eight),  # exactly one byte
        (stream.tolist(), code),
        (stream[:301], code),  # a NumPy array
    ]


def check_huffman_encode(fn: Callable[[Any, Mapping[int, str]], tuple[bytes, int]]) -> None:
    """``fn(symbols, code) -> (data, number_of_bits)``: codewords concatenated, packed MSB-first."""
    for symbols, code in _encode_cases():
        got = call(fn, symbols, dict(code), exercise="huffman_encode")
        bits = _bit_string(symbols, code)
        want_data, want_n = ref.huffman_encode(symbols, code)
        n_sym = len(symbols)
        shown = f"huffman_encode on {n_sym} symbols ({len(bits)} bits)"
        if not isinstance(got, tuple) or len(got) != 2:
            if isinstance(got, str):
                fail(f"{shown} returned the bit string itself. Pack it into bytes and return (data, number_of_bits).")
            fail(f"{shown} returned {type(got).__name__}; return a pair (data, number_of_bits).")
        data, nbits = got
        if isinstance(data, str):
            fail(f"{shown}: data is a str ({data[:16]!r}...). Pack 8 bits per byte: bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)) after padding with '0'.")
        if isinstance(data, (list, np.ndarray)):
            as_bytes = bytes(np.asarray(data, dtype=np.uint8).tolist()) if np.asarray(data).size else b""
            if as_bytes == want_data:
                fail(f"{shown}: data is a {type(data).__name__} of byte values; return bytes (bytes(values) or array.tobytes()).")
            data = as_bytes  # wrong values too: diagnosed below
        if not isinstance(data, (bytes, bytearray)):
            fail(f"{shown}: data is {type(data).__name__}; return bytes.")
        data = bytes(data)
        if isinstance(nbits, bool) or not isinstance(nbits, (int, np.integer)):
            fail(f"{shown}: number_of_bits is {nbits!r}; return the number of code bits as an int.")
        if data == want_data or len(data) == len(want_data):
            if data != want_data:
                if data == _reverse_bits_in_bytes(want_data):
                    fail(f"{shown}: the bits are packed LSB-first. Pack MSB-first: the first bit of the stream is the most significant bit (value 128) of the first byte, as np.packbits does.")
                if data == want_data[::-1] and len(data) > 1:
                    fail(f"{shown}: the bytes come out in reverse order. Use int(bits, 2).to_bytes(n, 'big'), not 'little'.")
                padded = bits + "1" * (-len(bits) % 8)
                if data == bytes(int(padded[i : i + 8], 2) for i in range(0, len(padded), 8)):
                    fail(f"{shown}: the last byte is padded with 1 bits. Pad with 0 bits.")
                right_aligned = "0" * (-len(bits) % 8) + bits
                if data == bytes(int(right_aligned[i : i + 8], 2) for i in range(0, len(right_aligned), 8)):
                    fail(f"{shown}: the padding zeros are at the start of the stream. They belong after the last bit: pad on the right (bits.ljust(...)) before cutting into bytes.")
                fail(f"{shown}: wrong bytes: got {data[:8].hex()}..., expected {want_data[:8].hex()}... (codewords in order, MSB-first, zero-padded).")
        else:
            if len(data) * 8 < len(bits):
                fail(f"{shown}: {len(data)} bytes cannot hold {len(bits)} bits. Did you drop the last, partial byte? Pad it with zeros.")
            fail(f"{shown}: {len(data)} bytes, expected ceil({len(bits)} / 8) = {len(want_data)}. Pad only up to the next multiple of 8 bits.")
        if nbits != want_n:
            if nbits == 8 * len(data):
                fail(f"{shown}: number_of_bits = {nbits} includes the padding. Return the number of code bits, {want_n}, so the decoder knows where the stream ends.")
            if nbits == len(data):
                fail(f"{shown}: number_of_bits = {nbits} is the number of bytes. Return the number of bits, {want_n}.")
            if nbits == n_sym:
                fail(f"{shown}: number_of_bits = {nbits} is the number of symbols. Return the number of bits, {want_n}.")
            fail(f"{shown}: number_of_bits = {nbits}, expected {want_n}.")
    passed("huffman_encode packs the codewords MSB-first into zero-padded bytes and reports the right number of bits.")


# --------------------------------------------------------------------------- decoding


def _to_symbol_list(got: Any, shown: str) -> list[int]:
    try:
        import torch

        if isinstance(got, torch.Tensor):
            got = got.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(got, np.ndarray):
        got = got.tolist()
    if isinstance(got, (str, bytes)) or not hasattr(got, "__iter__"):
        fail(f"{shown} returned {type(got).__name__}; return the decoded symbols (a list or NumPy array of ints).")
    out = list(got)
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in out):
        bad = next(s for s in out if isinstance(s, bool) or not isinstance(s, (int, np.integer)))
        fail(f"{shown}: the decoded symbols must be ints, found {bad!r}. Map codewords back to their symbols.")
    return [int(s) for s in out]


def check_huffman_decode(fn: Callable[[bytes, Mapping[int, str], int], Any]) -> None:
    """``fn(data, code, count)`` must return the ``count`` symbols, and raise ValueError on a truncated stream."""
    for symbols, code in _encode_cases():
        symbols = [int(s) for s in symbols]
        data, nbits = ref.huffman_encode(symbols, code)
        shown = f"huffman_decode on {len(symbols)} symbols ({nbits} bits, {len(data)} bytes)"
        got = _to_symbol_list(call(fn, data, dict(code), len(symbols), exercise="huffman_decode"), shown)
        if got == symbols:
            continue
        if len(got) > len(symbols) and got[: len(symbols)] == symbols:
            fail(f"{shown}: {len(got)} symbols instead of {len(symbols)}: the zero padding of the last byte was decoded as symbols. Stop after count symbols.")
        if len(got) < len(symbols) and got == symbols[: len(got)]:
            fail(f"{shown}: only {len(got)} of {len(symbols)} symbols. Keep decoding until you have count symbols.")
        try:
            lsb = _to_symbol_list(fn(_reverse_bits_in_bytes(data), dict(code), len(symbols)), shown)
        except Exception:
            lsb = None
        if lsb is not None and lsb == symbols:
            fail(f"{shown}: the bits are read LSB-first. Read MSB-first: the most significant bit (value 128) of each byte comes first, e.g. format(byte, '08b').")
        first_bad = next((i for i, (a, b) in enumerate(zip(got, symbols)) if a != b), min(len(got), len(symbols)))
        fail(f"{shown}: symbol {first_bad} is {got[first_bad] if first_bad < len(got) else 'missing'}, expected {symbols[first_bad]}. Read bits one at a time and look the growing word up in the inverted code {{word: symbol}}.")
    # A truncated stream must raise ValueError, not return fewer symbols.
    symbols, code = _encode_cases()[3]
    data, nbits = ref.huffman_encode(symbols, code)
    cut = data[: len(data) // 2]
    shown = f"huffman_decode on a truncated stream ({len(cut)} of {len(data)} bytes, count={len(symbols)})"
    try:
        got = fn(cut, dict(code), len(symbols))
    except ValueError:
        pass
    except NotImplementedError:
        call(fn, cut, dict(code), len(symbols), exercise="huffman_decode")
    except Exception as exc:
        fail(f"{shown} raised {type(exc).__name__}: {exc}. Check that bits remain and raise ValueError('truncated ...') instead.")
    else:
        fail(f"{shown} returned {len(list(got))} symbols instead of raising. When the bits run out before count symbols, raise ValueError: the stream is truncated.")
    passed("huffman_decode reads MSB-first, stops after count symbols and rejects a truncated stream.")


__all__ = [
    "check_huffman_code_lengths",
    "check_canonical_code",
    "check_huffman_encode",
    "check_huffman_decode",
    "CheckFailed",
]
