"""Parsing a ``.dcz`` file: reading its fields in file order, without judging them.

Only running past the end of the header or the body is an error here
(:class:`~course_lib.compressed_format.errors.CompressedFileError`); whether the values
read make sense is :mod:`~course_lib.compressed_format.validation`'s job.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from .errors import FIX_HINT, CompressedFileError
from .layout import CHECKSUM, CODE_LENGTH_BITS, DTYPES, LAYER_FIXED, PREAMBLE, LayerHeader, packed_len, unpack_uints


class ByteCursor:
    """Reads fields from a bytes object; running past the end is a CompressedFileError.

    ``where`` names the file and ``what`` the part read (``"header"``, ``"body"``) in messages.
    """

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
        """Values of the little-endian struct format ``fmt`` (without its ``<``)."""
        s = struct.Struct("<" + fmt)
        return s.unpack(self.take(s.size))

    def text(self) -> str:
        """A name: ``B`` length, then ASCII."""
        (n,) = self.unpack("B")
        raw = self.take(n)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise CompressedFileError(f"{self.where}: a name in the {self.what} is not ASCII. {FIX_HINT}") from None

    def at_end(self) -> bool:
        return self.pos == len(self.data)


def split_sections(data: bytes, header_len: int, where: str) -> tuple[ByteCursor, ByteCursor]:
    """Cursors over the header and the body of a file whose container is checked."""
    head = ByteCursor(data[PREAMBLE.size : PREAMBLE.size + header_len], where, "header")
    body = ByteCursor(data[PREAMBLE.size + header_len : -CHECKSUM.size], where, "body")
    return head, body


def read_shape(head: ByteCursor) -> tuple[int, ...]:
    """``B`` ndim, then each dimension (``I``)."""
    (ndim,) = head.unpack("B")
    return tuple(head.unpack(f"{ndim}I"))


def read_fixed_fields(head: ByteCursor, name: str, shape: tuple[int, ...]) -> LayerHeader:
    """The rest of a layer's header record (:data:`~.layout.LAYER_FIXED`)."""
    return LayerHeader.from_fixed(name, shape, head.unpack(LAYER_FIXED.format[1:]))


@dataclass
class StoredLayer:
    """A layer's body as read, biases excepted (:data:`~.layout.BODY_PARTS` 1-5).

    ``codebook``: the ``K`` centroids, as float32; ``cluster_index_lengths`` and
    ``gap_lengths``: the two Huffman code tables ([DC] §4); ``cluster_index_data`` and
    ``gap_data``: the two coded streams, padding included.
    """

    codebook: np.ndarray
    cluster_index_lengths: np.ndarray
    gap_lengths: np.ndarray
    cluster_index_data: bytes
    gap_data: bytes


def read_layer_streams(body: ByteCursor, header: LayerHeader) -> StoredLayer:
    """Codebook, code tables and streams of one layer, in file order."""
    k = header.centroid_count
    codebook_dtype = DTYPES[header.codebook_dtype]
    codebook = np.frombuffer(body.take(k * codebook_dtype.itemsize), dtype=codebook_dtype).astype(np.float32)
    cluster_index_lengths = _read_code_table(body, k + 1)
    gap_lengths = _read_code_table(body, 1 << header.gap_bits)
    cluster_index_data = body.take(math.ceil(header.cluster_index_stream_bits / 8))
    gap_data = body.take(math.ceil(header.gap_stream_bits / 8))
    return StoredLayer(codebook, cluster_index_lengths, gap_lengths, cluster_index_data, gap_data)


def _read_code_table(body: ByteCursor, alphabet: int) -> np.ndarray:
    return unpack_uints(body.take(packed_len(alphabet, CODE_LENGTH_BITS)), CODE_LENGTH_BITS, alphabet)


def read_bias(body: ByteCursor, header: LayerHeader) -> np.ndarray:
    """The layer's ``shape[0]`` biases, as float32 (the layer has a bias)."""
    bias_dtype = DTYPES[header.bias_dtype]
    raw = body.take(header.shape[0] * bias_dtype.itemsize)
    return np.frombuffer(raw, dtype=bias_dtype).astype(np.float32)
