"""Checks for notebook 07: Huffman code lengths, canonical codes, encoding and decoding ([DC] §4).

Each check runs the learner's function on fixed and seeded random cases, smallest first,
compares it with :mod:`course_lib.huffman`, and names the typical mistake on failure:
a non-optimal code (Shannon lengths, merging the heaviest subtrees, forgetting to
push the merged subtree back), a code that is not prefix-free, ties within one length
assigned in the wrong order, lost leading zeros, bits packed LSB-first instead of
MSB-first, padding decoded as symbols, a truncated stream that does not raise, ...

Every call goes through :func:`core.call_unchanged`: a function that empties or edits
the caller's dict of frequencies, lengths or codewords (or the list of symbols) fails
naming that argument. Ties (equal frequencies, equal lengths) are offered with the
symbols in both orders, so an answer that follows the dict's order is seen.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from typing import Any, Callable

import numpy as np

from ... import huffman as ref
from .core import CheckFailed, as_int, call, call_unchanged, fail, passed


# --------------------------------------------------------------------------- cases


def _reversed(d: Mapping[int, Any]) -> dict[int, Any]:
    """The same dict with its keys in the opposite insertion order (ties then come in the other order)."""
    return dict(reversed(list(d.items())))


def _frequency_cases() -> list[dict[int, int]]:
    rng = np.random.default_rng(6)
    cases: list[dict[int, int]] = [
        {3: 1, 8: 1},
        {0: 1, 1: 1, 2: 2},  # the first merge (weight 2) ties with symbol 2
        {2: 2, 1: 1, 0: 1},  # the same, in the other order
        {5: 3, 2: 3, 9: 3},  # three equal weights
        {0: 45, 1: 13, 2: 12, 3: 16, 4: 9, 5: 5},  # the textbook example
        {0: 1, 1: 2, 2: 4, 3: 8, 4: 16, 5: 32},  # skewed: lengths 1..5
        {5: 32, 4: 16, 3: 8, 2: 4, 1: 2, 0: 1},  # the same, heaviest first
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
        return _caterpillar(order)
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


def _is_symbol(s: Any) -> bool:
    return (type(s) is int or isinstance(s, np.integer)) and not isinstance(s, (bool, np.bool_))


def _as_dict(got: Any, shown: str, what: str) -> dict[int, Any]:
    """The learner's answer as a plain dict with plain int keys, or a failure naming what is wrong."""
    if got is None:
        fail(f"{shown} returned None: the function has no `return` (or returns nothing on this input). "
             f"Return a dict {{symbol: {what}}}.")
    if not isinstance(got, Mapping):
        fail(f"{shown} returned {type(got).__name__}; return a dict {{symbol: {what}}}.")
    out: dict[int, Any] = {}
    for s, v in dict(got).items():
        if not _is_symbol(s):
            fail(f"{shown}: the result has the key {s!r} ({type(s).__name__}); key it by the symbols (ints).")
        out[int(s)] = v
    return out


def _show(fn_name: str, d: Mapping[int, Any], limit: int = 6) -> str:
    return f"{fn_name}({dict(d)})" if len(d) <= limit else f"{fn_name} on {len(d)} symbols"


# --------------------------------------------------------------------------- code lengths


def _call_lengths(fn: Callable, freqs: dict[int, int], shown: str) -> Any:
    try:
        return call_unchanged(fn, freqs, exercise="huffman_code_lengths")
    except CheckFailed as exc:
        cause = exc.__cause__
        if isinstance(cause, TypeError) and "not supported between instances" in str(cause):
            fail(f"{shown} raised TypeError ({cause}). Two heap entries had equal weights, so heapq compared "
                 "the next items of the tuples, which have no order. Put a unique counter (a tiebreak) right "
                 "after the weight: (weight, counter, tree).")
        raise


def _caterpillar(order: list[int]) -> dict[int, int]:
    """The lengths of a tree that merges the symbols one by one in ``order`` (no heap)."""
    n = len(order)
    return {s: (n - 1 if i == 0 else n - i) for i, s in enumerate(order)}


def _check_lengths_case(fn: Callable, freqs: dict[int, int]) -> str | None:
    """Fail naming the mistake; or return a diagnosis that fits several mistakes on this case (None: right)."""
    shown = _show("huffman_code_lengths", freqs)
    got = _as_dict(_call_lengths(fn, dict(freqs), shown), shown, "length")
    missing = [s for s in freqs if s not in got]
    if missing:
        fail(f"{shown}: symbol {missing[0]} has no length. Every symbol needs a codeword, so every key of "
             "frequencies must be in the result.")
    extra = [s for s in got if s not in freqs]
    if extra:
        fail(f"{shown}: the result has symbol {extra[0]!r}, which is not in frequencies. Key the result by "
             "the symbols, not by positions or merged nodes.")
    got = {s: as_int(n, f"{shown}: the length of symbol {s}") for s, n in got.items()}
    want = ref.huffman_code_lengths(freqs)
    if len(freqs) == 1:
        (s,) = freqs
        if got[s] == 0:
            fail(f"{shown} = {got}: a single symbol still needs 1 bit per occurrence. Return {{{s}: 1}}.")
        if got[s] != 1:
            fail(f"{shown} = {got}: with one symbol the code is one bit long, {{{s}: 1}}.")
        return None
    total, best = _total_bits(freqs, got), _optimum(freqs)
    plus_one = {s: n + 1 for s, n in got.items()}
    minus_one = {s: n - 1 for s, n in got.items()}
    if _total_bits(freqs, plus_one) == best and min(plus_one.values()) >= 1 and _kraft(plus_one) <= 1 + 1e-12:
        fail(f"{shown} = {got}: every length is 1 too small. Each merge puts all the symbols of both merged "
             "subtrees one level deeper, the first merge included.")
    bad = [(s, n) for s, n in got.items() if n < 1]
    if bad:
        lost = (" It was never part of a merge: did a subtree get lost, e.g. two subtrees of equal weight "
                "overwriting each other in a dict keyed by weight?") if any(n > 0 for n in got.values()) else ""
        fail(f"{shown}: the length of symbol {bad[0][0]} is {bad[0][1]!r}; every codeword has at least 1 bit.{lost}")
    if _kraft(got) > 1 + 1e-12:
        fail(f"{shown}: these lengths break Kraft's inequality (sum of 2**-length = {_kraft(got):.3f} > 1), "
             "so no prefix code has them. Count, for each symbol, the merges above it.")
    if total == best:
        return None
    if min(got.values()) > 1 and _total_bits(freqs, minus_one) == best:
        fail(f"{shown}: the code is not optimal: every length is 1 too large. Did you count the root as a "
             "level? A symbol's length is the number of merges above it.")
    worse = f"{shown}: the code is not optimal ({total} bits where Huffman needs {best})"
    found = []
    if got == _shannon_lengths(freqs):
        found.append("these are Shannon's lengths ceil(log2(1/p)), which waste up to 1 bit per symbol. "
                     "Build the Huffman tree: repeatedly merge the two lightest subtrees.")
    if got == _merge_lengths(freqs, heaviest=True):
        found.append("you merged the two heaviest subtrees. heapq is a min-heap: heapq.heappop returns the "
                     "lightest, and those are the two to merge.")
    if got == _merge_lengths(freqs, push_back=False):
        found.append("you merged the symbols in one pass of sorted order. Push every merged subtree back "
                     "into the heap (heapq.heappush) so it competes with the rest.")
    if got == _caterpillar(list(freqs)) and list(freqs) != sorted(freqs, key=lambda s: (freqs[s], s)):
        found.append("you merged the symbols in the order of the dict, which is not sorted by frequency. "
                     "Put them in a min-heap (heapq) and always merge the two lightest.")
    if len(found) == 1:
        fail(f"{worse}: {found[0]}")
    if found:  # several mistakes give these lengths on so small a case: let a larger case tell them apart
        return f"{worse}: {found[0]}"
    example = f" You returned {got}; Huffman's lengths are {want}." if len(freqs) <= 6 else ""
    fail(f"{worse}.{example} Merge the two lightest subtrees (heapq.heappop twice), push the merge back, "
         "and repeat.")
    return None


def check_huffman_code_lengths(fn: Callable[[Mapping[int, int]], Mapping[int, int]]) -> None:
    """``fn(frequencies) -> {symbol: code length}`` must give optimal (Huffman) lengths.

    Any optimal lengths pass (ties may be broken either way); the caller's dict must stay
    as it was; lengths must be plain ints; one symbol gets 1 bit, no symbols give ``{}``.
    """
    _check_lengths_case(fn, {9: 40})
    got = _call_lengths(fn, {}, "huffman_code_lengths({})")
    if _as_dict(got, "huffman_code_lengths({})", "length") != {}:
        fail(f"huffman_code_lengths({{}}) = {got!r}; with no symbols return an empty dict.")
    deferred = None
    for freqs in _frequency_cases():
        found = _check_lengths_case(fn, freqs)  # always run: a later case may name the mistake alone
        deferred = deferred or found
    if deferred:
        fail(deferred)
    passed("huffman_code_lengths gives optimal lengths (ties in both orders), 1 bit for one symbol.")


# --------------------------------------------------------------------------- canonical code


def _length_cases() -> list[dict[int, int]]:
    cases = [
        {0: 1},
        {0: 1, 1: 2, 2: 3, 3: 3},
        {3: 3, 2: 3, 1: 2, 0: 1},  # the same, symbols in the other order
        {0: 3, 1: 1, 2: 3, 3: 2},  # symbol order is not length order
        {5: 2, 6: 2, 7: 2, 8: 2},
        {8: 2, 7: 2, 6: 2, 5: 2},  # equal lengths, decreasing symbols
        {4: 3, 1: 1, 9: 3, 2: 2},
        {9: 3, 4: 3, 2: 2, 1: 1},
    ]
    for f in _frequency_cases():
        lengths = ref.huffman_code_lengths(f)
        cases += [lengths, _reversed(lengths)]
    return cases


def _assign_in_order(lengths: Mapping[int, int], order: list[int]) -> dict[int, str] | None:
    """The code a learner gets by walking the symbols in ``order`` (None if that order breaks the rule)."""
    code, value, prev = {}, 0, None
    for s in order:
        n = lengths[s]
        if prev is not None:
            if n < prev:
                return None
            value = (value + 1) << (n - prev)
        code[s] = format(value, f"0{n}b")
        prev = n
    return code


def _call_canonical(fn: Callable, lengths: dict[int, int], shown: str) -> Any:
    try:
        return call_unchanged(fn, lengths, exercise="canonical_code")
    except CheckFailed as exc:
        cause = exc.__cause__
        if isinstance(cause, ValueError) and "negative shift" in str(cause):
            fail(f"{shown} raised ValueError: negative shift count. The symbols were not taken in order of "
                 "increasing length: sort them by (length, symbol) first, so the shift is never negative.")
        raise


def check_canonical_code(fn: Callable[[Mapping[int, int]], Mapping[int, str]]) -> None:
    """``fn(lengths) -> {symbol: '0'/'1' string}`` must be the canonical prefix code.

    Symbols are taken in (length, symbol) order; the check offers equal lengths with the
    symbols in both dict orders, so following the dict's order instead is seen.
    """
    for lengths in _length_cases():
        shown = _show("canonical_code", lengths)
        got = _as_dict(_call_canonical(fn, dict(lengths), shown), shown, "'0'/'1' string")
        want = ref.canonical_code(lengths)
        if set(got) != set(lengths):
            fail(f"{shown}: the symbols of the result {sorted(got)[:8]} differ from those of lengths "
                 f"{sorted(lengths)[:8]}.")
        for s, word in got.items():
            if isinstance(word, (int, np.integer)):
                fail(f"{shown}: the codeword of symbol {s} is the integer {word}. Return strings: "
                     "format(value, f'0{length}b').")
            if not isinstance(word, str) or not word or set(str.__str__(word)) - {"0", "1"}:
                fail(f"{shown}: the codeword of symbol {s} is {word!r}; it must be a string of '0' and '1'.")
        got = {s: str.__str__(w) for s, w in got.items()}  # plain str: no subclass with its own ==
        for s, word in got.items():
            if len(word) != lengths[s]:
                if len(word) < lengths[s] and word.lstrip("0") == want[s].lstrip("0"):
                    fail(f"{shown}: symbol {s} got {word!r}, {len(word)} bits instead of {lengths[s]}: the "
                         "leading zeros are lost. Use format(value, f'0{length}b'), not bin(value).")
                fail(f"{shown}: symbol {s} got {word!r} of {len(word)} bits, but its length is {lengths[s]}.")
        clash = ref._prefix_clash(got)
        if clash is not None:
            (a, wa), (b, wb) = clash
            fail(f"{shown}: the code is not prefix-free: {wa!r} (symbol {a}) is a prefix of {wb!r} (symbol {b}). "
                 "When the length grows, shift the next code left by the difference: "
                 "value = (value + 1) << (new_length - old_length).")
        if got == want:
            continue
        flipped = {s: w.translate(str.maketrans("01", "10")) for s, w in got.items()}
        if flipped == want:
            fail(f"{shown}: your codewords are the complements of the canonical ones. The first (shortest) "
                 "symbol gets all zeros, and codes count upwards.")
        by_len = lambda code: {n: sorted(w for s, w in code.items() if len(w) == n) for n in set(lengths.values())}  # noqa: E731
        if by_len(got) == by_len(want):
            dict_order = _assign_in_order(lengths, sorted(lengths, key=lambda s: lengths[s]))
            if got == dict_order:
                fail(f"{shown} = {got}: within one length the codewords follow the order of the dict, not the "
                     "symbols. Sort by (length, symbol): sorted(lengths, key=lambda s: (lengths[s], s)).")
            if got == _assign_in_order(lengths, sorted(lengths, key=lambda s: (lengths[s], -s))):
                fail(f"{shown} = {got}: within one length the symbols are in decreasing order. Assign them in "
                     "increasing symbol order: sort by (length, symbol).")
            fail(f"{shown} = {got}: the right codewords, but given to the wrong symbols. Within one length, "
                 "assign them in increasing symbol order: sort by (length, symbol).")
        fail(f"{shown} = {dict(list(got.items())[:6])}: prefix-free, but not the canonical code "
             f"{dict(list(want.items())[:6])}. Sort the symbols by (length, symbol); the first gets all zeros; "
             "each next code is the previous + 1, shifted left when the length grows.")
    passed("canonical_code gives the canonical prefix code, codes increasing in (length, symbol) order.")


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
        ([5] * 9, {5: "1"}),  # 9 one-bits: 0xff 0x80
        (stream.tolist(), code),
        (stream[:301], code),  # a NumPy array
    ]


def _shown_encode(symbols, code, nbits: int) -> str:
    if len(symbols) <= 9:
        return f"huffman_encode({list(map(int, symbols))}, {code})"
    return f"huffman_encode on {len(symbols)} symbols ({nbits} bits)"


def _as_bytes(data: Any, shown: str, want_data: bytes) -> bytes:
    if isinstance(data, str):
        fail(f"{shown}: data is a str ({data[:16]!r}...). Pack 8 bits per byte: "
             "bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)) after padding with '0'.")
    if isinstance(data, (list, tuple, np.ndarray)):
        arr = np.asarray(data)
        as_bytes = bytes(arr.astype(np.uint8).tolist()) if arr.size and np.issubdtype(arr.dtype, np.integer) else b""
        if as_bytes == want_data:
            fail(f"{shown}: data is a {type(data).__name__} of byte values; return bytes "
                 "(bytes(values) or array.tobytes()).")
        fail(f"{shown}: data is a {type(data).__name__}; return bytes, 8 code bits per byte.")
    if not isinstance(data, (bytes, bytearray)):
        fail(f"{shown}: data is {type(data).__name__}; return bytes.")
    return bytes(memoryview(data))  # plain bytes: no subclass with its own ==


def check_huffman_encode(fn: Callable[[Any, Mapping[int, str]], tuple[bytes, int]]) -> None:
    """``fn(symbols, code) -> (data, number_of_bits)``: codewords concatenated, packed MSB-first."""
    for symbols, code in _encode_cases():
        bits = _bit_string(symbols, code)
        want_data, want_n = ref.huffman_encode(symbols, code)
        n_sym = len(symbols)
        shown = _shown_encode(symbols, code, len(bits))
        arg = list(symbols) if isinstance(symbols, list) else symbols.copy()
        got = call_unchanged(fn, arg, dict(code), exercise="huffman_encode")
        if not isinstance(got, tuple) or len(got) != 2:
            if isinstance(got, str):
                fail(f"{shown} returned the bit string itself. Pack it into bytes and return (data, number_of_bits).")
            if got is None:
                fail(f"{shown} returned None: add `return data, number_of_bits`.")
            if isinstance(got, (bytes, bytearray)):
                fail(f"{shown} returned only the bytes; return the pair (data, number_of_bits).")
            fail(f"{shown} returned {type(got).__name__}; return a pair (data, number_of_bits).")
        data, nbits = got
        if isinstance(nbits, (bytes, bytearray)) and not isinstance(data, (bytes, bytearray, str)):
            fail(f"{shown} returned ({data!r}, {nbits[:8]!r}...): the pair is swapped. Return (data, number_of_bits), "
                 "the bytes first.")
        data = _as_bytes(data, shown, want_data)
        nbits = as_int(nbits, f"{shown}: number_of_bits")
        if data != want_data:
            if len(data) == len(want_data):
                if data == _reverse_bits_in_bytes(want_data):
                    fail(f"{shown}: the bits are packed LSB-first. Pack MSB-first: the first bit of the stream is "
                         "the most significant bit (value 128) of the first byte, as np.packbits does.")
                if data == want_data[::-1] and len(data) > 1:
                    fail(f"{shown}: the bytes come out in reverse order. Use int(bits, 2).to_bytes(n, 'big'), not 'little'.")
                padded = bits + "1" * (-len(bits) % 8)
                if data == bytes(int(padded[i : i + 8], 2) for i in range(0, len(padded), 8)):
                    fail(f"{shown}: the last byte is padded with 1 bits. Pad with 0 bits.")
                right_aligned = "0" * (-len(bits) % 8) + bits
                if data == bytes(int(right_aligned[i : i + 8], 2) for i in range(0, len(right_aligned), 8)):
                    fail(f"{shown}: the padding zeros are at the start of the stream. They belong after the last "
                         "bit: pad on the right (bits.ljust(...)) before cutting into bytes.")
                fail(f"{shown}: wrong bytes: got {data[:8].hex()}, expected {want_data[:8].hex()} "
                     "(codewords in order, MSB-first, zero-padded).")
            if len(data) * 8 < len(bits):
                fail(f"{shown}: {len(data)} bytes cannot hold {len(bits)} bits. Did you drop the last, partial "
                     "byte? Pad it with zeros.")
            fail(f"{shown}: {len(data)} bytes, expected ceil({len(bits)} / 8) = {len(want_data)}. Pad only up to "
                 "the next multiple of 8 bits.")
        if nbits != want_n:
            if nbits == 8 * len(data):
                fail(f"{shown}: number_of_bits = {nbits} includes the padding. Return the number of code bits, "
                     f"{want_n}, so the decoder knows where the stream ends.")
            if nbits == len(data):
                fail(f"{shown}: number_of_bits = {nbits} is the number of bytes. Return the number of bits, {want_n}.")
            if nbits == n_sym:
                fail(f"{shown}: number_of_bits = {nbits} is the number of symbols. Return the number of bits, {want_n}.")
            fail(f"{shown}: number_of_bits = {nbits}, expected {want_n}.")
    passed("huffman_encode packs the codewords MSB-first into zero-padded bytes; number of bits right.")


# --------------------------------------------------------------------------- decoding


def _to_symbol_list(got: Any, shown: str) -> list[int]:
    try:
        import torch

        if isinstance(got, torch.Tensor):
            if got.is_floating_point():
                fail(f"{shown} returned a float tensor; the decoded symbols are ints.")
            got = got.tolist()
    except ImportError:  # pragma: no cover
        pass
    if got is None:
        fail(f"{shown} returned None: return the list of decoded symbols.")
    if isinstance(got, np.ndarray):
        if got.size and not np.issubdtype(got.dtype, np.integer):
            fail(f"{shown} returned an array of dtype {got.dtype}; the decoded symbols are ints.")
        got = got.tolist()
    if isinstance(got, (str, bytes, bytearray, Mapping)) or not hasattr(got, "__iter__"):
        fail(f"{shown} returned {type(got).__name__}; return the decoded symbols (a list or NumPy array of ints).")
    out = list(got)
    bad = next((s for s in out if not _is_symbol(s)), None)
    if bad is not None:
        fail(f"{shown}: the decoded symbols must be ints, found {bad!r} ({type(bad).__name__}). "
             "Map codewords back to their symbols.")
    return [int(s) for s in out]


def _truncated_cases() -> list[tuple[bytes, dict[int, str], int, str]]:
    """(data, code, count, what): streams that hold fewer than ``count`` symbols."""
    eight = {0: "00", 1: "01", 2: "10", 3: "11"}
    one_byte, _ = ref.huffman_encode([3, 0, 1, 2], eight)
    symbols, code = _encode_cases()[4]
    data, _ = ref.huffman_encode(symbols, code)
    return [
        (one_byte, eight, 5, f"huffman_decode({one_byte!r}, {eight}, 5): one byte holds only 4 symbols"),
        (b"", {0: "0", 1: "10", 2: "11"}, 1, "huffman_decode(b'', {0: '0', 1: '10', 2: '11'}, 1): no bits at all"),
        (data[: len(data) // 2], code, len(symbols),
         f"huffman_decode on a truncated stream ({len(data) // 2} of {len(data)} bytes, count={len(symbols)})"),
    ]


def _check_truncated(fn: Callable, data: bytes, code: dict[int, str], count: int, shown: str) -> None:
    """A stream that ends before ``count`` symbols must raise ValueError: anything else is named."""
    try:
        got = fn(data, dict(code), count)
    except ValueError:
        return
    except NotImplementedError:
        call(fn, data, dict(code), count, exercise="huffman_decode")
        raise
    except CheckFailed:
        raise
    except Exception as exc:
        fail(f"{shown}: it raised {type(exc).__name__} ({exc}). When the bits run out before count symbols, "
             "raise ValueError('truncated ...') yourself instead.")
    rule = ("The contract: when the bits run out before count symbols, the stream is truncated: "
            "raise ValueError.")
    if got is None:
        fail(f"{shown}: it returned None instead of raising. {rule}")
    try:
        n = len(got)
    except TypeError:
        fail(f"{shown}: it returned {type(got).__name__} instead of raising. {rule}")
    if n >= count:
        fail(f"{shown}: it returned {n} symbols; the stream does not hold {count}. Only bits that are there "
             f"can be decoded. {rule}")
    fail(f"{shown}: it returned {n} symbols instead of raising. {rule}")


def check_huffman_decode(fn: Callable[[bytes, Mapping[int, str], int], Any]) -> None:
    """``fn(data, code, count)`` must return the ``count`` symbols, and raise ValueError on a truncated stream."""
    for symbols, code in _encode_cases():
        symbols = [int(s) for s in symbols]
        data, nbits = ref.huffman_encode(symbols, code)
        if len(symbols) <= 9:
            shown = f"huffman_decode({data!r}, {code}, {len(symbols)})"
        else:
            shown = f"huffman_decode on {len(symbols)} symbols ({nbits} bits, {len(data)} bytes)"
        got = _to_symbol_list(call_unchanged(fn, data, dict(code), len(symbols), exercise="huffman_decode"), shown)
        if got == symbols:
            continue
        if len(got) > len(symbols) and got[: len(symbols)] == symbols:
            fail(f"{shown}: {len(got)} symbols instead of {len(symbols)}: the zero padding of the last byte was "
                 "decoded as symbols. Stop after count symbols.")
        if len(got) < len(symbols) and got == symbols[: len(got)]:
            fail(f"{shown}: only {len(got)} of {len(symbols)} symbols. Keep decoding until you have count symbols.")
        try:
            lsb = _to_symbol_list(fn(_reverse_bits_in_bytes(data), dict(code), len(symbols)), shown)
        except Exception:
            lsb = None
        if lsb is not None and lsb == symbols:
            fail(f"{shown}: the bits are read LSB-first. Read MSB-first: the most significant bit (value 128) "
                 "of each byte comes first, e.g. format(byte, '08b').")
        first_bad = next((i for i, (a, b) in enumerate(zip(got, symbols)) if a != b), min(len(got), len(symbols)))
        head = f" = {got}, expected {symbols}" if len(symbols) <= 9 else ""
        fail(f"{shown}{head}: symbol {first_bad} is {got[first_bad] if first_bad < len(got) else 'missing'}, "
             f"expected {symbols[first_bad]}. Read bits one at a time and look the growing word up in the "
             "inverted code {word: symbol}.")
    for data, code, count, shown in _truncated_cases():
        _check_truncated(fn, data, code, count, shown)
    passed("huffman_decode reads MSB-first, stops after count symbols and rejects a truncated stream.")


__all__ = [
    "check_huffman_code_lengths",
    "check_canonical_code",
    "check_huffman_encode",
    "check_huffman_decode",
    "CheckFailed",
]
