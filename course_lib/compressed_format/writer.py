"""Writing a ``.dcz`` file: :func:`encode_model` (the bytes) and :func:`save_compressed` (the file).

The model must be pruned ([DC] §2) and weight-shared ([DC] §3): every layer holds at
most 256 distinct non-zero weights. Each layer is encoded by
:func:`~course_lib.compressed_format.layer_encoder.encode_layer`; this module checks
the model as a whole, resolves per-layer options, and assembles the file
(:mod:`~course_lib.compressed_format.layout`).
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from ..models import model_name, prunable_layers
from .layer_encoder import LayerChoices, encode_layer
from .layout import pack_container, pack_text
from .report import CompressedReport, file_report, layer_report


def _per_layer(value, name: str, what: str):
    """The value of an option for layer ``name``: the int itself, or its entry in a dict."""
    if value is None or isinstance(value, (int, np.integer)):
        return value
    if isinstance(value, Mapping):
        return value.get(name)
    raise TypeError(f"{what} must be None, an int, or a dict layer name -> int; got {type(value).__name__}.")


def _requested_cluster_index_bits(codebooks, bits, name: str) -> int | None:
    """``b_w`` for layer ``name``: from ``bits``, else from the size of its codebook, else None."""
    requested = _per_layer(bits, name, "bits")
    if requested is None and codebooks is not None and name in codebooks:
        codebook = codebooks[name]
        centroids = getattr(codebook, "centroids", codebook)
        requested = max(1, math.ceil(math.log2(max(len(centroids), 2))))
    return requested


def _check_codebook(name: str, weight: torch.Tensor, codebook) -> None:
    """The layer's weights must be values of its codebook ([DC] §3: shared weights applied)."""
    centroids = getattr(codebook, "centroids", codebook)
    centroid_values = torch.as_tensor(centroids).detach().to("cpu", torch.float32).flatten()
    flat = weight.detach().to("cpu", torch.float32).flatten()
    nonzero = flat[flat != 0]
    if nonzero.numel() and not torch.isin(nonzero, centroid_values).all():
        raise ValueError(
            f"layer {name!r}: its weights are not all values of its codebook. Apply the codebook to the "
            "model first (course_lib.weight_sharing.apply_codebooks) and save that model."
        )


def _check_everything_is_stored(model: nn.Module, layers: Mapping[str, nn.Module]) -> None:
    """The format stores the parameters of the prunable layers and nothing else."""
    covered = {
        f"{layer_name}.{param_name}"
        for layer_name, module in layers.items()
        for param_name, _ in module.named_parameters(recurse=False)
    }
    other = sorted(set(model.state_dict()) - covered)
    if other:
        raise ValueError(f"the model has state the format does not store: {other}.")


def encode_model(
    model: nn.Module,
    codebooks: Mapping[str, Any] | None = None,
    bits: int | Mapping[str, int] | None = None,
    index_bits: int | Mapping[str, int] | None = None,
    value_dtype: str = "auto",
) -> tuple[bytes, CompressedReport]:
    """The bytes of the ``.dcz`` file of ``model`` and their accounting (see :mod:`.layout`).

    - ``codebooks``: optional ``{layer: Codebook or centroids}``; the model's weights
      must be values of it (checked), and its size sets the nominal weight bits.
    - ``bits``: nominal weight bits ``b_w``, the width of one cluster index ([DC] §3)
      (int or per layer); by default from the codebook.
    - ``index_bits``: ``b_i``, bits per stored sparse gap ([DC] §2) (int or per layer);
      ``None`` picks the cheapest of 2..8 per layer by measuring the encoded size.
    - ``value_dtype``: ``"auto"`` (float16 where exact), ``"float32"`` or ``"float16"``.
    """
    name = model_name(model)
    layers = prunable_layers(model)
    _check_everything_is_stored(model, layers)
    records = []
    for layer_name, module in layers.items():
        if codebooks is not None and layer_name in codebooks:
            _check_codebook(layer_name, module.weight, codebooks[layer_name])
        choices = LayerChoices(
            cluster_index_bits=_requested_cluster_index_bits(codebooks, bits, layer_name),
            gap_bits=_per_layer(index_bits, layer_name, "index_bits"), value_dtype=value_dtype,
        )
        records.append(encode_layer(layer_name, module.weight, getattr(module, "bias", None), choices))
    header = pack_text(name) + struct.pack("<B", len(records)) + b"".join(r.header_bytes() for r in records)
    body = b"".join(b"".join(r.body_parts().values()) for r in records)
    blob = pack_container(header, body)
    reports = []
    for record, module in zip(records, layers.values()):
        kept = int((module.weight.detach() != 0).sum())
        reports.append(layer_report(record.header(), kept))
    return blob, file_report(model, name, len(blob), len(header), reports)


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
