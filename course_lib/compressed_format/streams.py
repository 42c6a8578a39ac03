"""The two Huffman-coded streams of a layer ([DC] §4) and their code tables.

Each layer stores two streams of ``n`` symbols, one per stored entry:

- the *cluster-index* stream ([DC] §3): symbol 0 is a filler zero ([DC] Fig. 2),
  symbol ``k >= 1`` means the weight is centroid ``k - 1`` of the codebook;
- the *gap* stream ([DC] §2): the stored gap ``d``, i.e. the entry is ``d + 1``
  positions after the previous one.

Both are coded with a canonical Huffman code, so a code table is just one code
length per symbol of the alphabet (0 = the symbol does not occur).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..huffman import canonical_code, huffman_code_lengths, huffman_decode, huffman_encode
from .layout import CODE_LENGTH_BITS, pack_uints


def code_lengths(symbols: np.ndarray, alphabet: int) -> np.ndarray:
    """Huffman code lengths of ``symbols`` as an array over the whole alphabet (0 = absent)."""
    lengths = np.zeros(alphabet, dtype=np.int64)
    if symbols.size == 0:
        return lengths
    counts = np.bincount(symbols, minlength=alphabet)
    present = {int(s): int(c) for s, c in enumerate(counts) if c > 0}
    if len(present) == 1:  # one symbol: a one-bit code keeps the stream decodable
        lengths[next(iter(present))] = 1
        return lengths
    for symbol, length in huffman_code_lengths(present).items():
        lengths[int(symbol)] = int(length)
    if lengths.max() >= 1 << CODE_LENGTH_BITS:
        raise ValueError(f"a Huffman code is {lengths.max()} bits long; the format stores at most {(1 << CODE_LENGTH_BITS) - 1}.")
    return lengths


def code_from_lengths(lengths: np.ndarray) -> dict[int, str]:
    """The canonical Huffman code (symbol -> codeword) that a table of code lengths stands for."""
    return canonical_code({int(s): int(n) for s, n in enumerate(lengths) if n > 0})


def stream_bits(symbols: np.ndarray, lengths: np.ndarray) -> int:
    """Bits of ``symbols`` coded with the code of ``lengths``, padding excluded."""
    return int(lengths[symbols].sum()) if symbols.size else 0


def encode_stream(symbols: np.ndarray, lengths: np.ndarray) -> tuple[bytes, int]:
    """The coded stream, padded to a byte, and its number of real bits."""
    if symbols.size == 0:
        return b"", 0
    data, nbits = huffman_encode([int(s) for s in symbols], code_from_lengths(lengths))
    return bytes(data), int(nbits)


def decode_stream(data: bytes, lengths: np.ndarray, count: int, nbits: int | None = None) -> np.ndarray:
    """The ``count`` symbols coded in ``data`` with the code of ``lengths``."""
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(huffman_decode(data, code_from_lengths(lengths), count, nbits), dtype=np.int64)


@dataclass
class SymbolStream:
    """One stream of a layer: its symbols, its code table and, once encoded, its bytes.

    - ``symbols``: one int per stored entry;
    - ``code_lengths``: the Huffman code length of each symbol of the alphabet;
    - ``data``, ``bit_count``: the coded stream (padded to a byte) and its real bits,
      filled by :meth:`encoded`.
    """

    symbols: np.ndarray
    code_lengths: np.ndarray
    data: bytes = b""
    bit_count: int = 0

    @classmethod
    def with_huffman_code(cls, symbols: np.ndarray, alphabet: int) -> SymbolStream:
        """The stream of ``symbols`` with the Huffman code built from their counts."""
        return cls(symbols, code_lengths(symbols, alphabet))

    def coded_bits(self) -> int:
        """Bits the coded stream will take (what :meth:`encoded` will produce)."""
        return stream_bits(self.symbols, self.code_lengths)

    def table_bytes(self) -> bytes:
        """The code table as stored: 5 bits per code length, MSB first, padded."""
        return pack_uints(self.code_lengths, CODE_LENGTH_BITS)

    def encoded(self) -> SymbolStream:
        """A copy with ``data`` and ``bit_count`` filled in."""
        data, bit_count = encode_stream(self.symbols, self.code_lengths)
        return replace(self, data=data, bit_count=bit_count)
