"""Every check the reader makes; each failure is a :class:`CompressedFileError`.

A damaged file never yields a model with silently wrong weights. The checks, in the
order the reader makes them:

- the container (:func:`check_container`): the file is shorter than a preamble, or its
  magic is not ``\\x89DCZ`` (foreign); the version is not one this reader knows; the
  size differs from ``11 + header_len + body_len + 4`` (truncated or padded); the
  CRC32 differs (corrupted);
- the header (:func:`check_layer_count`, :func:`check_layer_name`, :func:`check_shape`,
  :func:`check_header_fields`): an unknown model or layer, a shape the model does not
  have, a field out of range;
- the body, even behind a valid checksum: fields the writer never produces
  (:func:`check_stored_layer`: a codebook that is not finite and strictly increasing,
  a code table that does not fit its stream, non-zero padding bits) and streams that
  decode to what the writer never writes (:func:`check_decoded_streams`:
  out-of-range symbols, unused centroids, a Huffman table whose symbols are not
  exactly those of its stream, a filler entry on a short gap), wrong sizes
  (:func:`check_weight_count`, :func:`check_fully_read`), non-finite biases
  (:func:`check_bias`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
from torch import nn

from .errors import FIX_HINT, CompressedFileError
from .layout import (
    CHECKSUM, DTYPES, FLOAT16, FLOAT32, LAYOUTS, MAGIC, MAX_CENTROIDS, NO_BIAS, PREAMBLE, VERSION, LayerHeader,
)
from .parsing import ByteCursor, StoredLayer
from .streams import stream_bits


@dataclass
class ExpectedModel:
    """What the header is checked against: the model the file names, and the layers read so far."""

    name: str
    layers: dict[str, nn.Module]  # prunable_layers of the named model
    seen: set[str] = field(default_factory=set)


def check_container(data: bytes, where: str) -> tuple[int, int]:
    """Magic, version, size and CRC32 of the whole file; returns ``(header_len, body_len)``."""
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


def check_layer_count(count: int, expected: ExpectedModel, where: str) -> None:
    if count != len(expected.layers):
        raise CompressedFileError(f"{where}: {count} layer records, but {expected.name} has {len(expected.layers)}. {FIX_HINT}")


def check_layer_name(name: str, expected: ExpectedModel, where: str) -> None:
    """A layer of the model, not read before."""
    if name not in expected.layers or name in expected.seen:
        raise CompressedFileError(f"{where}: unexpected or repeated layer {name!r} for model {expected.name}. {FIX_HINT}")


def check_shape(name: str, shape: tuple[int, ...], expected: ExpectedModel, where: str) -> None:
    model_shape = tuple(expected.layers[name].weight.shape)
    if shape != model_shape:
        raise CompressedFileError(
            f"{where}: layer {name} has shape {shape} in the file, but {expected.name} expects {model_shape}. {FIX_HINT}"
        )


def check_header_fields(header: LayerHeader, has_bias: bool, where: str) -> None:
    """Each fixed field in its range, before the body is read with them."""
    problems = []
    if header.centroid_count > MAX_CENTROIDS:
        problems.append(f"{header.centroid_count} centroids (max {MAX_CENTROIDS})")
    if not 1 <= header.gap_bits <= 8:
        problems.append(f"index bits {header.gap_bits}")
    if header.layout not in LAYOUTS:
        problems.append(f"layout {header.layout}")
    allowed_bias = (FLOAT32, FLOAT16) if has_bias else (NO_BIAS,)
    if header.codebook_dtype not in DTYPES or header.bias_dtype not in allowed_bias:
        problems.append(f"value types {header.codebook_dtype}/{header.bias_dtype}")
    weights = header.weight_count
    if header.entries > weights * 2 + 1:  # cannot need more entries than positions plus fillers
        problems.append(f"{header.entries} entries for {weights} weights")
    if problems:
        raise CompressedFileError(f"{where}: layer {header.name} has invalid fields: {', '.join(problems)}. {FIX_HINT}")


def check_stored_layer(header: LayerHeader, stored: StoredLayer, where: str) -> None:
    """What the writer guarantees about a layer, checked before its streams are decoded.

    - the codebook is finite and strictly increasing (``np.unique`` of the weights), and
      ``K <= 2 ** b_w`` ([DC] §3);
    - a code table is empty exactly when its stream is, and the stream's padding bits are 0.
    """
    name, k, cluster_index_bits = header.name, header.centroid_count, header.cluster_index_bits
    if not 1 <= cluster_index_bits <= 8 or k > 1 << cluster_index_bits:
        raise CompressedFileError(f"{where}: layer {name} has {k} centroids for {cluster_index_bits} weight bits. {FIX_HINT}")
    if not np.all(np.isfinite(stored.codebook)) or np.any(np.diff(stored.codebook) <= 0):
        raise CompressedFileError(
            f"{where}: layer {name}'s codebook is not a finite, strictly increasing list of values. {FIX_HINT}"
        )
    n = header.entries
    streams = (
        ("weight", stored.cluster_index_lengths, stored.cluster_index_data, header.cluster_index_stream_bits),
        ("gap", stored.gap_lengths, stored.gap_data, header.gap_stream_bits),
    )
    for what, lengths, data, nbits in streams:
        if (n == 0) != (not lengths.any()) or (n == 0) != (nbits == 0) or (n and nbits < n):
            raise CompressedFileError(
                f"{where}: layer {name}'s {what} code table does not fit its {n} entries. {FIX_HINT}"
            )
        if nbits % 8 and data[-1] & ((1 << (8 - nbits % 8)) - 1):
            raise CompressedFileError(f"{where}: layer {name}'s {what} stream has non-zero padding bits. {FIX_HINT}")


def check_decoded_streams(
    header: LayerHeader, stored: StoredLayer, cluster_symbols: np.ndarray, gaps: np.ndarray, where: str
) -> None:
    """What the writer guarantees about the decoded streams.

    - each stream takes exactly the bits the header announces, and has ``n`` symbols
      in range (cluster-index symbols ``0..K``, gaps ``0..2 ** b_i - 1``);
    - the Huffman codes were built from these very streams ([DC] §4): a symbol has a
      code exactly when it occurs;
    - every centroid is used (the codebook is the set of the layer's values, [DC] §3);
    - a filler (symbol 0) only bridges a maximal gap ``2 ** b_i - 1`` ([DC] §2, Fig. 2).
    """
    name, n, k, gap_bits = header.name, header.entries, header.centroid_count, header.gap_bits
    if n and (stream_bits(cluster_symbols, stored.cluster_index_lengths) != header.cluster_index_stream_bits
              or stream_bits(gaps, stored.gap_lengths) != header.gap_stream_bits):
        raise CompressedFileError(f"{where}: layer {name}'s bitstreams do not match their lengths. {FIX_HINT}")
    if cluster_symbols.size != n or gaps.size != n or (n and (cluster_symbols.max() > k or gaps.max() >= 1 << gap_bits)):
        raise CompressedFileError(f"{where}: layer {name} decodes to out-of-range symbols. {FIX_HINT}")
    if cluster_symbols.size == 0:
        if k:
            raise CompressedFileError(f"{where}: layer {name} stores {k} centroids but no weights. {FIX_HINT}")
        return
    streams = (("weight", cluster_symbols, stored.cluster_index_lengths), ("gap", gaps, stored.gap_lengths))
    for what, symbols, lengths in streams:
        occurs = np.bincount(symbols, minlength=lengths.size) > 0
        if not np.array_equal(occurs, lengths > 0):
            raise CompressedFileError(
                f"{where}: layer {name}'s {what} code table does not match its stream. {FIX_HINT}"
            )
    if not np.all(np.bincount(cluster_symbols, minlength=k + 1)[1:] > 0):
        raise CompressedFileError(f"{where}: layer {name} has unused centroids. {FIX_HINT}")
    if np.any(gaps[cluster_symbols == 0] != (1 << gap_bits) - 1):
        raise CompressedFileError(f"{where}: layer {name} has a filler entry that bridges no long gap. {FIX_HINT}")


def check_weight_count(header: LayerHeader, count: int, where: str) -> None:
    if count != header.weight_count:
        raise CompressedFileError(
            f"{where}: layer {header.name} decodes to {count} weights, expected {header.weight_count}. {FIX_HINT}"
        )


def check_bias(name: str, bias: np.ndarray, where: str) -> None:
    if not np.all(np.isfinite(bias)):
        raise CompressedFileError(f"{where}: layer {name}'s biases are not finite numbers. {FIX_HINT}")


def check_fully_read(head: ByteCursor, body: ByteCursor, where: str) -> None:
    if not head.at_end() or not body.at_end():
        raise CompressedFileError(f"{where}: the file has unread bytes after its last layer. {FIX_HINT}")
