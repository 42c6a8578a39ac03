"""Where the bytes go: the size of a compressed model at each stage of [DC] (Fig. 1, Tables 2-3).

:func:`stage_bytes` splits the model's bytes by stage, layer and kind (codebook, cluster
indices, sparse gaps, biases, header): dense float32, pruned (P), quantized (P+Q), and the
``.dcz`` file as written (P+Q+H). The first three are computed from the file's report;
the last is measured. :func:`totals_row` is the "total" row of [DC] Tables 2-3 for a file.
:func:`file_ratio` is the compression ratio measured on disk ([DC] Table 1): the float32 bytes
of every parameter over the bytes of the file.

In a report (:class:`course_lib.compressed_format.LayerReport`), ``weight_bits`` is the
width ``b_w`` of one cluster index and ``index_bits`` the width ``b_i`` of one sparse gap.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

BYTE_KINDS = ("codebook", "weights", "gaps", "biases", "header")
# The stages of :func:`stage_bytes`, in pipeline order (results.json stores its keys sorted).
STAGE_NAMES = ("dense float32", "pruned (P)", "quantized (P+Q)", "Huffman (P+Q+H)")


def stage_bytes(report) -> dict[str, dict[str, dict[str, float]]]:
    """Where the bytes go, stage by stage and layer by layer: ``{stage: {layer: {kind: bytes}}}``.

    Kinds are :data:`BYTE_KINDS`; the file-level header (preamble, header, checksum) is a
    pseudo-layer ``"(file)"``. Stages:

    - ``"dense float32"``: every weight and bias in 4 bytes.
    - ``"pruned (P)"``: stored entries (kept + fillers) as float32 values plus ``b_i``-bit
      gaps, the same gaps the file uses ([DC] §2). Computed.
    - ``"quantized (P+Q)"``: fixed-width ``b_w``-bit weight indices, ``b_i``-bit gaps,
      a float32 codebook ([DC] §3). Computed, with the paper's assumption that a stored
      entry costs ``b_w`` bits: a filler is a ``2**b_w + 1``-th symbol, so a true fixed-width
      code would need one bit more per entry in layers that have fillers (the Huffman stage
      below is measured and has no such assumption).
    - ``"Huffman (P+Q+H)"``: the file's bytes as written ([DC] §4); code tables count
      with their stream. Measured.
    """
    stages: dict[str, dict[str, dict[str, float]]] = {}
    dense, pruned, pq, pqh = {}, {}, {}, {}
    for l in report.layers:
        n_bias = l.shape[0] if l.bias_dtype != "none" else 0
        zero = dict.fromkeys(BYTE_KINDS, 0.0)
        dense[l.name] = zero | {"weights": 4.0 * l.weights, "biases": 4.0 * n_bias}
        pruned[l.name] = zero | {"weights": 4.0 * l.entries, "gaps": l.entries * l.index_bits / 8, "biases": 4.0 * n_bias}
        pq[l.name] = zero | {"codebook": 4.0 * l.centroids, "weights": l.entries * l.weight_bits / 8,
                             "gaps": l.entries * l.index_bits / 8, "biases": 4.0 * n_bias}
        b = l.bytes
        pqh[l.name] = zero | {"codebook": float(b["codebook"]), "weights": float(b["weight_stream"] + b["weight_table"]),
                              "gaps": float(b["gap_stream"] + b["gap_table"]), "biases": float(b["bias"])}
    pqh["(file)"] = dict.fromkeys(BYTE_KINDS, 0.0) | {
        "header": float(report.preamble_bytes + report.header_bytes + report.checksum_bytes)}
    stages["dense float32"] = dense
    stages["pruned (P)"] = pruned
    stages["quantized (P+Q)"] = pq
    stages["Huffman (P+Q+H)"] = pqh
    return stages


def stage_total(stage: dict[str, dict[str, float]]) -> float:
    """The bytes of one stage of :func:`stage_bytes`, all layers and kinds."""
    return sum(sum(kinds.values()) for kinds in stage.values())


def totals_row(report) -> dict[str, Any]:
    """The "total" row of [DC] Tables 2-3 for our file."""
    layers = report.layers
    weights = sum(l.weights for l in layers)
    kept = sum(l.kept for l in layers)
    entries = sum(l.entries for l in layers)
    wbits_pq = sum(l.entries * l.weight_bits for l in layers) / max(entries, 1)
    ibits_pq = sum(l.entries * l.index_bits for l in layers) / max(entries, 1)
    wbits_h = sum(l.weight_bits_huffman * l.entries for l in layers) / max(entries, 1)
    ibits_h = sum(l.index_bits_huffman * l.entries for l in layers) / max(entries, 1)
    pq_bits = sum(l.entries * (l.weight_bits + l.index_bits) + 32 * l.centroids for l in layers)
    return {
        "weights": weights, "kept": kept, "kept_fraction": kept / weights, "entries": entries,
        "weight_bits": wbits_pq, "weight_bits_huffman": wbits_h, "index_bits": ibits_pq, "index_bits_huffman": ibits_h,
        "rate_pq": pq_bits / (32 * weights), "rate_pqh": sum(l.weight_part_bytes for l in layers) / (4 * weights),
        "rate_file": report.file_bytes / report.float32_bytes,
    }


def file_ratio(model: nn.Module | str | os.PathLike, path: str | os.PathLike) -> float:
    """The compression ratio of the file at ``path`` ([DC] Table 1), measured on disk (notebook 09).

    ``model`` is the uncompressed reference: an ``nn.Module``, or the path of a file that
    ``torch.save`` wrote, either a plain ``state_dict`` or a course checkpoint
    (``{"model", "state_dict", "meta"}``, :mod:`course_lib.checkpoints`). Its float32 size is 4
    bytes per parameter (``model.parameters()``; for a file, every tensor of its state_dict,
    which for the LeNets are the same weights and biases), the way [DC] Table 1 counts it:
    not the reference file's size on disk, which adds the container (tensor names, the
    pickle and zip structure, a checkpoint's metadata). The result is that size divided by
    ``os.path.getsize(path)``: every byte of the compressed file counts, header included.
    """
    if isinstance(model, (str, os.PathLike)):
        saved = torch.load(model, map_location="cpu", weights_only=True)
        tensors = saved.get("state_dict", saved).values()
    else:
        tensors = model.parameters()
    return 4 * sum(t.numel() for t in tensors) / os.path.getsize(path)
