"""The byte layout of a ``.dcz`` file, version 1: constants, struct formats, dtype codes.

Both directions use this module: the writer packs with it, the reader unpacks with
it, so every byte of the format is described here once.

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
then ``B`` the number of layer records, then per layer (:class:`LayerHeader`):

========  =================================================================
type      field
========  =================================================================
B + str   layer name, as in ``prunable_layers(model)`` (``fc1``, ``conv2``)
B + nI    ndim, then each dimension of the weight tensor (``I`` each)
B         ``b_w``: bits of one cluster index, the nominal weight bits of the
          codebook ([DC] §3, Table 2 "weight bits P+Q")
H         ``K``: the number of shared weights (centroids) stored, 0..256
B         ``b_i``: bits of one sparse gap, 1..8 ([DC] §2 relative indices)
B         layout: 0 = row-major flattening (CSR-like), 1 = column-major (CSC-like)
B         codebook dtype: 1 = float32, 2 = float16
B         bias dtype: 0 = no bias, 1 = float32, 2 = float16
I         ``n``: stored entries (kept weights + filler zeros)
I         bits in the cluster-index bitstream
I         bits in the gap bitstream
========  =================================================================

Body
----
Per layer, in header order (the keys of :meth:`LayerHeader.part_sizes`):

1. ``codebook``: ``K`` values (float32 or float16), the shared weights in
   increasing order ([DC] §3).
2. ``weight_table``: the canonical Huffman code ([DC] §4) of the ``K + 1``
   cluster-index symbols, stored as code lengths only, 5 bits per symbol, MSB
   first, padded to a byte. Symbol 0 is the *filler zero* of [DC] Fig. 2 (a stored
   entry whose weight is 0); symbol ``k >= 1`` is cluster index ``k - 1``, i.e.
   centroid ``k - 1``. Length 0 means the symbol does not occur. The code itself
   is rebuilt with :func:`course_lib.huffman.canonical_code`.
3. ``gap_table``: the same for the ``2 ** b_i`` gap symbols.
4. ``weight_stream``: the ``n`` cluster-index symbols, Huffman coded, MSB first,
   padded with zero bits to a byte.
5. ``gap_stream``: the ``n`` stored gaps, Huffman coded, MSB first, padded.
   A stored gap ``d`` means "the next entry is ``d + 1`` positions after the
   previous one" (:mod:`course_lib.sparse_storage`); a distance larger than
   ``2 ** b_i`` is bridged with filler entries ([DC] §2, Fig. 2).
6. ``bias``: ``shape[0]`` values (float32 or float16), if the layer has a bias.

Positions count along the flattened weight tensor, in C order (layout 0) or
Fortran order (layout 1). Zeros after the last entry are implicit.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass

import numpy as np

MAGIC = b"\x89DCZ"
VERSION = 1
PREAMBLE = struct.Struct("<4sBHI")  # magic, version, header_len, body_len
CHECKSUM = struct.Struct("<I")  # CRC32 of everything before it
# The fixed fields of a layer record, after its name and shape, in the order of LayerHeader:
# b_w, K, b_i, layout, codebook dtype, bias dtype, n, cluster-index stream bits, gap stream bits.
LAYER_FIXED = struct.Struct("<BHBBBBIII")
CODE_LENGTH_BITS = 5  # a Huffman code length, 0..31, is stored in 5 bits
MAX_CENTROIDS = 256  # K <= 256: a cluster index fits 8 bits
INDEX_BITS_CHOICES = tuple(range(2, 9))  # the gap widths b_i the writer tries ([DC] §2)

ROW_MAJOR, COLUMN_MAJOR = 0, 1
LAYOUTS = {ROW_MAJOR: "C", COLUMN_MAJOR: "F"}  # layout code -> numpy flattening order

NO_BIAS, FLOAT32, FLOAT16 = 0, 1, 2
DTYPES = {FLOAT32: np.dtype("<f4"), FLOAT16: np.dtype("<f2")}  # value dtype code -> stored dtype
DTYPE_NAMES = {FLOAT32: "float32", FLOAT16: "float16"}

# The body parts of one layer, in file order; also the keys of LayerReport.bytes.
BODY_PARTS = ("codebook", "weight_table", "gap_table", "weight_stream", "gap_stream", "bias")


def packed_len(count: int, width: int) -> int:
    """Bytes of ``count`` values of ``width`` bits each, packed and padded to a byte."""
    return math.ceil(count * width / 8)


def pack_uints(values, width: int) -> bytes:
    """Pack non-negative ints into ``width`` bits each, MSB first, zero-padded to a byte."""
    values = np.asarray(values, dtype=np.int64)
    if values.size and (values.min() < 0 or values.max() >= (1 << width)):
        raise ValueError(f"values must fit in {width} bits (0..{(1 << width) - 1}).")
    bits = ((values[:, None] >> np.arange(width - 1, -1, -1)) & 1).astype(np.uint8).ravel()
    return np.packbits(bits).tobytes()


def unpack_uints(data: bytes, width: int, count: int) -> np.ndarray:
    """Inverse of :func:`pack_uints`."""
    need = packed_len(count, width)
    if len(data) < need:
        raise ValueError(f"need {need} bytes for {count} values of {width} bits, got {len(data)}.")
    bits = np.unpackbits(np.frombuffer(data[:need], dtype=np.uint8))[: count * width].reshape(count, width)
    return (bits.astype(np.int64) << np.arange(width - 1, -1, -1)).sum(axis=1)


def pack_text(text: str) -> bytes:
    """A name as stored in the header: ``B`` length, then ASCII."""
    raw = text.encode("ascii")
    return struct.pack("<B", len(raw)) + raw


def pack_container(header: bytes, body: bytes) -> bytes:
    """The whole file: preamble + ``header`` + ``body`` + CRC32 checksum."""
    if len(header) >= 1 << 16 or len(body) >= 1 << 32:
        raise ValueError("the model is too large for format version 1.")
    blob = PREAMBLE.pack(MAGIC, VERSION, len(header), len(body)) + header + body
    return blob + CHECKSUM.pack(zlib.crc32(blob) & 0xFFFFFFFF)


@dataclass
class LayerHeader:
    """The header record of one layer: the fields of the table in the module docstring.

    - ``name``, ``shape``: the layer and the shape of its weight tensor.
    - ``cluster_index_bits``: ``b_w``, the width of one cluster index, i.e. the
      nominal weight bits of the codebook ([DC] §3); reported as ``LayerReport.weight_bits``.
    - ``centroid_count``: ``K``, the number of shared weights stored in the codebook.
    - ``gap_bits``: ``b_i``, the width of one sparse gap ([DC] §2); reported as
      ``LayerReport.index_bits``.
    - ``layout``: :data:`ROW_MAJOR` or :data:`COLUMN_MAJOR`, the flattening order.
    - ``codebook_dtype``, ``bias_dtype``: value dtype codes (:data:`DTYPES`;
      :data:`NO_BIAS` for a layer without bias).
    - ``entries``: ``n``, the stored entries, kept weights plus fillers.
    - ``cluster_index_stream_bits``, ``gap_stream_bits``: the real (unpadded) bits
      of the two Huffman-coded streams ([DC] §4).
    """

    name: str
    shape: tuple[int, ...]
    cluster_index_bits: int
    centroid_count: int
    gap_bits: int
    layout: int
    codebook_dtype: int
    bias_dtype: int
    entries: int
    cluster_index_stream_bits: int
    gap_stream_bits: int

    @classmethod
    def from_fixed(cls, name: str, shape: tuple[int, ...], fixed: tuple[int, ...]) -> LayerHeader:
        """The record from its name, its shape and the values unpacked with :data:`LAYER_FIXED`."""
        return cls(name, shape, *fixed)

    def fixed(self) -> tuple[int, ...]:
        """The values packed with :data:`LAYER_FIXED`, in its order."""
        return (
            self.cluster_index_bits, self.centroid_count, self.gap_bits, self.layout, self.codebook_dtype,
            self.bias_dtype, self.entries, self.cluster_index_stream_bits, self.gap_stream_bits,
        )

    def to_bytes(self) -> bytes:
        out = pack_text(self.name)
        out += struct.pack(f"<B{len(self.shape)}I", len(self.shape), *self.shape)
        return out + LAYER_FIXED.pack(*self.fixed())

    @property
    def weight_count(self) -> int:
        """Positions of the flattened weight tensor (pruned ones included)."""
        return math.prod(self.shape)

    def part_sizes(self) -> dict[str, int]:
        """Bytes of each body part of the layer (:data:`BODY_PARTS`), from the header alone."""
        bias = 0 if self.bias_dtype == NO_BIAS else self.shape[0] * DTYPES[self.bias_dtype].itemsize
        return {
            "codebook": self.centroid_count * DTYPES[self.codebook_dtype].itemsize,
            "weight_table": packed_len(self.centroid_count + 1, CODE_LENGTH_BITS),
            "gap_table": packed_len(1 << self.gap_bits, CODE_LENGTH_BITS),
            "weight_stream": math.ceil(self.cluster_index_stream_bits / 8),
            "gap_stream": math.ceil(self.gap_stream_bits / 8),
            "bias": bias,
        }
