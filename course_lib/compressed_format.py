"""The ``.dcz`` file: a pruned, weight-shared model stored as Deep Compression stores it.

[DC] §2-§4 describe three stages whose output is a *file*: the sparse structure
as index gaps ([DC] §2, Fig. 2), the weights as indices into a per-layer codebook
([DC] §3), and both index streams Huffman coded ([DC] §4). This module writes and
reads that file, so that every compression ratio in the course is a number of bytes
on disk (``os.path.getsize``), not an estimate.

    report = save_compressed(model, "lenet300100.dcz")   # the model's weights are shared
    model = load_compressed("lenet300100.dcz")          # a runnable nn.Module, eval mode

Layout (version 1)
==================

All integers are little-endian, packed with :mod:`struct`. A file is four parts,
one after the other::

    preamble  11 bytes   fixed size
    header    H bytes    H = header_len from the preamble
    body      B bytes    B = body_len from the preamble
    checksum  4 bytes    CRC32 (zlib.crc32) of preamble + header + body

so its size is exactly ``11 + H + B + 4`` bytes; a reader checks this first.

Preamble (``<4sBHI``)
---------------------
=======  =====  ==============================================================
offset   type   field
=======  =====  ==============================================================
0        4s     magic ``b"\\x89DCZ"`` (the high first byte marks a binary file)
4        B      format version, ``1``
5        H      ``header_len``: bytes of the header
7        I      ``body_len``: bytes of the body
=======  =====  ==============================================================

Header
------
``B`` length + ASCII: the model's registry name (:func:`course_lib.models.build_model`),
then ``B`` the number of layer records, then per layer (``L`` = one layer):

========  =================================================================
type      field
========  =================================================================
B + str   layer name, as in ``prunable_layers(model)`` (``fc1``, ``conv2``)
B + nI    ndim, then each dimension of the weight tensor (``I`` each)
B         nominal weight bits ``b_w`` (the codebook's bit-width, [DC] Table 2 "weight bits P+Q")
H         ``K``: the number of shared weights (centroids) stored, 0..256
B         ``b_i``: index bits of the sparse gaps, 1..8 ([DC] §2)
B         layout: 0 = row-major flattening (CSR-like), 1 = column-major (CSC-like)
B         codebook dtype: 1 = float32, 2 = float16
B         bias dtype: 0 = no bias, 1 = float32, 2 = float16
I         ``n``: stored entries (kept weights + filler zeros)
I         bits in the weight-index bitstream
I         bits in the gap bitstream
========  =================================================================

Body
----
Per layer, in header order:

1. **codebook**: ``K`` values (float32 or float16), the shared weights in
   increasing order.
2. **weight-symbol code lengths**: the canonical Huffman code ([DC] §4) of the
   ``K + 1`` weight symbols, stored as code lengths only, 5 bits per symbol,
   MSB first, padded to a byte. Symbol 0 is the *filler zero* of [DC] Fig. 2 (a
   stored entry whose weight is 0); symbol ``k >= 1`` is centroid ``k - 1``.
   Length 0 means the symbol does not occur. The code itself is rebuilt with
   :func:`course_lib.huffman.canonical_code`.
3. **gap code lengths**: the same for the ``2 ** b_i`` gap symbols.
4. **weight-index bitstream**: the ``n`` weight symbols, Huffman coded, MSB first,
   padded with zero bits to a byte.
5. **gap bitstream**: the ``n`` stored gaps, Huffman coded, MSB first, padded.
   A stored gap ``d`` means "the next entry is ``d + 1`` positions after the
   previous one" (:mod:`course_lib.sparse_storage`); a distance larger than
   ``2 ** b_i`` is bridged with filler entries ([DC] §2, Fig. 2).
6. **biases**: ``shape[0]`` values (float32 or float16), if the layer has a bias.

Positions count along the flattened weight tensor, in C order (layout 0) or
Fortran order (layout 1). Zeros after the last entry are implicit.

Choices the writer makes
------------------------
- The codebook of a layer is the set of distinct non-zero values of its
  weights, so reading back yields *bit-identical* weights. A model whose layer has
  more than 256 distinct values is not weight-shared, and is refused.
- ``b_i`` and the layout are chosen per layer by trying ``b_i`` = 2..8 with both
  layouts and keeping the smallest encoding (tables included), unless given.
- A codebook or a bias vector is stored as float16 only when every value survives
  the float16 round trip exactly (``value_dtype="auto"``); otherwise float32.
  The file is lossless either way: the model read back equals the model written.

Reading a damaged file
----------------------
Every check below raises :class:`CompressedFileError` (a ``ValueError``) naming
what is wrong and what to do; a damaged file never yields a model with silently
wrong weights:

- the file is shorter than a preamble, or its magic is not ``\\x89DCZ`` (foreign);
- the version is not one this reader knows;
- the size differs from ``11 + header_len + body_len + 4`` (truncated or padded);
- the CRC32 differs (corrupted);
- the header or body is inconsistent (unknown model or layer, a shape the model
  does not have, a stream that decodes to out-of-range symbols, ...);
- a field is one the writer never produces, even behind a valid checksum: a codebook
  that is not finite and strictly increasing or has unused centroids, a Huffman table
  whose symbols are not exactly those of its stream, a filler entry on a short gap,
  non-zero padding bits, non-finite biases.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from .huffman import canonical_code, huffman_code_lengths, huffman_decode, huffman_encode
from .models import build_model, model_name, prunable_layers
from .sparse_storage import decode_sparse, encode_sparse

MAGIC = b"\x89DCZ"
VERSION = 1
PREAMBLE = struct.Struct("<4sBHI")
CHECKSUM = struct.Struct("<I")
LAYER_FIXED = struct.Struct("<BHBBBBIII")  # after name and shape: b_w, K, b_i, layout, cb dtype, bias dtype, n, wbits, gbits
CODE_LENGTH_BITS = 5  # code lengths 0..31 per symbol
MAX_CENTROIDS = 256
INDEX_BITS_CHOICES = tuple(range(2, 9))
LAYOUTS = {0: "C", 1: "F"}
DTYPES = {1: np.dtype("<f4"), 2: np.dtype("<f2")}
DTYPE_NAMES = {1: "float32", 2: "float16"}
FIX_HINT = "Re-create it with `make reproduce` (python -m course_lib.reproduce) or save_compressed()."


class CompressedFileError(ValueError):
    """A ``.dcz`` file is truncated, corrupted, foreign or inconsistent."""


# ---------------------------------------------------------------------------
# Small bit-level helpers
# ---------------------------------------------------------------------------


def pack_uints(values, width: int) -> bytes:
    """Pack non-negative ints into ``width`` bits each, MSB first, zero-padded to a byte."""
    values = np.asarray(values, dtype=np.int64)
    if values.size and (values.min() < 0 or values.max() >= (1 << width)):
        raise ValueError(f"values must fit in {width} bits (0..{(1 << width) - 1}).")
    bits = ((values[:, None] >> np.arange(width - 1, -1, -1)) & 1).astype(np.uint8).ravel()
    return np.packbits(bits).tobytes()


def unpack_uints(data: bytes, width: int, count: int) -> np.ndarray:
    """Inverse of :func:`pack_uints`."""
    need = _packed_len(count, width)
    if len(data) < need:
        raise ValueError(f"need {need} bytes for {count} values of {width} bits, got {len(data)}.")
    bits = np.unpackbits(np.frombuffer(data[:need], dtype=np.uint8))[: count * width].reshape(count, width)
    return (bits.astype(np.int64) << np.arange(width - 1, -1, -1)).sum(axis=1)


def _packed_len(count: int, width: int) -> int:
    return math.ceil(count * width / 8)


# ---------------------------------------------------------------------------
# Encoding one layer
# ---------------------------------------------------------------------------


def _code_lengths(symbols: np.ndarray, alphabet: int) -> np.ndarray:
    """Huffman code lengths of ``symbols`` as an array over the whole alphabet (0 = absent)."""
    lengths = np.zeros(alphabet, dtype=np.int64)
    if symbols.size == 0:
        return lengths
    counts = np.bincount(symbols, minlength=alphabet)
    present = {int(s): int(c) for s, c in enumerate(counts) if c > 0}
    if len(present) == 1:  # one symbol: a one-bit code keeps the stream decodable
        lengths[next(iter(present))] = 1
        return lengths
    for sym, length in huffman_code_lengths(present).items():
        lengths[int(sym)] = int(length)
    if lengths.max() >= 1 << CODE_LENGTH_BITS:
        raise ValueError(f"a Huffman code is {lengths.max()} bits long; the format stores at most {(1 << CODE_LENGTH_BITS) - 1}.")
    return lengths


def _code_from_lengths(lengths: np.ndarray) -> dict[int, str]:
    return canonical_code({int(s): int(n) for s, n in enumerate(lengths) if n > 0})


def _stream_bits(symbols: np.ndarray, lengths: np.ndarray) -> int:
    return int(lengths[symbols].sum()) if symbols.size else 0


def _encode_stream(symbols: np.ndarray, lengths: np.ndarray) -> tuple[bytes, int]:
    if symbols.size == 0:
        return b"", 0
    data, nbits = huffman_encode([int(s) for s in symbols], _code_from_lengths(lengths))
    return bytes(data), int(nbits)


def _decode_stream(data: bytes, lengths: np.ndarray, count: int, nbits: int | None = None) -> np.ndarray:
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(huffman_decode(data, _code_from_lengths(lengths), count, nbits), dtype=np.int64)


def _value_dtype(values: np.ndarray, choice: str) -> int:
    """1 (float32) or 2 (float16): float16 only when it is exact and allowed."""
    if choice == "float32":
        return 1
    exact = np.array_equal(values.astype(np.float16).astype(np.float32), values)
    if choice == "float16":
        if not exact:
            raise ValueError("value_dtype='float16' would change some values; use 'auto' or 'float32'.")
        return 2
    if choice != "auto":
        raise ValueError(f"value_dtype must be 'auto', 'float32' or 'float16', got {choice!r}.")
    return 2 if exact and np.all(np.isfinite(values)) else 1


@dataclass
class LayerRecord:
    """Everything the file holds for one layer, plus its size accounting."""

    name: str
    shape: tuple[int, ...]
    weight_bits: int
    centroids: np.ndarray
    index_bits: int
    layout: int
    codebook_dtype: int
    bias_dtype: int
    symbols: np.ndarray  # stored weight symbols (0 = filler, k = centroid k-1)
    gaps: np.ndarray  # stored gaps (d = distance - 1)
    weight_lengths: np.ndarray
    gap_lengths: np.ndarray
    bias: np.ndarray | None
    weight_stream: bytes = b""
    weight_stream_bits: int = 0
    gap_stream: bytes = b""
    gap_stream_bits: int = 0

    @property
    def entries(self) -> int:
        return int(self.symbols.size)

    def header_bytes(self) -> bytes:
        name = self.name.encode("ascii")
        out = struct.pack("<B", len(name)) + name
        out += struct.pack(f"<B{len(self.shape)}I", len(self.shape), *self.shape)
        out += LAYER_FIXED.pack(
            self.weight_bits, len(self.centroids), self.index_bits, self.layout, self.codebook_dtype,
            self.bias_dtype, self.entries, self.weight_stream_bits, self.gap_stream_bits,
        )
        return out

    def body_parts(self) -> dict[str, bytes]:
        return {
            "codebook": self.centroids.astype(DTYPES[self.codebook_dtype]).tobytes(),
            "weight_table": pack_uints(self.weight_lengths, CODE_LENGTH_BITS),
            "gap_table": pack_uints(self.gap_lengths, CODE_LENGTH_BITS),
            "weight_stream": self.weight_stream,
            "gap_stream": self.gap_stream,
            "bias": b"" if self.bias is None else self.bias.astype(DTYPES[self.bias_dtype]).tobytes(),
        }


def _layer_symbols(weight: np.ndarray, centroids: np.ndarray, layout: int) -> np.ndarray:
    """Flat symbols: 0 where the weight is 0, else 1 + its centroid's index."""
    flat = weight.ravel(order=LAYOUTS[layout])
    sym = np.searchsorted(centroids, flat) + 1
    sym[flat == 0] = 0
    return sym.astype(np.int64)


def _sparse_streams(flat_symbols: np.ndarray, index_bits: int) -> tuple[np.ndarray, np.ndarray]:
    gaps, values = encode_sparse(flat_symbols, index_bits)
    return np.asarray(gaps, dtype=np.int64).ravel(), np.asarray(values).astype(np.int64).ravel()


def _layer_cost(gaps: np.ndarray, symbols: np.ndarray, k: int, index_bits: int):
    """Bytes of the variable part of a layer (tables + streams) for one choice of index bits."""
    wl = _code_lengths(symbols, k + 1)
    gl = _code_lengths(gaps, 1 << index_bits)
    size = (
        _packed_len(k + 1, CODE_LENGTH_BITS)
        + _packed_len(1 << index_bits, CODE_LENGTH_BITS)
        + math.ceil(_stream_bits(symbols, wl) / 8)
        + math.ceil(_stream_bits(gaps, gl) / 8)
    )
    return size, wl, gl


def encode_layer(
    name: str,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    weight_bits: int | None = None,
    index_bits: int | None = None,
    layout: int | None = None,
    value_dtype: str = "auto",
) -> LayerRecord:
    """Build the record of one layer: codebook, sparse streams and their Huffman codes.

    ``index_bits`` / ``layout`` = None tries 2..8 bits and both layouts and keeps the
    smallest encoding.
    """
    w = weight.detach().to("cpu", torch.float32).numpy()
    if not np.all(np.isfinite(w)):
        raise ValueError(f"layer {name!r} has non-finite weights; they cannot be stored.")
    centroids = np.unique(w[w != 0]).astype(np.float32)
    k = int(centroids.size)
    if k > MAX_CENTROIDS:
        raise ValueError(
            f"layer {name!r} has {k} distinct non-zero weights; a weight-shared layer has at most "
            f"{MAX_CENTROIDS} (8 bits). Quantize the model first (course_lib.weight_sharing.apply_codebooks)."
        )
    nominal = max(1, math.ceil(math.log2(max(k, 2)))) if weight_bits is None else int(weight_bits)
    if k > 1 << nominal:
        raise ValueError(f"layer {name!r} has {k} shared weights, more than {nominal} bits can index ({1 << nominal}).")
    if index_bits is not None and not 1 <= int(index_bits) <= 8:
        raise ValueError(f"index_bits must be between 1 and 8, got {index_bits} for layer {name!r}.")
    if layout is not None and layout not in LAYOUTS:
        raise ValueError(f"layout must be 0 (row-major) or 1 (column-major), got {layout!r}.")
    best = None
    for lay in [layout] if layout is not None else list(LAYOUTS):
        flat = _layer_symbols(w, centroids, lay)
        for b in [int(index_bits)] if index_bits is not None else INDEX_BITS_CHOICES:
            gaps, symbols = _sparse_streams(flat, b)
            size, wl, gl = _layer_cost(gaps, symbols, k, b)
            if best is None or size < best[0]:
                best = (size, lay, b, gaps, symbols, wl, gl)
    _, lay, b, gaps, symbols, wl, gl = best
    b_np = None if bias is None else bias.detach().to("cpu", torch.float32).numpy().copy()
    record = LayerRecord(
        name=name, shape=tuple(int(s) for s in w.shape), weight_bits=nominal, centroids=centroids, index_bits=b,
        layout=lay, codebook_dtype=_value_dtype(centroids, value_dtype),
        bias_dtype=0 if b_np is None else _value_dtype(b_np, value_dtype),
        symbols=symbols, gaps=gaps, weight_lengths=wl, gap_lengths=gl, bias=b_np,
    )
    record.weight_stream, record.weight_stream_bits = _encode_stream(symbols, wl)
    record.gap_stream, record.gap_stream_bits = _encode_stream(gaps, gl)
    return record


# ---------------------------------------------------------------------------
# Size accounting
# ---------------------------------------------------------------------------


@dataclass
class LayerReport:
    """Sizes of one layer in the file, and the paper's per-layer statistics ([DC] Tables 2-3)."""

    name: str
    shape: tuple[int, ...]
    weights: int
    kept: int
    entries: int
    fillers: int
    centroids: int
    weight_bits: int  # P+Q: nominal bits per weight index
    index_bits: int  # P+Q: bits per stored gap
    weight_bits_huffman: float  # P+Q+H: average bits per stored weight index
    index_bits_huffman: float  # P+Q+H: average bits per stored gap
    layout: str
    codebook_dtype: str
    bias_dtype: str
    bytes: dict[str, int] = field(default_factory=dict)

    @property
    def kept_fraction(self) -> float:
        return self.kept / self.weights if self.weights else 0.0

    @property
    def weight_part_bytes(self) -> int:
        """File bytes of the layer's weights: codebook, tables, streams (no bias, no header)."""
        b = self.bytes
        return b["codebook"] + b["weight_table"] + b["gap_table"] + b["weight_stream"] + b["gap_stream"]

    @property
    def rate_pq(self) -> float:
        """[DC] Tables 2-3 "rate P+Q": fixed-width indices + float32 codebook, over float32 weights."""
        bits = self.entries * (self.weight_bits + self.index_bits) + 32 * self.centroids
        return bits / (32 * self.weights)

    @property
    def rate_pqh(self) -> float:
        """[DC] Tables 2-3 "rate P+Q+H": the layer's weight bytes in this file over float32 weights."""
        return self.weight_part_bytes / (4 * self.weights)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shape"] = list(self.shape)
        d.update(kept_fraction=self.kept_fraction, rate_pq=self.rate_pq, rate_pqh=self.rate_pqh,
                 weight_part_bytes=self.weight_part_bytes)
        return d


@dataclass
class CompressedReport:
    """Where the bytes of a ``.dcz`` file go."""

    model: str
    file_bytes: int
    float32_bytes: int
    preamble_bytes: int
    header_bytes: int
    checksum_bytes: int
    layers: list[LayerReport]

    @property
    def ratio(self) -> float:
        """float32 parameter bytes over file bytes ([DC] Table 1's compression rate)."""
        return self.float32_bytes / self.file_bytes

    def totals(self) -> dict[str, int]:
        """Bytes per kind, whole file: codebook, weight/gap tables and streams, biases, header."""
        out = {k: 0 for k in ("codebook", "weight_table", "gap_table", "weight_stream", "gap_stream", "bias")}
        for layer in self.layers:
            for k, v in layer.bytes.items():
                out[k] += v
        out["header"] = self.preamble_bytes + self.header_bytes + self.checksum_bytes
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "file_bytes": self.file_bytes, "float32_bytes": self.float32_bytes,
            "ratio": self.ratio, "totals": self.totals(), "layers": [l.as_dict() for l in self.layers],
        }


def _layer_report(rec: LayerRecord, parts: dict[str, int], weights: int, kept: int) -> LayerReport:
    n = rec.entries
    fillers = n - kept
    return LayerReport(
        name=rec.name, shape=rec.shape, weights=weights, kept=kept, entries=n, fillers=fillers,
        centroids=len(rec.centroids), weight_bits=rec.weight_bits, index_bits=rec.index_bits,
        weight_bits_huffman=rec.weight_stream_bits / n if n else 0.0,
        index_bits_huffman=rec.gap_stream_bits / n if n else 0.0,
        layout="row-major" if rec.layout == 0 else "column-major",
        codebook_dtype=DTYPE_NAMES[rec.codebook_dtype],
        bias_dtype="none" if rec.bias_dtype == 0 else DTYPE_NAMES[rec.bias_dtype],
        bytes=parts,
    )


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _per_layer(value, name: str, what: str):
    if value is None or isinstance(value, (int, np.integer)):
        return value
    if isinstance(value, Mapping):
        return value.get(name)
    raise TypeError(f"{what} must be None, an int, or a dict layer name -> int; got {type(value).__name__}.")


def _nominal_bits(codebooks, bits, name):
    b = _per_layer(bits, name, "bits")
    if b is None and codebooks is not None and name in codebooks:
        cb = codebooks[name]
        centroids = getattr(cb, "centroids", cb)
        b = max(1, math.ceil(math.log2(max(len(centroids), 2))))
    return b


def _check_codebook(name: str, weight: torch.Tensor, codebook) -> None:
    centroids = getattr(codebook, "centroids", codebook)
    c = torch.as_tensor(centroids).detach().to("cpu", torch.float32).flatten()
    w = weight.detach().to("cpu", torch.float32).flatten()
    nz = w[w != 0]
    if nz.numel() and not torch.isin(nz, c).all():
        raise ValueError(
            f"layer {name!r}: its weights are not all values of its codebook. Apply the codebook to the "
            "model first (course_lib.weight_sharing.apply_codebooks) and save that model."
        )


def encode_model(
    model: nn.Module,
    codebooks: Mapping[str, Any] | None = None,
    bits: int | Mapping[str, int] | None = None,
    index_bits: int | Mapping[str, int] | None = None,
    value_dtype: str = "auto",
) -> tuple[bytes, CompressedReport]:
    """The bytes of the ``.dcz`` file of ``model`` and their accounting (see the module docstring).

    - ``codebooks``: optional ``{layer: Codebook or centroids}``; the model's weights
      must be values of it (checked), and its size sets the nominal weight bits.
    - ``bits``: nominal weight bits (int or per layer); by default from the codebook.
    - ``index_bits``: bits per stored gap (int or per layer); ``None`` picks the
      cheapest of 2..8 per layer by measuring the encoded size.
    - ``value_dtype``: ``"auto"`` (float16 where exact), ``"float32"`` or ``"float16"``.
    """
    name = model_name(model)
    layers = prunable_layers(model)
    covered = {f"{ln}.{p}" for ln, m in layers.items() for p, _ in m.named_parameters(recurse=False)}
    other = sorted(set(model.state_dict()) - covered)
    if other:
        raise ValueError(f"the model has state the format does not store: {other}.")
    records = []
    for lname, module in layers.items():
        if codebooks is not None and lname in codebooks:
            _check_codebook(lname, module.weight, codebooks[lname])
        records.append(encode_layer(
            lname, module.weight, getattr(module, "bias", None),
            weight_bits=_nominal_bits(codebooks, bits, lname),
            index_bits=_per_layer(index_bits, lname, "index_bits"), value_dtype=value_dtype,
        ))
    mname = name.encode("ascii")
    header = struct.pack("<B", len(mname)) + mname + struct.pack("<B", len(records))
    header += b"".join(r.header_bytes() for r in records)
    body_parts = [r.body_parts() for r in records]
    body = b"".join(b"".join(p.values()) for p in body_parts)
    if len(header) >= 1 << 16 or len(body) >= 1 << 32:
        raise ValueError("the model is too large for format version 1.")
    pre = PREAMBLE.pack(MAGIC, VERSION, len(header), len(body))
    blob = pre + header + body
    blob += CHECKSUM.pack(zlib.crc32(blob) & 0xFFFFFFFF)
    reports = []
    for rec, parts, (lname, module) in zip(records, body_parts, layers.items()):
        w = module.weight.detach()
        reports.append(_layer_report(rec, {k: len(v) for k, v in parts.items()}, w.numel(), int((w != 0).sum())))
    float32 = 4 * sum(p.numel() for p in model.parameters())
    report = CompressedReport(name, len(blob), float32, PREAMBLE.size, len(header), CHECKSUM.size, reports)
    return blob, report


def save_compressed(
    model: nn.Module,
    path: str | os.PathLike,
    codebooks: Mapping[str, Any] | None = None,
    bits: int | Mapping[str, int] | None = None,
    index_bits: int | Mapping[str, int] | None = None,
    value_dtype: str = "auto",
) -> CompressedReport:
    """Write ``model`` (pruned, weights shared) to ``path`` as a ``.dcz`` file; returns its report.

    Arguments as in :func:`encode_model`. The report's ``file_bytes`` equals
    ``os.path.getsize(path)``. The file is written to a temporary name and renamed,
    so an interrupted save never leaves a half-written file under ``path``.
    """
    blob, report = encode_model(model, codebooks=codebooks, bits=bits, index_bits=index_bits, value_dtype=value_dtype)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, path)
    return report


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


class _Reader:
    """Reads fields from a bytes object; running past the end is a CompressedFileError."""

    def __init__(self, data: bytes, where: str, what: str):
        self.data, self.pos, self.where, self.what = data, 0, where, what

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise CompressedFileError(
                f"{self.where}: the {self.what} ends early (needs {n} bytes at offset {self.pos}, has "
                f"{len(self.data) - self.pos}); the file is inconsistent. {FIX_HINT}"
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str):
        s = struct.Struct("<" + fmt)
        return s.unpack(self.take(s.size))

    def text(self) -> str:
        (n,) = self.unpack("B")
        raw = self.take(n)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise CompressedFileError(f"{self.where}: a name in the {self.what} is not ASCII. {FIX_HINT}") from None


@dataclass
class CompressedModel:
    """A decoded file: the model name, the state dict, and the size report."""

    model: str
    state_dict: dict[str, torch.Tensor]
    report: CompressedReport


def _check_container(data: bytes, where: str) -> tuple[int, int]:
    if len(data) < PREAMBLE.size + CHECKSUM.size:
        if not data.startswith(MAGIC[: len(data)]) or not data:
            raise CompressedFileError(f"{where}: not a Deep Compression (.dcz) file ({len(data)} bytes, no '\\x89DCZ' magic).")
        raise CompressedFileError(
            f"{where}: the file is truncated ({len(data)} bytes, shorter than the {PREAMBLE.size + CHECKSUM.size}-byte "
            f"minimum). {FIX_HINT}"
        )
    magic, version, header_len, body_len = PREAMBLE.unpack_from(data)
    if magic != MAGIC:
        raise CompressedFileError(
            f"{where}: not a Deep Compression (.dcz) file: it starts with {magic!r}, expected {MAGIC!r}. "
            "Pass a file written by save_compressed()."
        )
    if version != VERSION:
        raise CompressedFileError(
            f"{where}: format version {version} is not supported (this reader reads version {VERSION}). "
            f"Update course_lib, or {FIX_HINT[0].lower() + FIX_HINT[1:]}"
        )
    expected = PREAMBLE.size + header_len + body_len + CHECKSUM.size
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "longer than its header says"
        raise CompressedFileError(
            f"{where}: the file is {state}: it has {len(data)} bytes, its header announces {expected}. "
            f"It was damaged or not completely written/copied. {FIX_HINT}"
        )
    (stored,) = CHECKSUM.unpack_from(data, len(data) - CHECKSUM.size)
    actual = zlib.crc32(data[: -CHECKSUM.size]) & 0xFFFFFFFF
    if stored != actual:
        raise CompressedFileError(
            f"{where}: the file is corrupted: its CRC32 checksum is {stored:#010x} but its contents give {actual:#010x}. "
            f"{FIX_HINT}"
        )
    return header_len, body_len


def decode_compressed(data: bytes, where: str = "<bytes>") -> CompressedModel:
    """Decode the bytes of a ``.dcz`` file (see the module docstring); raises :class:`CompressedFileError`."""
    data = bytes(data)
    header_len, body_len = _check_container(data, where)
    try:
        return _decode_checked(data, header_len, body_len, where)
    except CompressedFileError:
        raise
    except (ValueError, IndexError, KeyError, struct.error, OverflowError, TypeError, RuntimeError) as exc:
        raise CompressedFileError(f"{where}: the file's contents are inconsistent ({type(exc).__name__}: {exc}). {FIX_HINT}") from exc


def _check_layer_fields(lname, where, wbits, k, centroids, wl, gl, w_stream, w_nbits, g_stream, g_nbits, n) -> None:
    """What the writer guarantees about a layer, checked before its streams are decoded.

    - the codebook is finite and strictly increasing (``np.unique`` of the weights), and
      ``K <= 2 ** b_w``;
    - a code table is empty exactly when its stream is, and the stream's padding bits are 0.
    """
    if not 1 <= wbits <= 8 or k > 1 << wbits:
        raise CompressedFileError(f"{where}: layer {lname} has {k} centroids for {wbits} weight bits. {FIX_HINT}")
    if not np.all(np.isfinite(centroids)) or np.any(np.diff(centroids) <= 0):
        raise CompressedFileError(
            f"{where}: layer {lname}'s codebook is not a finite, strictly increasing list of values. {FIX_HINT}"
        )
    for what, lengths, stream, nbits in (("weight", wl, w_stream, w_nbits), ("gap", gl, g_stream, g_nbits)):
        if (n == 0) != (not lengths.any()) or (n == 0) != (nbits == 0) or (n and nbits < n):
            raise CompressedFileError(
                f"{where}: layer {lname}'s {what} code table does not fit its {n} entries. {FIX_HINT}"
            )
        if nbits % 8 and stream[-1] & ((1 << (8 - nbits % 8)) - 1):
            raise CompressedFileError(f"{where}: layer {lname}'s {what} stream has non-zero padding bits. {FIX_HINT}")


def _check_layer_streams(lname, where, k, ibits, symbols, gaps, wl, gl) -> None:
    """What the writer guarantees about decoded streams.

    - the Huffman codes were built from these very streams: a symbol has a code
      exactly when it occurs;
    - every centroid is used (the codebook is the set of the layer's values);
    - a filler (symbol 0) only bridges a maximal gap ``2 ** b_i - 1`` ([DC] Fig. 2).
    """
    if symbols.size == 0:
        if k:
            raise CompressedFileError(f"{where}: layer {lname} stores {k} centroids but no weights. {FIX_HINT}")
        return
    for what, stream, lengths in (("weight", symbols, wl), ("gap", gaps, gl)):
        occurs = np.bincount(stream, minlength=lengths.size) > 0
        if not np.array_equal(occurs, lengths > 0):
            raise CompressedFileError(
                f"{where}: layer {lname}'s {what} code table does not match its stream. {FIX_HINT}"
            )
    if not np.all(np.bincount(symbols, minlength=k + 1)[1:] > 0):
        raise CompressedFileError(f"{where}: layer {lname} has unused centroids. {FIX_HINT}")
    if np.any(gaps[symbols == 0] != (1 << ibits) - 1):
        raise CompressedFileError(f"{where}: layer {lname} has a filler entry that bridges no long gap. {FIX_HINT}")


def _decode_checked(data: bytes, header_len: int, body_len: int, where: str) -> CompressedModel:
    head = _Reader(data[PREAMBLE.size : PREAMBLE.size + header_len], where, "header")
    body = _Reader(data[PREAMBLE.size + header_len : -CHECKSUM.size], where, "body")
    name = head.text()
    try:
        reference = build_model(name)
    except ValueError:
        raise CompressedFileError(f"{where}: the file names an unknown model {name!r}. {FIX_HINT}") from None
    expected_layers = prunable_layers(reference)
    (n_layers,) = head.unpack("B")
    if n_layers != len(expected_layers):
        raise CompressedFileError(f"{where}: {n_layers} layer records, but {name} has {len(expected_layers)}. {FIX_HINT}")
    state: dict[str, torch.Tensor] = {}
    reports = []
    for _ in range(n_layers):
        lname = head.text()
        if lname not in expected_layers or f"{lname}.weight" in state:
            raise CompressedFileError(f"{where}: unexpected or repeated layer {lname!r} for model {name}. {FIX_HINT}")
        module = expected_layers[lname]
        (ndim,) = head.unpack("B")
        shape = tuple(head.unpack(f"{ndim}I"))
        if shape != tuple(module.weight.shape):
            raise CompressedFileError(
                f"{where}: layer {lname} has shape {shape} in the file, but {name} expects {tuple(module.weight.shape)}. {FIX_HINT}"
            )
        wbits, k, ibits, layout, cb_dt, bias_dt, n, w_nbits, g_nbits = head.unpack(LAYER_FIXED.format[1:])
        has_bias = getattr(module, "bias", None) is not None
        numel = int(np.prod(shape))
        problems = []
        if k > MAX_CENTROIDS:
            problems.append(f"{k} centroids (max {MAX_CENTROIDS})")
        if not 1 <= ibits <= 8:
            problems.append(f"index bits {ibits}")
        if layout not in LAYOUTS:
            problems.append(f"layout {layout}")
        if cb_dt not in DTYPES or bias_dt not in ((1, 2) if has_bias else (0,)):
            problems.append(f"value types {cb_dt}/{bias_dt}")
        if n > numel * 2 + 1:  # cannot need more entries than positions plus fillers
            problems.append(f"{n} entries for {numel} weights")
        if problems:
            raise CompressedFileError(f"{where}: layer {lname} has invalid fields: {', '.join(problems)}. {FIX_HINT}")
        centroids = np.frombuffer(body.take(k * DTYPES[cb_dt].itemsize), dtype=DTYPES[cb_dt]).astype(np.float32)
        wl = unpack_uints(body.take(_packed_len(k + 1, CODE_LENGTH_BITS)), CODE_LENGTH_BITS, k + 1)
        gl = unpack_uints(body.take(_packed_len(1 << ibits, CODE_LENGTH_BITS)), CODE_LENGTH_BITS, 1 << ibits)
        w_stream = body.take(math.ceil(w_nbits / 8))
        g_stream = body.take(math.ceil(g_nbits / 8))
        _check_layer_fields(lname, where, wbits, k, centroids, wl, gl, w_stream, w_nbits, g_stream, g_nbits, n)
        symbols = _decode_stream(w_stream, wl, n, w_nbits)
        gaps = _decode_stream(g_stream, gl, n, g_nbits)
        if n and (_stream_bits(symbols, wl) != w_nbits or _stream_bits(gaps, gl) != g_nbits):
            raise CompressedFileError(f"{where}: layer {lname}'s bitstreams do not match their lengths. {FIX_HINT}")
        if symbols.size != n or gaps.size != n or (n and (symbols.max() > k or gaps.max() >= 1 << ibits)):
            raise CompressedFileError(f"{where}: layer {lname} decodes to out-of-range symbols. {FIX_HINT}")
        _check_layer_streams(lname, where, k, ibits, symbols, gaps, wl, gl)
        flat = np.asarray(decode_sparse(gaps, symbols, numel, ibits)).astype(np.int64).ravel()
        if flat.size != numel:
            raise CompressedFileError(f"{where}: layer {lname} decodes to {flat.size} weights, expected {numel}. {FIX_HINT}")
        table = np.concatenate([np.zeros(1, np.float32), centroids])
        weight = table[flat].reshape(shape, order=LAYOUTS[layout])
        state[f"{lname}.weight"] = torch.from_numpy(np.ascontiguousarray(weight, dtype=np.float32))
        bias_bytes = 0
        if has_bias:
            raw = body.take(shape[0] * DTYPES[bias_dt].itemsize)
            bias_bytes = len(raw)
            bias = np.frombuffer(raw, dtype=DTYPES[bias_dt]).astype(np.float32)
            if not np.all(np.isfinite(bias)):
                raise CompressedFileError(f"{where}: layer {lname}'s biases are not finite numbers. {FIX_HINT}")
            state[f"{lname}.bias"] = torch.from_numpy(bias)
        rec = LayerRecord(lname, shape, wbits, centroids, ibits, layout, cb_dt, bias_dt, symbols, gaps, wl, gl, None,
                          w_stream, w_nbits, g_stream, g_nbits)
        parts = {
            "codebook": k * DTYPES[cb_dt].itemsize, "weight_table": _packed_len(k + 1, CODE_LENGTH_BITS),
            "gap_table": _packed_len(1 << ibits, CODE_LENGTH_BITS), "weight_stream": len(w_stream),
            "gap_stream": len(g_stream), "bias": bias_bytes,
        }
        reports.append(_layer_report(rec, parts, numel, int((flat != 0).sum())))
    if head.pos != len(head.data) or body.pos != len(body.data):
        raise CompressedFileError(f"{where}: the file has unread bytes after its last layer. {FIX_HINT}")
    float32 = 4 * sum(p.numel() for p in reference.parameters())
    report = CompressedReport(name, len(data), float32, PREAMBLE.size, header_len, CHECKSUM.size, reports)
    return CompressedModel(name, state, report)


def read_compressed(path: str | os.PathLike) -> CompressedModel:
    """Decode the file at ``path`` without building a model (state dict + size report)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No compressed model at {path}. {FIX_HINT}")
    return decode_compressed(path.read_bytes(), str(path))


def load_compressed(path: str | os.PathLike, device: torch.device | str | None = None) -> nn.Module:
    """Rebuild the model stored in ``path``: a runnable ``nn.Module`` in eval mode.

    It lives on ``device``, by default :func:`course_lib.train.default_device`.
    A truncated, corrupted or foreign file raises :class:`CompressedFileError`.
    """
    from .train import default_device

    decoded = read_compressed(path)
    model = build_model(decoded.model)
    model.load_state_dict(decoded.state_dict, strict=True)
    model.to(device if device is not None else default_device())
    model.eval()
    return model


def describe(report: CompressedReport) -> str:
    """A plain-text table of where the bytes go, layer by layer."""
    lines = [f"{report.model}: {report.file_bytes:,} bytes on disk, {report.float32_bytes:,} float32 bytes, "
             f"ratio {report.ratio:.1f}x"]
    lines.append(f"{'layer':<7}{'kept':>9}{'K':>5}{'b_i':>5}{'w bits H':>10}{'i bits H':>10}{'bytes':>8}  layout")
    for l in report.layers:
        lines.append(
            f"{l.name:<7}{l.kept_fraction:>8.1%}{l.centroids:>5}{l.index_bits:>5}{l.weight_bits_huffman:>10.2f}"
            f"{l.index_bits_huffman:>10.2f}{l.weight_part_bytes + l.bytes['bias']:>8}  {l.layout}, bias {l.bias_dtype}"
        )
    lines.append("bytes by kind: " + ", ".join(f"{k} {v}" for k, v in report.totals().items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Print where the bytes of .dcz files go.")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for f in args.files:
        print(describe(read_compressed(f).report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
