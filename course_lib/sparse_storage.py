"""Storing a pruned layer: dense, CSR, and relative indices with filler zeros ([DC] §2, Fig. 2).

A pruned layer keeps about one weight in ten. Storing the zeros (dense) wastes
space; storing each kept weight's absolute position (CSR column indices) costs
``log2(columns)`` bits or more per weight. [DC] §2 stores the *difference* between
consecutive positions instead, in a few bits.

The convention of this module, stated once:

- The layer is flattened in row-major order (``w.ravel()``, ``w.flatten()``);
  positions count from 0.
- The gap of a kept weight is its position minus the previous stored position.
  The "previous position" of the first entry is -1, so every gap is at least 1
  (a weight at position 0 has gap 1).
- With ``b`` index bits a stored index value ``d`` in ``0 .. 2**b - 1`` means a gap
  of ``d + 1``: gaps of 1 to ``2**b`` fit.
- A gap larger than ``2**b`` cannot be stored. Then a *filler* entry is written
  ``2**b`` positions after the previous one (stored index ``2**b - 1``, value 0),
  and counting resumes from the filler, as many times as needed. This is [DC]
  Fig. 2's rule: with 3-bit indices, a gap larger than 8 gets a filler zero.
- Fillers fall on pruned positions (they lie strictly between two kept weights).
  A filler stores the value 0 and a kept weight never does (for a quantized layer
  the stored value is cluster + 1), so a decoder tells them apart by the value alone:
  the value alphabet is the ``2**bits`` codes plus the filler's 0. The index field
  cannot tell them apart, since a kept weight whose gap is exactly ``2**b`` is stored
  ``2**b - 1`` as well.

:func:`decode_relative` is the decoder's walk (kept positions and values of a stored
stream, fillers dropped, a stream that runs past the layer rejected);
:func:`decode_sparse` builds the flattened layer from it.

Storage sizes are counted in bits; nothing here includes file headers or code
tables, which the capstone's file format adds.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .huffman import huffman_bits

__all__ = [
    "MIN_INDEX_BITS",
    "MAX_INDEX_BITS",
    "relative_indices",
    "positions_from_relative",
    "decode_relative",
    "encode_sparse",
    "decode_sparse",
    "dense_bits",
    "csr_bits",
    "csr_bytes",
    "relative_bits",
    "storage_bits",
    "index_bits_sweep",
    "cheapest_index_bits",
]

MIN_INDEX_BITS = 1
MAX_INDEX_BITS = 16


# --------------------------------------------------------------------------- input checks


def _check_index_bits(index_bits: Any) -> int:
    if isinstance(index_bits, (bool, np.bool_)) or not isinstance(index_bits, (int, np.integer)):
        raise TypeError(f"index_bits must be an integer, got {index_bits!r} ({type(index_bits).__name__}).")
    if not MIN_INDEX_BITS <= index_bits <= MAX_INDEX_BITS:
        raise ValueError(
            f"index_bits must be between {MIN_INDEX_BITS} and {MAX_INDEX_BITS}, got {index_bits}. "
            "[DC] uses 5 (fc) to 8 (conv) bits."
        )
    return int(index_bits)


def _to_numpy(x: Any, what: str) -> np.ndarray:
    try:
        import torch

        if isinstance(x, torch.Tensor):
            return x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{what} must be an array, got {type(x).__name__}.")
    return np.asarray(x)


def _as_int_vector(x: Any, what: str) -> np.ndarray:
    arr = _to_numpy(x, what)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}.")
    if arr.size and (arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{what} must hold integers, got dtype {arr.dtype}.")
    return arr.astype(np.int64)


def _as_flat_layer(values: Any) -> np.ndarray:
    arr = _to_numpy(values, "values")
    if arr.ndim != 1:
        raise ValueError(
            f"values must be the flattened layer (1-D), got shape {arr.shape}. "
            "Flatten it first in row-major order: w.ravel() (NumPy) or w.flatten() (torch)."
        )
    if arr.dtype == np.object_ or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"values must be numbers, got dtype {arr.dtype}.")
    return arr


def _index_dtype(index_bits: int) -> type:
    return np.uint8 if index_bits <= 8 else np.uint16


# --------------------------------------------------------------------------- relative indices


def relative_indices(positions: Any, index_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Relative index encoding of sorted positions, with filler entries ([DC] §2, Fig. 2).

    ``positions``: strictly increasing, non-negative integers (the kept weights of a
    flattened layer). Returns ``(stored, is_filler)``, one entry per stored weight or
    filler, in order:

    - ``stored[i]`` (int64) is the index field written to the file: gap - 1, in
      ``0 .. 2**index_bits - 1``;
    - ``is_filler[i]`` (bool) marks the filler entries.

    Example with 3 bits (gaps of 1..8 fit): positions [1, 4, 15] have gaps 2, 3, 11;
    11 > 8, so a filler goes to position 12 (gap 8) and 15 follows with gap 3:
    ``stored = [1, 2, 7, 2]``, ``is_filler = [F, F, T, F]``.
    """
    bits = _check_index_bits(index_bits)
    pos = _as_int_vector(positions, "positions")
    if pos.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    if pos[0] < 0:
        raise ValueError(f"positions must be >= 0, got {pos[0]}.")
    gaps = np.diff(pos, prepend=-1)
    if gaps.min() < 1:
        k = int(np.argmin(gaps))
        raise ValueError(
            f"positions must be strictly increasing; entry {k} ({pos[k]}) does not follow {pos[k - 1]}. "
            "Sort them (np.sort) and remove duplicates (np.unique)."
        )
    span = 1 << bits
    fillers = (gaps - 1) // span  # fillers needed before each kept weight
    entries = fillers + 1
    total = int(entries.sum())
    stored = np.full(total, span - 1, dtype=np.int64)  # fillers have gap 2**b
    is_filler = np.ones(total, dtype=bool)
    last = np.cumsum(entries) - 1  # where each kept weight lands, after its fillers
    stored[last] = gaps - fillers * span - 1
    is_filler[last] = False
    return stored, is_filler


def positions_from_relative(stored: Any, index_bits: int, is_filler: Any = None) -> np.ndarray:
    """Inverse of :func:`relative_indices`: the position of every entry (cumulative sum of gaps).

    ``stored`` holds index fields ``d`` (gap ``d + 1``). Without ``is_filler`` the
    positions of all entries, fillers included, are returned; with it, only the
    positions of the real (non-filler) entries.
    """
    bits = _check_index_bits(index_bits)
    d = _as_int_vector(stored, "stored")
    if d.size and (d.min() < 0 or d.max() >= 1 << bits):
        raise ValueError(f"stored index values must lie in 0..{(1 << bits) - 1} for {bits}-bit indices.")
    positions = np.cumsum(d + 1) - 1
    if is_filler is None:
        return positions
    mask = _to_numpy(is_filler, "is_filler")
    if mask.dtype != np.bool_ or mask.shape != d.shape:
        raise ValueError(f"is_filler must be a boolean array of shape {d.shape}, got {mask.dtype} {mask.shape}.")
    return positions[~mask]


def encode_sparse(values: Any, index_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Relative-index storage of a flattened layer, zeros = pruned ([DC] §2).

    Returns ``(stored_indices, stored_values)``, one entry per non-zero value and per
    filler: ``stored_indices`` are the index fields (gap - 1) as the smallest unsigned
    dtype that holds ``index_bits`` bits (uint8 up to 8 bits, else uint16);
    ``stored_values`` are the non-zero values, with 0 at the fillers, in the dtype
    of ``values``. For quantized layers pass the cluster codes with 0 meaning pruned.
    """
    bits = _check_index_bits(index_bits)
    flat = _as_flat_layer(values)
    positions = np.flatnonzero(flat)
    stored, is_filler = relative_indices(positions, bits)
    stored_values = np.zeros(stored.size, dtype=flat.dtype)
    stored_values[~is_filler] = flat[positions]
    return stored.astype(_index_dtype(bits)), stored_values


def _check_length(length: Any) -> int:
    if isinstance(length, (bool, np.bool_)) or not isinstance(length, (int, np.integer)) or length < 0:
        raise ValueError(f"length must be a non-negative integer (the layer's number of weights), got {length!r}.")
    return int(length)


def decode_relative(stored: Any, values: Any, length: int, index_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The kept weights of a stored stream: ``(positions, kept_values)`` ([DC] §2, Fig. 2).

    ``stored`` holds one index field per entry (gap - 1, as :func:`relative_indices`
    writes them) and ``values`` one value per entry, 0 at the fillers (as
    :func:`encode_sparse` writes them). The running position starts at -1 and every
    entry, filler or not, moves it on by its gap ``d + 1``; then the fillers, the
    entries whose value is 0, are dropped. Returns the positions (int64) and the
    values (the dtype of ``values``) of the kept weights, in order.

    Raises ``ValueError`` when a field does not fit in ``index_bits`` bits, when the two
    arrays differ in length, or when an entry (a filler too) lands at position
    ``length`` or beyond: the stream runs past the end of the layer.
    """
    bits = _check_index_bits(index_bits)
    n = _check_length(length)
    vals = _as_flat_layer(values)
    d = _as_int_vector(stored, "stored")
    if d.shape != vals.shape:
        raise ValueError(f"stored ({d.size}) and values ({vals.size}) must have one entry each per stored weight or filler.")
    if d.size and (d.min() < 0 or d.max() >= 1 << bits):
        raise ValueError(f"stored index values must lie in 0..{(1 << bits) - 1} for {bits}-bit indices.")
    positions = np.cumsum(d + 1) - 1
    if positions.size and positions[-1] >= n:
        raise ValueError(
            f"The entries reach position {positions[-1]}, past the end of a layer of {n} weights. "
            "Wrong length or index_bits?"
        )
    kept = vals != 0
    return positions[kept], vals[kept]


def decode_sparse(stored_indices: Any, stored_values: Any, length: int, index_bits: int) -> np.ndarray:
    """Inverse of :func:`encode_sparse`: the flattened layer of ``length`` values."""
    positions, kept_values = decode_relative(stored_indices, stored_values, length, index_bits)
    out = np.zeros(_check_length(length), dtype=kept_values.dtype)
    out[positions] = kept_values
    return out


# --------------------------------------------------------------------------- storage sizes


def dense_bits(n_weights: int, value_bits: int = 32) -> int:
    """A dense layer: every weight, zeros included, at ``value_bits`` bits."""
    return int(n_weights) * int(value_bits)


def _as_matrix(weights: Any) -> np.ndarray:
    arr = _to_numpy(weights, "weights")
    if arr.ndim < 2:
        raise ValueError(
            f"CSR needs a matrix (rows = output units); got shape {arr.shape}. "
            "Pass the layer's weight tensor, e.g. layer.weight."
        )
    return arr.reshape(arr.shape[0], -1)  # a conv kernel: one row per output channel


def csr_bits(weights: Any, value_bits: int = 32, index_bits: int = 32, pointer_bits: int = 32) -> int:
    """Compressed sparse row storage of a layer ([DC] §2): values + column indices + row pointers.

    A matrix with ``rows`` rows (a conv kernel is read as ``out_channels x (in*kh*kw)``)
    and ``nnz`` non-zeros stores ``nnz`` values, ``nnz`` column indices and
    ``rows + 1`` row pointers. The defaults are float32 values and 32-bit indices, as
    ``scipy.sparse`` stores them; ``torch.sparse_csr`` uses int64 indices by default
    (pass ``index_bits=64, pointer_bits=64`` to count those).
    """
    mat = _as_matrix(weights)
    nnz = int(np.count_nonzero(mat))
    return nnz * (int(value_bits) + int(index_bits)) + (mat.shape[0] + 1) * int(pointer_bits)


def csr_bytes(weights: Any, value_bits: int = 32, index_bits: int = 32, pointer_bits: int = 32) -> int:
    """:func:`csr_bits` rounded up to whole bytes."""
    return math.ceil(csr_bits(weights, value_bits, index_bits, pointer_bits) / 8)


def relative_bits(values: Any, value_bits: int, index_bits: int, filler_symbol: bool = False) -> int:
    """Relative indexing with fillers: every entry (weights and fillers) costs value + index bits.

    ``filler_symbol=False`` charges ``value_bits`` per value, as [DC] does. ``True`` counts the
    filler as a value symbol of its own: a layer that has fillers then holds ``2**value_bits + 1``
    symbols, and a fixed-width entry needs one value bit more.
    """
    flat = np.ravel(_to_numpy(values, "values"))
    stored, _ = encode_sparse(flat, index_bits)
    has_fillers = stored.size > np.count_nonzero(flat)
    return int(stored.size) * (int(value_bits) + int(filler_symbol and has_fillers) + int(index_bits))


def storage_bits(weights: Any, value_bits: int = 32, index_bits: int = 5) -> dict[str, int]:
    """Bits to store one layer three ways: ``dense`` (zeros included, 32-bit floats),
    ``csr`` (``value_bits`` values, int32 indices and pointers) and ``relative``
    (``value_bits`` values, ``index_bits`` relative indices with fillers)."""
    arr = _to_numpy(weights, "weights")
    return {
        "dense": dense_bits(arr.size, 32),
        "csr": csr_bits(arr, value_bits),
        "relative": relative_bits(arr.ravel(), value_bits, index_bits),
    }


def index_bits_sweep(
    values: Any,
    value_bits: int,
    index_bits: Sequence[int] = tuple(range(2, 9)),
    weight_codes: Any = None,
) -> list[dict[str, int]]:
    """Storage of one layer for each index bit-width, before and after Huffman coding.

    ``values``: the layer (flattened in row-major order), 0 = pruned. For every ``b``
    in ``index_bits`` the row holds the number of ``entries`` and ``fillers``, the
    ``fixed_bits`` of plain storage (``entries * (value_bits + b)``) and the
    ``huffman_bits`` when the index fields and the weight codes are each Huffman
    coded with their own code (code tables not counted).

    ``weight_codes`` (optional, integers, one per weight) are the symbols Huffman
    codes for the kept weights, e.g. their cluster numbers. By default each distinct
    non-zero value gets its own symbol. Fillers carry the weight symbol 0, as in
    :func:`encode_sparse`; give the kept weights codes >= 1 to keep 0 for them.
    """
    flat = np.ravel(_to_numpy(values, "values"))
    _as_flat_layer(flat)
    positions = np.flatnonzero(flat)
    if weight_codes is None:
        kept_codes = np.unique(flat[positions], return_inverse=True)[1].reshape(-1) + 1
    else:
        codes = np.ravel(_to_numpy(weight_codes, "weight_codes"))
        if codes.shape != flat.shape:
            raise ValueError(f"weight_codes must have one code per weight: {codes.size} codes for {flat.size} weights.")
        if not np.issubdtype(codes.dtype, np.integer):
            raise TypeError(f"weight_codes must be integers, got dtype {codes.dtype}.")
        kept_codes = codes[positions].astype(np.int64)
    rows = []
    for b in index_bits:
        stored, is_filler = relative_indices(positions, b)
        symbols = np.zeros(stored.size, dtype=np.int64)
        symbols[~is_filler] = kept_codes
        n = int(stored.size)
        rows.append(
            {
                "index_bits": int(b),
                "entries": n,
                "fillers": int(is_filler.sum()),
                "fixed_bits": n * (int(value_bits) + int(b)),
                "huffman_bits": huffman_bits(stored) + huffman_bits(symbols),
            }
        )
    return rows


def cheapest_index_bits(positions: Any, value_bits: int, candidates: Sequence[int] = tuple(range(2, 9))) -> tuple[int, int]:
    """The index bit-width with the smallest fixed-width storage, and that storage in bits ([DC] §2).

    Each candidate ``b`` costs ``entries * (value_bits + b)`` bits, where ``entries``
    counts the kept weights *and* the fillers of :func:`relative_indices`: few bits
    make every entry cheap but need many fillers, many bits need no fillers but make
    every entry expensive. Ties go to the smaller ``b``. Returns ``(b, bits)``.

    Like [DC], a filler's value is charged ``value_bits`` bits. That is an assumption: with the
    filler as an extra symbol a layer with fillers has ``2**value_bits + 1`` value symbols, and a
    true fixed-width code needs one more bit per entry (notebook 06 shows both counts).
    """
    if isinstance(value_bits, (bool, np.bool_)) or not isinstance(value_bits, (int, np.integer)) or value_bits < 0:
        raise ValueError(f"value_bits must be a non-negative integer, got {value_bits!r}.")
    candidates = [_check_index_bits(b) for b in candidates]
    if not candidates:
        raise ValueError("candidates is empty: give at least one index bit-width, e.g. range(2, 9).")
    best = None
    for b in candidates:
        stored, _ = relative_indices(positions, b)
        total = int(stored.size) * (int(value_bits) + b)
        if best is None or (total, b) < (best[1], best[0]):
            best = (b, total)
    return best
