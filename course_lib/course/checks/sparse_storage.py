"""Checks for notebook 06: CSR size, relative indices with fillers, decoding a stored stream,
the cheapest index width ([DC] §2, Fig. 2).

The typical mistakes named: off-by-one gaps (storing the gap instead of gap - 1,
counting the first gap from 0 instead of -1), a missing filler, a single filler
where several are needed, a filler for a gap that fits, counting on from the last
real weight instead of from the filler; for CSR, which of the three parts (values,
column indices, row pointers) was counted wrong, e.g. ``rows`` instead of ``rows + 1``
row pointers or zeros counted as stored values; for the decoder, the same off-by-ones
read backwards, fillers kept, fillers recognised by their field instead of their value
0, fillers dropped before the gaps are summed, uint8 fields that overflow, an empty
stream that crashes, and a bad stream (past the end, ``> length`` instead of ``>=``, a
trailing filler, a field that does not fit) that is not rejected with ValueError; for
the cheapest width, fillers left out, ties (tried with the candidates in both orders)
and a swapped ``(bits, b)`` pair.

Every call goes through :func:`core.call_unchanged` (``positions += 1`` on the caller's
array fails naming the argument), and answers are coerced before comparing: counts
must be plain ints (:func:`core.as_int`), positions and index fields integer arrays,
decoded values in the dtype of the stored ones.
"""

from __future__ import annotations

from itertools import product
from typing import Any, Callable

import numpy as np

from ... import sparse_storage as ref
from .core import CheckFailed, as_int, call, call_unchanged, fail, mismatch, passed


# --------------------------------------------------------------------------- CSR size


def _csr_cases() -> list[tuple[np.ndarray, tuple[int, int, int]]]:
    rng = np.random.default_rng(7)
    small = np.zeros((4, 10), dtype=np.float32)
    small[0, 1], small[2, 9], small[3, 0] = 0.5, -1.0, 2.0
    pruned = (rng.normal(size=(30, 78)) * (rng.random((30, 78)) < 0.1)).astype(np.float32)
    row = np.array([[0.0, -0.3, 0.0, 0.0, 0.7, 0.0]], dtype=np.float32)
    return [
        (small, (6, 7, 10)),  # distinct widths: a width used for the wrong part shows
        (small, (32, 32, 32)),
        (row, (5, 3, 4)),
        (pruned, (32, 32, 32)),
        (pruned, (6, 7, 10)),
        (np.zeros((3, 5), np.float32), (32, 32, 32)),
    ]


_CSR_SLIPS = {  # what a learner may have counted instead, part by part, and how to say so
    "every weight": "you stored every weight, zeros included. CSR stores only the non-zeros: "
                    "np.count_nonzero(weights)",
    "positive only": "you counted only the positive weights; a negative weight is stored too: "
                     "np.count_nonzero(weights)",
    "no values": "the values are missing: every non-zero stores its value, nnz * value_bits",
    "values at index_bits": "the values are counted at index_bits; a value takes value_bits",
    "values at pointer_bits": "the values are counted at pointer_bits; a value takes value_bits",
    "no indices": "the column indices are missing: every non-zero stores its column, nnz * index_bits",
    "indices at value_bits": "the column indices are counted at value_bits; a column index takes index_bits",
    "indices at pointer_bits": "the column indices are counted at pointer_bits; a column index takes index_bits",
    "rows pointers": "CSR stores rows + 1 row pointers (the last one marks the end of the last row), not rows",
    "no pointers": "the row pointers are missing: add (rows + 1) * pointer_bits",
    "cols + 1 pointers": "that is CSC (one pointer per column). CSR has one pointer per row, plus one",
    "cols pointers": "that is CSC without the end pointer. CSR has one pointer per row, plus one",
    "nnz pointers": "one row pointer per non-zero. CSR has one pointer per row, plus one: (rows + 1) * pointer_bits",
    "pointers at value_bits": "the row pointers are counted at value_bits; a pointer takes pointer_bits",
    "pointers at index_bits": "the row pointers are counted at index_bits; a pointer takes pointer_bits",
}


def _csr_variants(w: np.ndarray, vb: int, ib: int, pb: int) -> dict[tuple[str, ...], int]:
    """The total of every combination of at most two known slips (the keys of :data:`_CSR_SLIPS`) on one case."""
    rows, cols = w.shape
    nnz = int(np.count_nonzero(w))
    counts = {None: nnz, "every weight": int(w.size), "positive only": int((w > 0).sum())}
    values = {None: vb, "no values": 0, "values at index_bits": ib, "values at pointer_bits": pb}
    indices = {None: ib, "no indices": 0, "indices at value_bits": vb, "indices at pointer_bits": pb}
    pointers = {None: (rows + 1) * pb, "rows pointers": rows * pb, "no pointers": 0, "cols + 1 pointers": (cols + 1) * pb,
                "cols pointers": cols * pb, "nnz pointers": nnz * pb, "pointers at value_bits": (rows + 1) * vb,
                "pointers at index_bits": (rows + 1) * ib}
    out = {}
    for c, v, i, p in product(counts, values, indices, pointers):
        slips = tuple(x for x in (c, v, i, p) if x is not None)
        if 0 < len(slips) <= 2:
            out[slips] = counts[c] * (values[v] + indices[i]) + pointers[p]
    return out


def _csr_verify_case() -> tuple[np.ndarray, tuple[int, int, int]]:
    w = np.zeros((5, 12), dtype=np.float32)
    for k, (r, c) in enumerate([(0, 3), (0, 11), (1, 0), (2, 5), (2, 6), (4, 1), (4, 9)]):
        w[r, c] = (-1.0) ** k * (k + 1) / 4
    return w, (3, 11, 17)


def _csr_diagnosis(fn: Callable, w: np.ndarray, vb: int, ib: int, pb: int, got: int) -> list[str] | None:
    """The slips that explain ``got``, confirmed on a second case with other shapes and widths; else None."""
    candidates = sorted((slips for slips, total in _csr_variants(w, vb, ib, pb).items() if total == got), key=len)
    if not candidates:
        return None
    vw, (vvb, vib, vpb) = _csr_verify_case()
    other = as_int(call_unchanged(fn, vw.copy(), vvb, vib, vpb, exercise="csr_bits"),
                   f"csr_bits(weights of shape {vw.shape}, {vvb}, {vib}, {vpb})")
    there = _csr_variants(vw, vvb, vib, vpb)
    confirmed = [slips for slips in candidates if there.get(slips) == other]
    return [_CSR_SLIPS[x] for x in confirmed[0]] if confirmed else None


def check_csr_bits(fn: Callable[..., int]) -> None:
    """``fn(weights, value_bits, index_bits, pointer_bits)``: bits of a matrix in CSR form, a plain int."""
    for w, (vb, ib, pb) in _csr_cases():
        rows, cols = w.shape
        nnz = int(np.count_nonzero(w))
        shown = (f"csr_bits(weights of shape {w.shape} with {nnz} non-zeros, value_bits={vb}, index_bits={ib}, "
                 f"pointer_bits={pb})")
        got = call_unchanged(fn, w.copy(), vb, ib, pb, exercise="csr_bits")
        got = as_int(got, f"{shown}: the result")
        want = ref.csr_bits(w, vb, ib, pb)
        if got == want:
            continue
        parts = (f"values {nnz} x {vb} = {nnz * vb}, column indices {nnz} x {ib} = {nnz * ib}, "
                 f"row pointers ({rows} + 1) x {pb} = {(rows + 1) * pb}: {want} in all")
        if abs(got - want / 8) < 1:
            fail(f"{shown} = {got}: that is bytes. Return bits ({want}).")
        slips = _csr_diagnosis(fn, w, vb, ib, pb, got)
        if slips:
            fail(f"{shown} = {got}: {'; '.join(slips)}. Expected {parts}.")
        fail(mismatch("csr_bits", f"weights of shape {w.shape} with {nnz} non-zeros, {vb}, {ib}, {pb}", want, got)
             + f" Expected {parts}.")
    passed("csr_bits counts values and column indices of the non-zeros, plus rows + 1 row pointers.")


# --------------------------------------------------------------------------- relative indices


def _relative_cases() -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(70)
    cases = [
        ([], 4),
        ([7], 3),  # gap 8 from the start: exactly 2**3, it fits
        ([8], 3),  # gap 9 from the start: one filler
        ([1, 4, 6], 3),  # no filler: gaps 2, 3, 2
        ([2, 30], 3),  # gap 28 needs three fillers
        ([1, 4, 15], 3),  # [DC] Fig. 2: gap 11 > 8 needs a filler
        ([0, 1, 2, 10], 3),  # a weight at position 0; a gap of exactly 2**3 = 8 fits
    ]
    random = np.flatnonzero(rng.random(3000) < 0.08)
    cases += [(random[:200].tolist(), 2), (random.tolist(), 5)]
    return [(np.asarray(p, dtype=np.int64), b) for p, b in cases]


def _as_array(x: Any) -> np.ndarray:
    return np.asarray(x.detach().cpu() if hasattr(x, "detach") else x)


def _two_1d_arrays(got: Any, shown: str, first: str, second: str) -> tuple[np.ndarray, np.ndarray]:
    """``got`` as the pair of 1-D arrays ``(first, second)`` the exercise returns, or a failure naming why not."""
    if got is None:
        fail(f"{shown} returned None: add `return {first}, {second}`.")
    if not isinstance(got, tuple) or len(got) != 2:
        fail(f"{shown} returned {type(got).__name__}; return a pair ({first}, {second}).")
    a, b = (_as_array(x) for x in got)
    if a.ndim != 1 or b.ndim != 1:
        fail(f"{shown}: {first} and {second} must be 1-D arrays, got shapes {a.shape} and {b.shape}.")
    return a, b


def _as_pair(got: Any, shown: str) -> tuple[np.ndarray, np.ndarray]:
    stored, filler = _two_1d_arrays(got, shown, "stored", "is_filler")
    if stored.dtype == np.bool_ and filler.dtype != np.bool_ and np.issubdtype(filler.dtype, np.integer):
        fail(f"{shown}: the pair is swapped: the first array is boolean. Return (stored, is_filler), "
             "the index fields first.")
    if stored.size and not np.issubdtype(stored.dtype, np.integer):
        fail(f"{shown}: stored has dtype {stored.dtype}; the index fields are integers (dtype int64).")
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


def _relative_diagnoses(positions: np.ndarray, bits: int, stored: np.ndarray) -> list[str]:
    """Every known mistake whose output on this case is what the learner's function returned."""
    span = 1 << bits
    got = stored.tolist()
    found = []
    if positions.size and got == positions.tolist():
        found.append("these are the absolute positions. Store the differences between consecutive positions.")
    if got == _variant(positions, bits, minus=0):
        found.append(f"off by one. Store gap - 1, so that gaps 1..2**b fit in b bits (a stored {span - 1} means "
                     f"a gap of {span}).")
    if got == _variant(positions, bits, start=0):
        found.append("off by one at the start. The first gap counts from position -1 (a weight at position 0 "
                     "has gap 1, stored 0), not from 0.")
    if got == _variant(positions, bits, start=0, minus=0):
        found.append("off by one: store gap - 1, and count the first gap from position -1.")
    if got == _variant(positions, bits, fillers="none"):
        found.append(f"a filler is missing. A gap larger than 2**{bits} = {span} does not fit in {bits} bits: "
                     f"insert a filler entry (stored {span - 1}, value 0) every {span} positions.")
    if got == _variant(positions, bits, fillers="one"):
        found.append(f"only one filler per gap. A gap of more than 2 * {span} needs several: use a while loop.")
    if got == _variant(positions, bits, threshold_ge=True):
        found.append(f"a filler where none is needed. A gap of exactly {span} fits (stored {span - 1}); insert "
                     f"fillers only while gap > {span}.")
    if got == _variant(positions, bits, reduce_after_filler=False):
        found.append(f"after a filler, count the rest of the gap from the filler's position (gap -= {span} per "
                     "filler), not from the previous weight.")
    want, want_filler = ref.relative_indices(positions, bits)
    if want_filler.any() and got == np.where(want_filler, span, want).tolist():
        found.append(f"the fillers are stored as {span}, which does not fit in {bits} bits. A filler's field is "
                     f"its gap - 1 like any entry's: {span} - 1 = {span - 1}.")
    if not found and stored.size and (stored.max() >= span or stored.min() < 0):
        bad = int(stored.max() if stored.max() >= span else stored.min())
        found.append(f"stored value {bad} does not fit in {bits} bits (0..{span - 1}). A gap larger than {span} "
                     "needs a filler.")
    return found


def check_relative_indices(fn: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]) -> None:
    """``fn(positions, index_bits) -> (stored, is_filler)`` following [DC] Fig. 2 with gap - 1 fields."""
    smallest = ambiguous = ""  # the first failing case's mismatch; a diagnosis that fits several mistakes
    for positions, bits in _relative_cases():
        listed = positions.tolist() if positions.size <= 6 else f"<{positions.size} positions>"
        shown = f"relative_indices({listed}, {bits})"
        stored, filler = _as_pair(call_unchanged(fn, positions.copy(), bits, exercise="relative_indices"), shown)
        want, want_filler = ref.relative_indices(positions, bits)
        if np.array_equal(stored, want):
            if filler.shape != want_filler.shape or filler.dtype != np.bool_:
                fail(f"{shown}: is_filler must be a boolean array with one flag per entry ({want.size}), "
                     f"got dtype {filler.dtype}, shape {filler.shape}.")
            if not np.array_equal(filler, want_filler):
                if np.array_equal(filler, ~want_filler):
                    fail(f"{shown}: is_filler is inverted: True must mark the filler entries, False the kept weights.")
                fail(f"{shown}: stored is right, but is_filler {filler.astype(int).tolist()[:12]} should be "
                     f"{want_filler.astype(int).tolist()[:12]}: True exactly at the filler entries.")
            continue
        diagnoses = _relative_diagnoses(positions, bits, stored)
        if len(diagnoses) == 1:
            fail(f"{shown} = {stored.tolist()[:8]}: {diagnoses[0]}")
        smallest = smallest or mismatch("relative_indices", f"{listed}, {bits}", want.tolist()[:12],
                                        stored.tolist()[:12]) + " (the stored fields, gap - 1)"
        if not diagnoses:
            fail(smallest)
        # Several known mistakes give this output on so small a case: a larger case tells them apart.
        ambiguous = ambiguous or f"{shown} = {stored.tolist()[:8]}: {diagnoses[0]}"
    if ambiguous:
        fail(ambiguous)
    passed("relative_indices stores gap - 1 from position -1, a filler whenever a gap exceeds 2**b.")


# --------------------------------------------------------------------------- decoding a stored stream


def _stream(length: int, kept: dict[int, Any], bits: int, dtype: Any) -> tuple[np.ndarray, np.ndarray, int, int]:
    layer = np.zeros(length, dtype=dtype)
    for p, v in kept.items():
        layer[p] = v
    stored, values = ref.encode_sparse(layer, bits)
    return stored.astype(np.int64), values, length, bits


def _decode_cases() -> list[tuple[np.ndarray, np.ndarray, int, int]]:
    """Valid streams, smallest first; the empty one comes last so that a crash on it is named as such."""
    rng = np.random.default_rng(72)
    floats = (rng.normal(size=3000) * (rng.random(3000) < 0.08)).astype(np.float32)
    codes = (rng.integers(1, 33, size=3000) * (rng.random(3000) < 0.05)).astype(np.int64)
    wide = np.zeros(1200, dtype=np.int64)
    wide[[3, 259, 1100]] = [7, 1, 200]  # gaps of 256 (field 255) and 841 (three fillers at 8 bits)
    stored, values = ref.encode_sparse(wide, 8)  # uint8 fields, as a file holds them
    return [
        _stream(16, {1: 0.5, 4: -1.25, 15: 2.0}, 3, np.float32),  # [DC] Fig. 2: one filler
        _stream(12, {0: 3, 8: 1, 9: 2}, 3, np.int64),  # position 0, and a gap of exactly 8 (field 7, no filler)
        _stream(32, {2: 5, 30: 4}, 3, np.int64),  # a gap of 28: three fillers
        _stream(20, {5: 1.0, 19: -3.0}, 2, np.float32),  # the last weight on the last position
        (stored, values, wide.size, 8),
        (*ref.encode_sparse(codes, 2), codes.size, 2),
        (*ref.encode_sparse(floats, 5), floats.size, 5),
        (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), 10, 3),  # every weight pruned
    ]


def _bad_streams() -> list[tuple[np.ndarray, np.ndarray, int, int, str]]:
    """Streams the decoder must reject with ValueError, each with what is wrong and the slip that misses it."""
    fig2, values, _, _ = _stream(16, {1: 0.5, 4: -1.25, 15: 2.0}, 3, np.float32)
    return [
        (fig2, values, 15, 3, "past end"),  # the last weight lands on position 15 of a 15-weight layer
        (np.array([1, 7], dtype=np.int64), np.array([0.5, 0.0], dtype=np.float32), 9, 3, "filler past end"),
        (np.array([1, 2, 8], dtype=np.int64), np.array([1, 2, 3], dtype=np.int64), 40, 3, "field too large"),
        (np.array([2, -1, 3], dtype=np.int64), np.array([1, 2, 3], dtype=np.int64), 40, 3, "negative field"),
    ]


def _decode_variants(stored: np.ndarray, values: np.ndarray, bits: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """What decoders with one known slip return on a valid stream: ``{slip: (positions, values)}``."""
    span = 1 << bits
    d = stored.astype(np.int64)
    everything = np.cumsum(d + 1) - 1
    kept = values != 0
    out = {
        "fillers kept": (everything, values),
        "dropped by field": (everything[d != span - 1], values[d != span - 1]),
        "dropped before summing": (np.cumsum(d[kept] + 1) - 1, values[kept]),
        "no +1": (np.cumsum(d)[kept] - 1, values[kept]),
        "from 0": (np.cumsum(d + 1)[kept], values[kept]),
        "both": (np.cumsum(d)[kept], values[kept]),
        "fields": (d[kept], values[kept]),
        "gaps": (d[kept] + 1, values[kept]),
    }
    if stored.size and stored.max() == 255:  # the sum done in uint8, as the file stores the fields
        small = stored.astype(np.uint8)
        out["uint8 overflow"] = ((np.cumsum(small + np.uint8(1)) - 1)[kept], values[kept])
    return out


_DECODE_SLIPS = {
    "fillers kept": "the fillers are still there. Drop the entries whose value is 0 (values != 0), "
                    "from the positions and from the values.",
    "dropped by field": "you dropped every entry whose field is 2**b - 1, as if it were a filler; a kept weight "
                        "whose gap is exactly 2**b is stored that way too. A filler is the entry whose value is 0.",
    "dropped before summing": "the fillers were dropped before the positions were added up, so every weight "
                              "after a filler lands too early. A filler's gap counts: sum over every entry, "
                              "then drop the fillers.",
    "no +1": "off by one: a field d means a gap of d + 1. Add 1 to every field before summing.",
    "from 0": "every position is 1 too large: the running position starts at -1, not 0 (a field 0 on the first "
              "entry is position 0).",
    "both": "off by one: a field d is a gap of d + 1, and the running position starts at -1.",
    "fields": "these are the stored fields, not positions. Add the gaps up (np.cumsum).",
    "gaps": "these are the gaps, not positions. Add them up (np.cumsum) from -1.",
    "uint8 overflow": "the fields are uint8 (as a file stores them) and stored + 1 overflows at 255. Convert "
                      "them first: np.asarray(stored, dtype=np.int64).",
}


def _same_values(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b))


def _diagnose_rejection(fn: Callable, stored: np.ndarray, values: np.ndarray, length: int, bits: int,
                        shown: str) -> None:
    """A valid stream was rejected: if wrong positions ran past the end, name the slip that made them."""
    try:
        got = fn(stored.copy(), values.copy(), length + (1 << 20), bits)  # room for positions that run long
        positions, kept = (_as_array(x) for x in got)
    except Exception:
        return
    want_pos, want_kept = ref.decode_relative(stored, values, length, bits)
    if _same_values(positions, want_pos) and _same_values(kept, want_kept):
        return  # the right answer: the bound test itself is off
    for slip, (p, v) in _decode_variants(stored, values, bits).items():
        if _same_values(positions, p) and _same_values(kept, v):
            fail(f"{shown} raised ValueError, but the stream is valid: your positions run past the end. With "
                 f"a longer layer you return ({positions.tolist()[:6]}, {kept.tolist()[:6]}): {_DECODE_SLIPS[slip]}")


def _decode_call(fn: Callable, stored: np.ndarray, values: np.ndarray, length: int, bits: int, shown: str) -> Any:
    """The learner's answer on a valid stream; a ValueError there is named (the stream is fine)."""
    try:
        return call_unchanged(fn, stored.copy(), values.copy(), length, bits, exercise="decode_relative")
    except CheckFailed as exc:
        cause = exc.__cause__
        if isinstance(cause, (ValueError, IndexError)) and not stored.size:
            fail(f"{shown} raised {type(cause).__name__} ({cause}). An empty stream is valid (a layer with every "
                 "weight pruned): return two empty arrays. stored.max() and positions[-1] fail on an empty array: "
                 "test .size first.")
        if isinstance(cause, ValueError):
            _diagnose_rejection(fn, stored, values, length, bits, shown)
            last = int(np.cumsum(stored.astype(np.int64) + 1)[-1] - 1)
            fail(f"{shown} raised ValueError ({cause}), but the stream is valid: its last entry is at position "
                 f"{last}, inside a layer of {length} weights (0..{length - 1}), and every field fits in {bits} bits.")
        raise


def _expect_rejected(fn: Callable, stored: np.ndarray, values: np.ndarray, length: int, bits: int, what: str) -> None:
    shown = f"decode_relative({stored.tolist()}, {values.tolist()}, {length}, {bits})"
    positions = np.cumsum(stored + 1) - 1
    why = {
        "past end": f"its last entry lands on position {positions[-1]}, and a layer of {length} weights ends at "
                    f"{length - 1}. An entry at position length or beyond is outside (>= length, not > length).",
        "filler past end": f"its last entry, a filler, lands on position {positions[-1]}, outside a layer of {length} "
                           "weights. Test every entry's position against length before dropping the fillers.",
        "field too large": f"the field {stored.max()} does not fit in {bits} bits (0..{(1 << bits) - 1}); no "
                           f"{bits}-bit file holds it. Test the fields against 2**index_bits (>=, not >).",
        "negative field": f"the field {stored.min()} is negative; a field is 0..2**index_bits - 1.",
    }[what]
    try:
        got = fn(stored.copy(), values.copy(), length, bits)
    except ValueError:
        return
    except NotImplementedError:
        call(fn, stored.copy(), values.copy(), length, bits, exercise="decode_relative")
        raise
    except CheckFailed:
        raise
    except Exception as exc:
        fail(f"{shown} raised {type(exc).__name__} ({exc}). The stream is invalid: {why} Raise ValueError "
             "yourself, with a message that says so.")
    fail(f"{shown} returned {type(got).__name__} instead of raising ValueError: {why}")


def check_decode_relative(fn: Callable[..., tuple[np.ndarray, np.ndarray]]) -> None:
    """``fn(stored, values, length, index_bits) -> (positions, kept_values)``; ValueError for a bad stream."""
    for stored, values, length, bits in _decode_cases():
        listed = (f"{stored.tolist()}, {values.tolist()}" if stored.size <= 6
                  else f"<{stored.size} {stored.dtype} fields>, <{values.size} {values.dtype} values>")
        shown = f"decode_relative({listed}, {length}, {bits})"
        positions, kept = _two_1d_arrays(_decode_call(fn, stored, values, length, bits, shown), shown,
                                         "positions", "kept_values")
        want_pos, want_kept = ref.decode_relative(stored, values, length, bits)
        if _same_values(positions, want_kept) and _same_values(kept, want_pos) and not _same_values(positions, want_pos):
            fail(f"{shown}: the pair is swapped. Return (positions, kept_values), the positions first.")
        if _same_values(positions, want_pos) and _same_values(kept, want_kept):
            if not np.issubdtype(positions.dtype, np.integer):
                fail(f"{shown}: positions have dtype {positions.dtype}; positions are integers (int64). "
                     + ("An empty array needs its dtype too: np.zeros(0, dtype=np.int64)." if not stored.size else
                        "Keep the sum in integers (stored + 1, not + 1.0), or .astype(np.int64)."))
            if kept.dtype != values.dtype:
                fail(f"{shown}: kept_values have dtype {kept.dtype}, the stored values {values.dtype}. Keep their dtype: "
                     "values[mask] does" + (", and so does np.zeros(0, dtype=values.dtype)." if not stored.size else
                                            "; a list needs np.array(..., dtype=values.dtype)."))
            continue
        found = [slip for slip, (p, v) in _decode_variants(stored, values, bits).items()
                 if _same_values(positions, p) and _same_values(kept, v)]
        if found:
            fail(f"{shown} = ({positions.tolist()[:6]}, {kept.tolist()[:6]}): {_DECODE_SLIPS[found[0]]}")
        if positions.shape != kept.shape:
            fail(f"{shown}: {positions.size} positions but {kept.size} values. Return one position and one value "
                 f"per kept weight ({want_pos.size} here): select both with the same mask.")
        if not _same_values(positions, want_pos):
            fail(mismatch("decode_relative", listed + f", {length}, {bits}", want_pos.tolist()[:12],
                          positions.tolist()[:12]) + " (the positions)")
        fail(mismatch("decode_relative", listed + f", {length}, {bits}", want_kept.tolist()[:12], kept.tolist()[:12])
             + " (the kept values, in order)")
    for stored, values, length, bits, what in _bad_streams():
        _expect_rejected(fn, stored, values, length, bits, what)
    passed("decode_relative sums the gaps from -1, drops the fillers (value 0), rejects bad streams.")


# --------------------------------------------------------------------------- cheapest index bit-width


def _cheapest_cases() -> list[tuple[np.ndarray, int, list[int]]]:
    rng = np.random.default_rng(71)
    sparse = np.flatnonzero(rng.random(20000) < 0.08)  # ~8% kept, as fc layers in [DC] Table 2
    clustered = np.sort(np.concatenate([np.arange(100, 140), np.arange(3000, 3010), [9000]]))
    return [
        (np.array([1, 4, 15]), 4, [2, 3]),  # Fig. 2: 3 bits need one filler, 2 bits need two
        (np.array([0, 1, 6]), 1, [2, 3]),  # a tie: 4 entries * (1 + 2) = 3 entries * (1 + 3) -> 2 bits
        (np.array([0, 1, 6]), 1, [3, 2]),  # the same tie, candidates in the other order
        (np.array([0, 1, 6]), 1, [4, 3, 2]),
        (np.arange(12), 4, [5, 3, 2]),  # a full layer: no fillers
        (sparse, 5, list(range(2, 9))),
        (sparse, 8, list(range(2, 9))),
        (clustered, 4, list(range(2, 9))),
    ]


def _fixed_bits(positions: np.ndarray, value_bits: int, b: int, filler_value_bits: bool = True, fillers: bool = True) -> int:
    stored, is_filler = ref.relative_indices(positions, b)
    n_fill = int(is_filler.sum()) if fillers else 0
    n_kept = int(positions.size)
    return n_kept * (value_bits + b) + n_fill * ((value_bits if filler_value_bits else 0) + b)


def check_cheapest_index_bits(fn: Callable[..., tuple[int, int]]) -> None:
    """``fn(positions, value_bits, candidates) -> (b, bits)``: the cheapest fixed-width index size.

    Ties go to the smallest ``b``: the tie case is offered with the candidates in both orders.
    """
    deferred = ""  # a diagnosis that fits several mistakes on its case
    for positions, vb, candidates in _cheapest_cases():
        shown = (f"cheapest_index_bits(<{positions.size} positions>, value_bits={vb}, candidates={candidates})"
                 if positions.size > 6 else f"cheapest_index_bits({positions.tolist()}, {vb}, {candidates})")
        got = call_unchanged(fn, positions.copy(), vb, list(candidates), exercise="cheapest_index_bits")
        if got is None:
            fail(f"{shown} returned None: add `return b, total_bits`.")
        if not isinstance(got, tuple) or len(got) != 2:
            fail(f"{shown} returned {type(got).__name__}; return a pair (index_bits, total_bits).")
        b = as_int(got[0], f"{shown}: the bit-width (first of the pair)")
        total = as_int(got[1], f"{shown}: the total bits (second of the pair)")
        want_b, want_total = ref.cheapest_index_bits(positions, vb, candidates)
        if (b, total) == (want_b, want_total):
            continue
        if (b, total) == (want_total, want_b):
            fail(f"{shown} = ({b}, {total}): the pair is swapped. Return (index_bits, total_bits): "
                 f"({want_b}, {want_total}).")
        if b not in candidates:
            if 0 <= b < len(candidates) and candidates[b] == want_b:
                fail(f"{shown} = ({b}, {total}): {b} is the position of the winner in candidates, not the winner. "
                     f"Return the bit-width itself, candidates[{b}] = {want_b}.")
            fail(f"{shown} = ({b}, {total}): {b} is not one of the candidates {candidates}. Return the winning "
                 "bit-width itself.")
        costs = {c: _fixed_bits(positions, vb, c) for c in candidates}
        no_fill = {c: _fixed_bits(positions, vb, c, fillers=False) for c in candidates}
        cheap_fill = {c: _fixed_bits(positions, vb, c, filler_value_bits=False) for c in candidates}
        index_only = {c: ref.relative_indices(positions, c)[0].size * c for c in candidates}
        if total == no_fill.get(b) and total != costs[b]:
            fail(f"{shown} = ({b}, {total}): the fillers are not counted. Each filler is a stored entry too: "
                 "count the entries of relative_indices(positions, b), fillers included.")
        if total == cheap_fill.get(b) and total != costs[b]:
            fail(f"{shown} = ({b}, {total}): a filler costs value_bits + b like any entry (its value 0 is stored), "
                 "not only its b index bits.")
        if total == index_only.get(b) and total != costs[b]:
            fail(f"{shown} = ({b}, {total}): only the index bits are counted. Every entry stores a value too: "
                 "entries * (value_bits + b).")
        if total == costs[b]:  # the right cost of a wrong choice: which choice?
            found = []
            if costs[b] == want_total:
                found.append(f"a tie between several bit-widths, and you took {b}. Pick the smallest one (compare "
                             "(bits, b) pairs, or scan the candidates in increasing order with <).")
            if costs[b] == max(costs.values()):
                found.append("that is the most expensive bit-width. Take the minimum (min), not the maximum.")
            if b == max(candidates):
                found.append(f"{b} is the largest candidate, not the cheapest: {want_b} bits need only {want_total}. "
                             "Compare the totals of the candidates, not their widths.")
            if not found:
                fail(f"{shown} = ({b}, {total}): {b} bits is not the cheapest; {want_b} bits need only {want_total}. "
                     "Compare every candidate.")
            if len(found) == 1:
                fail(f"{shown} = ({b}, {total}): {found[0]}")
            # Several mistakes give this answer here (on a tie, the largest width may also be a tied one):
            # the other cases tell them apart, so look at those first.
            deferred = deferred or f"{shown} = ({b}, {total}): {found[0]}"
            continue
        if b == want_b:
            fail(f"{shown} = ({b}, {total}): the right bit-width, but {b} bits cost {want_total}: "
                 f"{costs[b] // (vb + b)} entries (fillers included) x ({vb} + {b}) bits.")
        fail(mismatch("cheapest_index_bits", shown.split("(", 1)[1][:-1], (want_b, want_total), (b, total))
             + " total = entries * (value_bits + b), entries counting the fillers.")
    if deferred:
        fail(deferred)
    passed("cheapest_index_bits costs every entry, fillers too, at value_bits + b; smallest b on ties.")


__all__ = ["check_csr_bits", "check_relative_indices", "check_decode_relative", "check_cheapest_index_bits"]
