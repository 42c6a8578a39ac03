"""Reading a ``.dcz`` file back into a state dict, a size report and a runnable model.

The reader's jobs, each in its own place:

1. check the container: magic, version, size, CRC32 (:mod:`.validation`);
2. parse the header and body fields in file order (:mod:`.parsing`);
3. validate each field against the model the file names and against what the writer
   produces, as soon as it is read, so the first inconsistency is the one reported
   (:mod:`.validation`);
4. decode: the Huffman streams ([DC] §4), the sparse positions ([DC] §2), the
   weights from the codebook ([DC] §3) (this module);
5. account for the bytes (:mod:`.report`).

Any failure is a :class:`~.errors.CompressedFileError` naming what is wrong and what
to do, even where a lower-level function raised something else.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..models import build_model, prunable_layers
from ..sparse_storage import decode_sparse
from .errors import FIX_HINT, CompressedFileError
from .layout import LAYOUTS, LayerHeader
from .parsing import (
    ByteCursor, StoredLayer, read_bias, read_fixed_fields, read_layer_streams, read_shape, split_sections,
)
from .report import CompressedReport, LayerReport, file_report, layer_report
from .streams import decode_stream
from .validation import (
    ExpectedModel, check_bias, check_container, check_decoded_streams, check_fully_read, check_header_fields,
    check_layer_count, check_layer_name, check_shape, check_stored_layer, check_weight_count,
)


@dataclass
class CompressedModel:
    """A decoded file: the model name, the state dict, and the size report."""

    model: str
    state_dict: dict[str, torch.Tensor]
    report: CompressedReport


# ---------------------------------------------------------------------------
# Decoding (step 4)
# ---------------------------------------------------------------------------


def _decode_streams(header: LayerHeader, stored: StoredLayer) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` cluster-index symbols and the ``n`` stored gaps ([DC] §4)."""
    n = header.entries
    cluster_symbols = decode_stream(
        stored.cluster_index_data, stored.cluster_index_lengths, n, header.cluster_index_stream_bits
    )
    gaps = decode_stream(stored.gap_data, stored.gap_lengths, n, header.gap_stream_bits)
    return cluster_symbols, gaps


def _decode_positions(header: LayerHeader, cluster_symbols: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """The cluster-index symbol of every position of the flattened layer, 0 where pruned ([DC] §2)."""
    flat = decode_sparse(gaps, cluster_symbols, header.weight_count, header.gap_bits)
    return np.asarray(flat).astype(np.int64).ravel()


def _weight_tensor(header: LayerHeader, codebook: np.ndarray, flat_symbols: np.ndarray) -> torch.Tensor:
    """The weight tensor: each symbol replaced by its shared value, 0 for symbol 0 ([DC] §3)."""
    table = np.concatenate([np.zeros(1, np.float32), codebook])
    weight = table[flat_symbols].reshape(header.shape, order=LAYOUTS[header.layout])
    return torch.from_numpy(np.ascontiguousarray(weight, dtype=np.float32))


# ---------------------------------------------------------------------------
# One layer, one file (steps 2-5 in file order)
# ---------------------------------------------------------------------------


def _read_model(head: ByteCursor, where: str) -> tuple[ExpectedModel, nn.Module]:
    """The model the file names (checked against the registry) and its number of layers."""
    name = head.text()
    try:
        reference = build_model(name)
    except ValueError:
        raise CompressedFileError(f"{where}: the file names an unknown model {name!r}. {FIX_HINT}") from None
    expected = ExpectedModel(name, prunable_layers(reference))
    (count,) = head.unpack("B")
    check_layer_count(count, expected, where)
    return expected, reference


def _read_layer_header(head: ByteCursor, expected: ExpectedModel, where: str) -> LayerHeader:
    """A layer's header record, each field checked as soon as it is read."""
    name = head.text()
    check_layer_name(name, expected, where)
    expected.seen.add(name)
    shape = read_shape(head)
    check_shape(name, shape, expected, where)
    header = read_fixed_fields(head, name, shape)
    check_header_fields(header, _has_bias(expected.layers[name]), where)
    return header


def _has_bias(module: nn.Module) -> bool:
    return getattr(module, "bias", None) is not None


def _read_layer(
    head: ByteCursor, body: ByteCursor, expected: ExpectedModel, where: str
) -> tuple[dict[str, torch.Tensor], LayerReport]:
    """The tensors of one layer and its report."""
    header = _read_layer_header(head, expected, where)
    stored = read_layer_streams(body, header)
    check_stored_layer(header, stored, where)
    cluster_symbols, gaps = _decode_streams(header, stored)
    check_decoded_streams(header, stored, cluster_symbols, gaps, where)
    flat_symbols = _decode_positions(header, cluster_symbols, gaps)
    check_weight_count(header, flat_symbols.size, where)
    tensors = {f"{header.name}.weight": _weight_tensor(header, stored.codebook, flat_symbols)}
    if _has_bias(expected.layers[header.name]):
        bias = read_bias(body, header)
        check_bias(header.name, bias, where)
        tensors[f"{header.name}.bias"] = torch.from_numpy(bias)
    return tensors, layer_report(header, kept=int((flat_symbols != 0).sum()))


def _decode_checked(data: bytes, header_len: int, where: str) -> CompressedModel:
    """Decode a file whose container :func:`check_container` accepted."""
    head, body = split_sections(data, header_len, where)
    expected, reference = _read_model(head, where)
    state: dict[str, torch.Tensor] = {}
    reports = []
    for _ in range(len(expected.layers)):
        tensors, report = _read_layer(head, body, expected, where)
        state.update(tensors)
        reports.append(report)
    check_fully_read(head, body, where)
    return CompressedModel(expected.name, state, file_report(reference, expected.name, len(data), header_len, reports))


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def decode_compressed(data: bytes, where: str = "<bytes>") -> CompressedModel:
    """Decode the bytes of a ``.dcz`` file (see :mod:`.layout`); raises :class:`CompressedFileError`."""
    data = bytes(data)
    header_len, _ = check_container(data, where)
    try:
        return _decode_checked(data, header_len, where)
    except CompressedFileError:
        raise
    except (ValueError, IndexError, KeyError, struct.error, OverflowError, TypeError, RuntimeError) as exc:
        raise CompressedFileError(f"{where}: the file's contents are inconsistent ({type(exc).__name__}: {exc}). {FIX_HINT}") from exc


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
    from ..train import default_device

    decoded = read_compressed(path)
    model = build_model(decoded.model)
    model.load_state_dict(decoded.state_dict, strict=True)
    model.to(device if device is not None else default_device())
    model.eval()
    return model
