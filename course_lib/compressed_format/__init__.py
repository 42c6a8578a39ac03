"""The ``.dcz`` file: a pruned, weight-shared model stored as Deep Compression stores it.

[DC] §2-§4 describe three stages whose output is a *file*: the sparse structure
as relative indices, i.e. gaps ([DC] §2, Fig. 2), the weights as cluster indices into
a per-layer codebook ([DC] §3), and both streams Huffman coded ([DC] §4). This package
writes and reads that file, so that every compression ratio in the course is a number
of bytes on disk (``os.path.getsize``), not an estimate.

    report = save_compressed(model, "lenet300100.dcz")   # the model's weights are shared
    model = load_compressed("lenet300100.dcz")          # a runnable nn.Module, eval mode

Two kinds of "index" appear in a layer, and the code names them apart: a *cluster
index* says which centroid of the codebook a weight uses (``b_w`` bits, [DC] §3,
reported as ``LayerReport.weight_bits``); a *gap* is the relative position of the
next stored weight (``b_i`` bits, [DC] §2, reported as ``LayerReport.index_bits``).

The modules, one job each:

- :mod:`.layout`: the byte layout (the format's description), constants, dtype codes;
- :mod:`.streams`: the Huffman-coded streams and their code tables ([DC] §4);
- :mod:`.layer_encoder`: encoding one layer, and the choices the writer makes;
- :mod:`.writer`: :func:`encode_model`, :func:`save_compressed`;
- :mod:`.parsing`, :mod:`.validation`, :mod:`.reader`: reading fields, checking them
  (every check a reader makes), decoding: :func:`decode_compressed`,
  :func:`read_compressed`, :func:`load_compressed`;
- :mod:`.errors`: :class:`CompressedFileError`, the one error a reader raises;
- :mod:`.report`: where the bytes go, :class:`LayerReport`, :class:`CompressedReport`,
  :func:`describe`;
- :mod:`.cli` (run by :mod:`.__main__`): ``python -m course_lib.compressed_format FILE...``.
"""

from .cli import main
from .errors import FIX_HINT, CompressedFileError
from .layer_encoder import LayerChoices, LayerRecord, encode_layer
from .layout import (
    CHECKSUM, CODE_LENGTH_BITS, DTYPE_NAMES, DTYPES, INDEX_BITS_CHOICES, LAYER_FIXED, LAYOUTS, MAGIC, MAX_CENTROIDS,
    PREAMBLE, VERSION, LayerHeader, pack_uints, unpack_uints,
)
from .reader import CompressedModel, decode_compressed, load_compressed, read_compressed
from .report import CompressedReport, LayerReport, describe
from .writer import encode_model, save_compressed

__all__ = [
    "CHECKSUM", "CODE_LENGTH_BITS", "DTYPE_NAMES", "DTYPES", "FIX_HINT", "INDEX_BITS_CHOICES", "LAYER_FIXED",
    "LAYOUTS", "MAGIC", "MAX_CENTROIDS", "PREAMBLE", "VERSION",
    "CompressedFileError", "CompressedModel", "CompressedReport", "LayerChoices", "LayerHeader", "LayerRecord",
    "LayerReport",
    "decode_compressed", "describe", "encode_layer", "encode_model", "load_compressed", "main", "pack_uints",
    "read_compressed", "save_compressed", "unpack_uints",
]
