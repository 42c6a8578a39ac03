"""Encoding one layer: its codebook, its sparse streams and their Huffman codes ([DC] §2-§4).

:func:`encode_layer` turns a pruned, weight-shared weight tensor into a
:class:`LayerRecord`, everything the file holds for that layer:

- the codebook ([DC] §3) is the set of distinct non-zero weights, so reading back
  yields *bit-identical* weights; a layer with more than 256 of them is refused;
- each weight becomes a cluster-index symbol (0 = pruned, ``k`` = centroid ``k - 1``),
  flattened in row- or column-major order and stored sparsely as (gap, symbol)
  entries with ``b_i``-bit gaps and fillers ([DC] §2, Fig. 2);
- unless given, ``b_i`` and the layout are chosen by trying ``b_i`` = 2..8 with both
  layouts and keeping the smallest encoding, code tables included;
- both streams are Huffman coded ([DC] §4);
- the codebook and the biases are stored as float16 only when every value survives
  the float16 round trip exactly (``value_dtype="auto"``), otherwise float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..sparse_storage import encode_sparse
from .layout import (
    CODE_LENGTH_BITS, DTYPES, FLOAT16, FLOAT32, INDEX_BITS_CHOICES, LAYOUTS, MAX_CENTROIDS, NO_BIAS, LayerHeader,
    packed_len,
)
from .streams import SymbolStream


@dataclass
class LayerChoices:
    """What the caller may fix for one layer instead of letting the writer choose.

    - ``cluster_index_bits``: ``b_w``, the nominal width of one cluster index ([DC] §3);
      ``None`` = the fewest bits that index the codebook.
    - ``gap_bits``: ``b_i``, the width of one sparse gap, 1..8 ([DC] §2); ``None`` = the
      cheapest of :data:`INDEX_BITS_CHOICES`.
    - ``layout``: 0 (row-major) or 1 (column-major); ``None`` = the cheaper.
    - ``value_dtype``: ``"auto"`` (float16 where exact), ``"float32"`` or ``"float16"``.
    """

    cluster_index_bits: int | None = None
    gap_bits: int | None = None
    layout: int | None = None
    value_dtype: str = "auto"


@dataclass
class StoredValues:
    """Float values as the file stores them (a codebook or a bias vector).

    ``values`` are float32; ``dtype`` is the stored dtype code (:data:`FLOAT32` or :data:`FLOAT16`).
    """

    values: np.ndarray
    dtype: int

    def to_bytes(self) -> bytes:
        return self.values.astype(DTYPES[self.dtype]).tobytes()


@dataclass
class SparseEncoding:
    """A layer's weights as two streams, for one layout and one gap width ([DC] §2).

    ``cluster_indices`` holds one symbol per stored entry (0 = filler, ``k`` = centroid
    ``k - 1``), ``gaps`` the entry's stored gap (distance - 1, ``< 2 ** gap_bits``).
    """

    layout: int
    gap_bits: int
    cluster_indices: SymbolStream
    gaps: SymbolStream

    @property
    def entries(self) -> int:
        return int(self.cluster_indices.symbols.size)

    def variable_bytes(self) -> int:
        """Bytes of the parts that depend on the choice: both code tables and both streams."""
        return (
            packed_len(self.cluster_indices.code_lengths.size, CODE_LENGTH_BITS)
            + packed_len(1 << self.gap_bits, CODE_LENGTH_BITS)
            + math.ceil(self.cluster_indices.coded_bits() / 8)
            + math.ceil(self.gaps.coded_bits() / 8)
        )

    def encoded(self) -> SparseEncoding:
        """A copy whose two streams are Huffman coded ([DC] §4)."""
        return SparseEncoding(self.layout, self.gap_bits, self.cluster_indices.encoded(), self.gaps.encoded())


@dataclass
class LayerRecord:
    """Everything the file holds for one layer: its header record and its body parts.

    ``cluster_index_bits`` is ``b_w`` ([DC] §3); ``codebook`` the shared weights in
    increasing order; ``sparse`` the encoded streams; ``bias`` ``None`` when the layer has none.
    """

    name: str
    shape: tuple[int, ...]
    cluster_index_bits: int
    codebook: StoredValues
    sparse: SparseEncoding
    bias: StoredValues | None

    @property
    def entries(self) -> int:
        return self.sparse.entries

    def header(self) -> LayerHeader:
        return LayerHeader(
            name=self.name, shape=self.shape, cluster_index_bits=self.cluster_index_bits,
            centroid_count=len(self.codebook.values), gap_bits=self.sparse.gap_bits, layout=self.sparse.layout,
            codebook_dtype=self.codebook.dtype, bias_dtype=NO_BIAS if self.bias is None else self.bias.dtype,
            entries=self.entries, cluster_index_stream_bits=self.sparse.cluster_indices.bit_count,
            gap_stream_bits=self.sparse.gaps.bit_count,
        )

    def header_bytes(self) -> bytes:
        return self.header().to_bytes()

    def body_parts(self) -> dict[str, bytes]:
        """The layer's body, part by part, in file order (:data:`~.layout.BODY_PARTS`)."""
        return {
            "codebook": self.codebook.to_bytes(),
            "weight_table": self.sparse.cluster_indices.table_bytes(),
            "gap_table": self.sparse.gaps.table_bytes(),
            "weight_stream": self.sparse.cluster_indices.data,
            "gap_stream": self.sparse.gaps.data,
            "bias": b"" if self.bias is None else self.bias.to_bytes(),
        }


def _value_dtype(values: np.ndarray, choice: str) -> int:
    """FLOAT32 or FLOAT16: float16 only when it is exact and allowed."""
    if choice == "float32":
        return FLOAT32
    exact = np.array_equal(values.astype(np.float16).astype(np.float32), values)
    if choice == "float16":
        if not exact:
            raise ValueError("value_dtype='float16' would change some values; use 'auto' or 'float32'.")
        return FLOAT16
    if choice != "auto":
        raise ValueError(f"value_dtype must be 'auto', 'float32' or 'float16', got {choice!r}.")
    return FLOAT16 if exact and np.all(np.isfinite(values)) else FLOAT32


def _shared_values(name: str, weight: np.ndarray) -> np.ndarray:
    """The layer's codebook: its distinct non-zero weights, increasing ([DC] §3)."""
    if not np.all(np.isfinite(weight)):
        raise ValueError(f"layer {name!r} has non-finite weights; they cannot be stored.")
    centroids = np.unique(weight[weight != 0]).astype(np.float32)
    if centroids.size > MAX_CENTROIDS:
        raise ValueError(
            f"layer {name!r} has {centroids.size} distinct non-zero weights; a weight-shared layer has at most "
            f"{MAX_CENTROIDS} (8 bits). Quantize the model first (course_lib.weight_sharing.apply_codebooks)."
        )
    return centroids


def _checked_cluster_index_bits(name: str, centroid_count: int, requested: int | None) -> int:
    """``b_w``: the ``requested`` width, or the fewest bits that index ``centroid_count`` centroids."""
    bits = max(1, math.ceil(math.log2(max(centroid_count, 2)))) if requested is None else int(requested)
    if centroid_count > 1 << bits:
        raise ValueError(
            f"layer {name!r} has {centroid_count} shared weights, more than {bits} bits can index ({1 << bits})."
        )
    return bits


def _check_sparse_choices(name: str, choices: LayerChoices) -> None:
    if choices.gap_bits is not None and not 1 <= int(choices.gap_bits) <= 8:
        raise ValueError(f"index_bits must be between 1 and 8, got {choices.gap_bits} for layer {name!r}.")
    if choices.layout is not None and choices.layout not in LAYOUTS:
        raise ValueError(f"layout must be 0 (row-major) or 1 (column-major), got {choices.layout!r}.")


def _cluster_index_symbols(weight: np.ndarray, centroids: np.ndarray, layout: int) -> np.ndarray:
    """Flat symbols: 0 where the weight is 0, else 1 + its cluster index."""
    flat = weight.ravel(order=LAYOUTS[layout])
    symbols = np.searchsorted(centroids, flat) + 1
    symbols[flat == 0] = 0
    return symbols.astype(np.int64)


def _sparse_encoding(flat_symbols: np.ndarray, centroid_count: int, layout: int, gap_bits: int) -> SparseEncoding:
    """The (gap, cluster-index) entries of ``flat_symbols`` and their Huffman code tables."""
    gaps, symbols = encode_sparse(flat_symbols, gap_bits)
    gaps = np.asarray(gaps, dtype=np.int64).ravel()
    symbols = np.asarray(symbols).astype(np.int64).ravel()
    return SparseEncoding(
        layout, gap_bits,
        cluster_indices=SymbolStream.with_huffman_code(symbols, centroid_count + 1),
        gaps=SymbolStream.with_huffman_code(gaps, 1 << gap_bits),
    )


def _cheapest_encoding(weight: np.ndarray, centroids: np.ndarray, choices: LayerChoices) -> SparseEncoding:
    """The smallest encoding over the allowed layouts and gap widths (the first one on ties)."""
    layouts = [choices.layout] if choices.layout is not None else list(LAYOUTS)
    widths = [int(choices.gap_bits)] if choices.gap_bits is not None else INDEX_BITS_CHOICES
    best, best_bytes = None, None
    for layout in layouts:
        flat = _cluster_index_symbols(weight, centroids, layout)
        for gap_bits in widths:
            candidate = _sparse_encoding(flat, centroids.size, layout, gap_bits)
            size = candidate.variable_bytes()
            if best is None or size < best_bytes:
                best, best_bytes = candidate, size
    return best


def encode_layer(
    name: str, weight: torch.Tensor, bias: torch.Tensor | None, choices: LayerChoices | None = None
) -> LayerRecord:
    """Build the record of one layer: codebook, sparse streams and their Huffman codes.

    ``choices`` fixes ``b_w``, ``b_i``, the layout or the value dtype; what it leaves
    ``None`` the writer chooses (``b_i`` and the layout: the smallest encoding).
    """
    choices = choices or LayerChoices()
    weight_np = weight.detach().to("cpu", torch.float32).numpy()
    centroids = _shared_values(name, weight_np)
    cluster_index_bits = _checked_cluster_index_bits(name, int(centroids.size), choices.cluster_index_bits)
    _check_sparse_choices(name, choices)
    sparse = _cheapest_encoding(weight_np, centroids, choices)
    bias_np = None if bias is None else bias.detach().to("cpu", torch.float32).numpy().copy()
    codebook = StoredValues(centroids, _value_dtype(centroids, choices.value_dtype))
    stored_bias = None if bias_np is None else StoredValues(bias_np, _value_dtype(bias_np, choices.value_dtype))
    return LayerRecord(
        name=name, shape=tuple(int(s) for s in weight_np.shape), cluster_index_bits=cluster_index_bits,
        codebook=codebook, sparse=sparse.encoded(), bias=stored_bias,
    )
