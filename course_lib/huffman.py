"""Huffman coding of the quantized weight indices and the sparse index gaps ([DC] §4).

After pruning and weight sharing, a layer is two streams of small integers: the
cluster index of every stored weight and the relative position (gap) of every
stored weight (see :mod:`course_lib.sparse_storage`). Their distributions are far
from uniform ([DC] Fig. 5), so a variable-length prefix code saves bits: [DC] §4
reports 20-30% less storage.

- :func:`entropy` / :func:`entropy_from_counts`: Shannon's bound in bits per symbol;
  no lossless symbol code can do better on average.
- :func:`huffman_code_lengths`: Huffman's algorithm with :mod:`heapq`; repeatedly
  merge the two lightest subtrees. Every merge adds one bit to each symbol below it.
- :func:`canonical_code`: turns code lengths into the canonical prefix code, so a
  file only has to store one length per symbol.
- :func:`huffman_encode` / :func:`huffman_decode`: bits packed MSB-first into bytes,
  and a table-driven decoder (one table lookup per symbol, not one Python step per bit).

Symbols are Python or NumPy integers; frequencies are non-negative counts.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from typing import Any, Iterable, Mapping

import numpy as np

__all__ = [
    "symbol_counts",
    "entropy",
    "entropy_from_counts",
    "huffman_code_lengths",
    "canonical_code",
    "huffman_code",
    "is_prefix_free",
    "code_bits",
    "huffman_bits",
    "huffman_encode",
    "huffman_decode",
    "MAX_CODE_LENGTH",
]

# Codewords are handled as unsigned 64-bit integers by the encoder and decoder.
MAX_CODE_LENGTH = 63


# --------------------------------------------------------------------------- input checks


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _as_symbol_array(symbols: Any, what: str = "symbols") -> np.ndarray:
    """A 1-D int64 array from a list, NumPy array or 1-D integer tensor; clear errors otherwise."""
    try:
        import torch

        if isinstance(symbols, torch.Tensor):
            if symbols.is_floating_point() or symbols.is_complex() or symbols.dtype == torch.bool:
                raise TypeError(
                    f"{what} must hold integers, got a tensor of dtype {symbols.dtype}. "
                    "Convert first, e.g. indices.long(), if the values are whole numbers."
                )
            symbols = symbols.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a course dependency
        pass
    if isinstance(symbols, (bytes, bytearray, str)):
        raise TypeError(f"{what} must be a sequence of integers, not {type(symbols).__name__}.")
    if not isinstance(symbols, np.ndarray):
        items = list(symbols)
        bad = next((s for s in items if not _is_int(s)), None)
        if bad is not None:
            raise TypeError(f"{what} must be integers; found {bad!r} of type {type(bad).__name__}.")
        return np.asarray(items, dtype=np.int64).reshape(-1)
    if symbols.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {symbols.shape}. Flatten it first (x.ravel()).")
    if symbols.dtype == np.bool_ or not np.issubdtype(symbols.dtype, np.integer):
        raise TypeError(
            f"{what} must have an integer dtype, got {symbols.dtype}. "
            "Huffman codes integer symbols such as cluster indices or gaps."
        )
    if symbols.dtype == np.uint64 and symbols.size and symbols.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{what} has values beyond the int64 range.")
    return symbols.astype(np.int64, copy=False)


def _checked_frequencies(frequencies: Mapping[int, Any]) -> dict[int, float]:
    if not isinstance(frequencies, Mapping):
        raise TypeError(
            f"frequencies must be a mapping symbol -> count (e.g. collections.Counter), "
            f"got {type(frequencies).__name__}. Use symbol_counts(symbols) to count a stream."
        )
    out: dict[int, float] = {}
    for sym, freq in frequencies.items():
        if not _is_int(sym):
            raise TypeError(f"Symbols must be integers; got key {sym!r} of type {type(sym).__name__}.")
        if isinstance(freq, (bool, np.bool_)) or not isinstance(freq, (int, float, np.integer, np.floating)):
            raise TypeError(f"The frequency of symbol {sym} must be a number, got {freq!r}.")
        if not math.isfinite(float(freq)) or freq < 0:
            raise ValueError(f"The frequency of symbol {sym} must be a finite count >= 0, got {freq!r}.")
        out[int(sym)] = freq
    return out


def _checked_code(code: Mapping[int, str]) -> dict[int, str]:
    """Validate a code table: integer symbols, non-empty '0'/'1' strings, prefix-free."""
    if not isinstance(code, Mapping):
        raise TypeError(f"code must be a mapping symbol -> '0'/'1' string, got {type(code).__name__}.")
    out: dict[int, str] = {}
    for sym, word in code.items():
        if not _is_int(sym):
            raise TypeError(f"Code symbols must be integers; got key {sym!r}.")
        if not isinstance(word, str) or not word or set(word) - {"0", "1"}:
            raise ValueError(f"The codeword of symbol {sym} must be a non-empty string of '0' and '1', got {word!r}.")
        if len(word) > MAX_CODE_LENGTH:
            raise ValueError(f"The codeword of symbol {sym} has {len(word)} bits; at most {MAX_CODE_LENGTH} are supported.")
        out[int(sym)] = word
    clash = _prefix_clash(out)
    if clash is not None:
        (a, wa), (b, wb) = clash
        raise ValueError(
            f"The code is not prefix-free: the codeword of symbol {a} ({wa!r}) is a prefix of "
            f"the codeword of symbol {b} ({wb!r}), so a decoder could not tell them apart."
        )
    return out


def _prefix_clash(code: Mapping[int, str]) -> tuple[tuple[int, str], tuple[int, str]] | None:
    """Two entries whose codewords are equal or one is a prefix of the other, else None.

    After sorting the codewords as strings, a prefix sits right before some word that
    extends it, so comparing neighbours is enough.
    """
    items = sorted(code.items(), key=lambda kv: kv[1])
    for (a, wa), (b, wb) in zip(items, items[1:]):
        if wb.startswith(wa):
            return (a, wa), (b, wb)
    return None


def is_prefix_free(code: Mapping[int, str]) -> bool:
    """True when no codeword is a prefix of (or equal to) another."""
    return _prefix_clash(code) is None


# --------------------------------------------------------------------------- entropy


def symbol_counts(symbols: Any) -> dict[int, int]:
    """How often each symbol occurs: ``{symbol: count}`` for a list, array or integer tensor."""
    arr = _as_symbol_array(symbols)
    values, counts = np.unique(arr, return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts)}


def entropy_from_counts(counts: Mapping[int, Any] | Iterable[Any]) -> float:
    """Shannon entropy H = -sum p log2 p in bits per symbol ([DC] §4's lower bound).

    ``counts`` is a mapping symbol -> count or a sequence/array of counts. Zero counts
    contribute nothing; an empty or all-zero input has entropy 0.
    """
    if isinstance(counts, Mapping):
        counts = list(_checked_frequencies(counts).values())
    elif not isinstance(counts, np.ndarray):
        counts = list(counts)
    try:
        arr = np.asarray(counts, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"counts must be numbers (a mapping symbol -> count, or a sequence of counts): {exc}") from None
    if arr.size and (not np.all(np.isfinite(arr)) or arr.min() < 0):
        raise ValueError("Counts must be finite and >= 0.")
    total = arr.sum()
    if total <= 0:
        return 0.0
    p = arr[arr > 0] / total
    return float(-(p * np.log2(p)).sum()) + 0.0


def entropy(symbols: Any) -> float:
    """Empirical Shannon entropy of a stream of integer symbols, in bits per symbol."""
    return entropy_from_counts(symbol_counts(symbols))


# --------------------------------------------------------------------------- building the code


def huffman_code_lengths(frequencies: Mapping[int, int]) -> dict[int, int]:
    """Optimal prefix-code lengths by Huffman's algorithm ([DC] §4).

    Put every symbol in a min-heap keyed by its frequency; repeatedly pop the two
    lightest subtrees and push their merge, whose weight is the sum. Each merge puts
    every symbol of both subtrees one level deeper, so a symbol's code length is the
    number of merges above it.

    Ties are broken deterministically: leaves enter the heap in increasing symbol
    order and every heap entry carries a running counter, so equal weights pop in
    the order they were created. The same frequencies always give the same lengths.

    - one symbol: length 1 (a code needs at least one bit per symbol);
    - empty input: ``{}``;
    - symbols with frequency 0 are kept and get (long) codes too.
    """
    freqs = _checked_frequencies(frequencies)
    symbols = sorted(freqs)
    if not symbols:
        return {}
    if len(symbols) == 1:
        return {symbols[0]: 1}
    # Nodes 0..n-1 are the leaves; merges create nodes n, n+1, ...; parent[] links them.
    parent: list[int] = [-1] * len(symbols)
    heap: list[tuple[float, int]] = [(freqs[s], i) for i, s in enumerate(symbols)]
    heapq.heapify(heap)  # (weight, node id): node ids are unique, so ties go by creation order
    while len(heap) > 1:
        w1, a = heapq.heappop(heap)
        w2, b = heapq.heappop(heap)
        node = len(parent)
        parent.append(-1)
        parent[a] = parent[b] = node
        heapq.heappush(heap, (w1 + w2, node))
    # Depth of each node, computed root-down: parents always have larger ids than children.
    depth = [0] * len(parent)
    for node in range(len(parent) - 2, -1, -1):
        depth[node] = depth[parent[node]] + 1
    return {s: depth[i] for i, s in enumerate(symbols)}


def canonical_code(lengths: Mapping[int, int]) -> dict[int, str]:
    """The canonical prefix code for the given code lengths (as in DEFLATE, RFC 1951 §3.2.2).

    Sort the symbols by ``(length, symbol)``. The first gets the all-zeros word of
    its length; each next word is the previous one plus 1, shifted left by however
    much longer it is. A decoder rebuilds the same code from the lengths alone.

    Raises ``ValueError`` when the lengths break Kraft's inequality
    (sum of 2**-length > 1): no prefix code has such lengths.
    """
    if not isinstance(lengths, Mapping):
        raise TypeError(f"lengths must be a mapping symbol -> code length, got {type(lengths).__name__}.")
    for sym, n in lengths.items():
        if not _is_int(sym):
            raise TypeError(f"Symbols must be integers; got key {sym!r}.")
        if not _is_int(n) or not 1 <= n <= MAX_CODE_LENGTH:
            raise ValueError(f"The code length of symbol {sym} must be an integer in 1..{MAX_CODE_LENGTH}, got {n!r}.")
    items = sorted(((int(n), int(s)) for s, n in lengths.items()))
    if not items:
        return {}
    longest = items[-1][0]
    kraft = sum(1 << (longest - n) for n, _ in items)
    if kraft > 1 << longest:
        raise ValueError(
            f"These code lengths break Kraft's inequality (sum of 2**-length = {kraft / (1 << longest):.4f} > 1); "
            "no prefix code has them. Compute them with huffman_code_lengths."
        )
    code: dict[int, str] = {}
    value, prev_len = 0, items[0][0]
    for i, (n, s) in enumerate(items):
        if i:
            value = (value + 1) << (n - prev_len)
        code[s] = format(value, f"0{n}b")
        prev_len = n
    return code


def huffman_code(frequencies: Mapping[int, int]) -> dict[int, str]:
    """The canonical Huffman code: ``canonical_code(huffman_code_lengths(frequencies))``."""
    return canonical_code(huffman_code_lengths(frequencies))


def code_bits(frequencies: Mapping[int, int], code: Mapping[int, str]) -> int:
    """Total encoded length sum(frequency * len(codeword)) of a stream with these counts."""
    freqs = _checked_frequencies(frequencies)
    missing = [s for s, f in freqs.items() if f and s not in code]
    if missing:
        raise ValueError(f"Symbol {missing[0]} occurs but has no codeword in the code.")
    return int(sum(f * len(code[s]) for s, f in freqs.items() if f))


def huffman_bits(symbols: Any) -> int:
    """Bits of the Huffman-coded stream (the code table itself not included)."""
    counts = symbol_counts(symbols)
    lengths = huffman_code_lengths(counts)
    return int(sum(c * lengths[s] for s, c in counts.items()))


# --------------------------------------------------------------------------- encoding


def huffman_encode(symbols: Any, code: Mapping[int, str]) -> tuple[bytes, int]:
    """Concatenate the codewords of ``symbols`` and pack the bits MSB-first into bytes.

    The first bit of the stream is the most significant bit (value 128) of the first
    byte, as ``numpy.packbits`` does; the last byte is padded with zero bits.
    Returns ``(data, number_of_bits)`` with ``number_of_bits`` counting only real bits.
    """
    arr = _as_symbol_array(symbols)
    table = _checked_code(code)
    if arr.size == 0:
        return b"", 0
    uniq, inverse = np.unique(arr, return_inverse=True)
    missing = [int(s) for s in uniq if int(s) not in table]
    if missing:
        raise ValueError(
            f"Symbol {missing[0]} is not in the code"
            + (f" ({len(missing)} symbols are missing)" if len(missing) > 1 else "")
            + ". Build the code from the counts of the stream you encode."
        )
    words = [table[int(s)] for s in uniq]
    word_len = np.array([len(w) for w in words], dtype=np.int64)[inverse]
    word_val = np.array([int(w, 2) for w in words], dtype=np.uint64)[inverse]
    total = int(word_len.sum())
    starts = np.cumsum(word_len) - word_len
    owner = np.repeat(np.arange(arr.size), word_len)  # which symbol each output bit belongs to
    offset = np.arange(total, dtype=np.int64) - starts[owner]  # bit number inside its codeword
    shift = (word_len[owner] - 1 - offset).astype(np.uint64)
    bits = ((word_val[owner] >> shift) & np.uint64(1)).astype(np.uint8)
    return np.packbits(bits).tobytes(), total


# --------------------------------------------------------------------------- decoding


# Codes up to this length are decoded through one direct table of 2**longest entries.
_DIRECT_TABLE_MAX_BITS = 20


def _decode_table(bits: np.ndarray, table: Mapping[int, str]) -> tuple[np.ndarray, np.ndarray]:
    """For every bit position p: the symbol whose codeword starts there, and its length (0 = none).

    ``window[p]`` is the value of the ``longest`` bits starting at p (bits past the end
    read as 0). For codes up to 20 bits one lookup table of ``2**longest`` entries maps
    a window to its symbol: a codeword ``w`` of length ``n`` fills every entry whose
    first ``n`` bits are ``w``. Longer codes are looked up length by length in sorted
    arrays instead. Either way every position is decoded at once with NumPy.
    """
    longest = max(len(w) for w in table.values())
    nbits = bits.size
    padded = np.concatenate([bits.astype(np.uint64), np.zeros(longest, dtype=np.uint64)])
    window = np.zeros(nbits, dtype=np.uint64)
    for j in range(longest):
        window = (window << np.uint64(1)) | padded[j : j + nbits]
    if longest <= _DIRECT_TABLE_MAX_BITS:
        sym_table = np.zeros(1 << longest, dtype=np.int64)
        len_table = np.zeros(1 << longest, dtype=np.int64)
        for sym, word in table.items():
            lo = int(word, 2) << (longest - len(word))
            hi = lo + (1 << (longest - len(word)))
            sym_table[lo:hi] = sym
            len_table[lo:hi] = len(word)
        idx = window.astype(np.int64)
        return sym_table[idx], len_table[idx]
    by_len: dict[int, list[tuple[int, int]]] = {}
    for sym, word in table.items():
        by_len.setdefault(len(word), []).append((int(word, 2), sym))
    symbol_at = np.zeros(nbits, dtype=np.int64)
    length_at = np.zeros(nbits, dtype=np.int64)
    for n, entries in by_len.items():
        entries.sort()
        vals = np.array([v for v, _ in entries], dtype=np.uint64)
        syms = np.array([s for _, s in entries], dtype=np.int64)
        head = window >> np.uint64(longest - n)
        where = np.minimum(np.searchsorted(vals, head), vals.size - 1)
        hit = vals[where] == head
        symbol_at[hit] = syms[where[hit]]
        length_at[hit] = n
    return symbol_at, length_at


def huffman_decode(data: bytes, code: Mapping[int, str], count: int, nbits: int | None = None) -> np.ndarray:
    """Decode ``count`` symbols from MSB-first packed ``data``; returns an int64 array.

    Table-driven: :func:`_decode_table` finds, with whole-array NumPy operations, which
    codeword starts at every bit position; the walk through the stream is then one
    table lookup per symbol (``pos += length_at[pos]``). Bits after the ``count``-th
    symbol (the padding of the last byte) are ignored.

    ``nbits`` (optional, as returned by :func:`huffman_encode`) limits decoding to the
    real bits; without it the whole of ``data`` is available, so the zero padding of
    the last byte could be read as extra symbols if ``count`` is too large.

    Raises ``ValueError`` when the stream ends before ``count`` symbols (truncated)
    or when the bits at some position match no codeword.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}.")
    if not _is_int(count) or count < 0:
        raise ValueError(f"count must be a non-negative integer, got {count!r}.")
    count = int(count)
    table = _checked_code(code)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    if not table:
        raise ValueError(f"Cannot decode {count} symbols with an empty code.")
    bits = np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8))
    if nbits is not None:
        if not _is_int(nbits) or not 0 <= nbits <= bits.size:
            raise ValueError(f"nbits must be an integer in 0..{bits.size} (8 * len(data)), got {nbits!r}.")
        bits = bits[: int(nbits)]
    nbits = bits.size
    if nbits == 0:
        raise ValueError(f"The bitstream is empty (truncated): expected {count} symbols.")
    symbol_at, length_at = _decode_table(bits, table)
    lengths = length_at.tolist()
    starts = [0] * count
    pos = 0
    for k in range(count):
        if pos >= nbits:
            raise ValueError(
                f"The bitstream is truncated: it ends after {k} of {count} symbols ({nbits} bits)."
            )
        n = lengths[pos]
        if n == 0 or pos + n > nbits:
            _raise_bad_bits(bits, pos, k, count, table)
        starts[k] = pos
        pos += n
    return symbol_at[np.asarray(starts, dtype=np.int64)]


def _raise_bad_bits(bits: np.ndarray, pos: int, k: int, count: int, table: Mapping[int, str]) -> None:
    """Explain why decoding stopped at bit ``pos``: the stream ran out, or no codeword matches."""
    rest = "".join(map(str, bits[pos : pos + MAX_CODE_LENGTH].tolist()))
    if any(word.startswith(rest) for word in table.values()) and len(rest) < max(map(len, table.values())):
        raise ValueError(
            f"The bitstream is truncated: symbol {k + 1} of {count} starts at bit {pos}, "
            f"but only {len(rest)} bits ({rest!r}) are left."
        )
    raise ValueError(
        f"The bits at position {pos} ({rest[:16]!r}...) match no codeword (symbol {k + 1} of {count}). "
        "Was the stream encoded with this code, and packed MSB-first?"
    )
