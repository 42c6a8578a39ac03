"""Where the bytes of a ``.dcz`` file go: the size reports of the writer and the reader.

The writer and the reader build the same report from the same layer headers
(:class:`~course_lib.compressed_format.layout.LayerHeader`), so the accounting of a file
read back equals the accounting made when it was written. The per-layer statistics
are those of [DC] Tables 2-3 (P = pruning §2, Q = quantization §3, H = Huffman §4).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

from .layout import BODY_PARTS, CHECKSUM, DTYPE_NAMES, NO_BIAS, PREAMBLE, ROW_MAJOR, LayerHeader


@dataclass
class LayerReport:
    """Sizes of one layer in the file, and the paper's per-layer statistics ([DC] Tables 2-3).

    The names of these fields and of :meth:`as_dict` are read by other code and stored
    in ``results.json``; what each holds:

    - ``name``: the layer, as in ``prunable_layers(model)``; ``shape``: its weight tensor's.
    - ``weights``: positions of the weight tensor, pruned ones included.
    - ``kept``: non-zero weights, those that survived pruning ([DC] §2).
    - ``entries``: stored entries ``n`` = ``kept`` + ``fillers``.
    - ``fillers``: filler zeros stored where a gap exceeds ``2 ** b_i`` ([DC] §2, Fig. 2).
    - ``centroids``: ``K``, the shared weights in the layer's codebook ([DC] §3).
    - ``weight_bits``: ``b_w``, the width in bits of one *cluster index* (which centroid a
      weight uses, [DC] §3), the nominal "weight bits P+Q" of [DC] Tables 2-3.
    - ``index_bits``: ``b_i``, the width in bits of one *sparse gap* (relative index,
      [DC] §2), the "index bits P+Q" of [DC] Tables 2-3.
    - ``weight_bits_huffman``: average bits per stored entry of the Huffman-coded
      cluster-index stream ([DC] §4, "weight bits P+Q+H"); code table excluded.
    - ``index_bits_huffman``: average bits per stored entry of the Huffman-coded gap
      stream ([DC] §4, "index bits P+Q+H"); code table excluded.
    - ``layout``: ``"row-major"`` or ``"column-major"``, the order positions count in.
    - ``codebook_dtype``: ``"float32"`` or ``"float16"``, how the centroids are stored.
    - ``bias_dtype``: ``"none"``, ``"float32"`` or ``"float16"``.
    - ``bytes``: file bytes per body part: ``codebook``; ``weight_table`` and
      ``weight_stream``, the code table and stream of the cluster indices; ``gap_table``
      and ``gap_stream``, those of the gaps; ``bias``. The layer's header record is
      counted in :attr:`CompressedReport.header_bytes`, not here.
    """

    name: str
    shape: tuple[int, ...]
    weights: int
    kept: int
    entries: int
    fillers: int
    centroids: int
    weight_bits: int
    index_bits: int
    weight_bits_huffman: float
    index_bits_huffman: float
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
    """Where the bytes of a ``.dcz`` file go.

    - ``model``: the registry name of the model; ``layers``: one :class:`LayerReport` each.
    - ``file_bytes``: the size of the file, ``os.path.getsize``.
    - ``float32_bytes``: 4 bytes per parameter of the model, weights and biases.
    - ``preamble_bytes``, ``header_bytes``, ``checksum_bytes``: the three parts of the
      file that are not layer bodies (the header holds every layer record).
    """

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
        out = {kind: 0 for kind in BODY_PARTS}
        for layer in self.layers:
            for kind, size in layer.bytes.items():
                out[kind] += size
        out["header"] = self.preamble_bytes + self.header_bytes + self.checksum_bytes
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "file_bytes": self.file_bytes, "float32_bytes": self.float32_bytes,
            "ratio": self.ratio, "totals": self.totals(), "layers": [layer.as_dict() for layer in self.layers],
        }


def layer_report(header: LayerHeader, kept: int) -> LayerReport:
    """The report of one layer from its header record and its number of kept weights."""
    entries = header.entries
    return LayerReport(
        name=header.name, shape=header.shape, weights=header.weight_count, kept=kept, entries=entries,
        fillers=entries - kept, centroids=header.centroid_count,
        weight_bits=header.cluster_index_bits, index_bits=header.gap_bits,
        weight_bits_huffman=header.cluster_index_stream_bits / entries if entries else 0.0,
        index_bits_huffman=header.gap_stream_bits / entries if entries else 0.0,
        layout="row-major" if header.layout == ROW_MAJOR else "column-major",
        codebook_dtype=DTYPE_NAMES[header.codebook_dtype],
        bias_dtype="none" if header.bias_dtype == NO_BIAS else DTYPE_NAMES[header.bias_dtype],
        bytes=header.part_sizes(),
    )


def file_report(
    model: nn.Module, name: str, file_bytes: int, header_bytes: int, layers: list[LayerReport]
) -> CompressedReport:
    """The report of a whole file of ``model`` (registry ``name``), ``header_bytes`` the header's size."""
    return CompressedReport(
        model=name, file_bytes=file_bytes, float32_bytes=4 * sum(p.numel() for p in model.parameters()),
        preamble_bytes=PREAMBLE.size, header_bytes=header_bytes, checksum_bytes=CHECKSUM.size, layers=layers,
    )


def describe(report: CompressedReport) -> str:
    """A plain-text table of where the bytes go, layer by layer."""
    lines = [f"{report.model}: {report.file_bytes:,} bytes on disk, {report.float32_bytes:,} float32 bytes, "
             f"ratio {report.ratio:.1f}x"]
    lines.append(f"{'layer':<7}{'kept':>9}{'K':>5}{'b_i':>5}{'w bits H':>10}{'i bits H':>10}{'bytes':>8}  layout")
    for layer in report.layers:
        lines.append(
            f"{layer.name:<7}{layer.kept_fraction:>8.1%}{layer.centroids:>5}{layer.index_bits:>5}"
            f"{layer.weight_bits_huffman:>10.2f}{layer.index_bits_huffman:>10.2f}"
            f"{layer.weight_part_bytes + layer.bytes['bias']:>8}  {layer.layout}, bias {layer.bias_dtype}"
        )
    lines.append("bytes by kind: " + ", ".join(f"{kind} {size}" for kind, size in report.totals().items()))
    return "\n".join(lines)
