"""The models the project commands wrote and the repository commits, ready to use.

Each stage of the course starts from the previous stage's committed model, so a notebook
never has to wait for a long training run:

- baselines (``make baselines``): :func:`load_baseline`, :func:`baseline_meta`;
- pruned ([LW], ``make pruned``): :func:`load_pruned`, :func:`pruned_meta`;
- pruned + weight-shared ([DC] §3, ``make quantized``): :func:`load_quantized`,
  :func:`quantized_meta`, :func:`quantized_codebooks`;
- Deep Compression files ([DC], ``make reproduce``): :func:`compressed_path` (read them
  with :func:`course_lib.compressed_format.load_compressed`); their measured figures are in
  ``results.json`` (:func:`course_lib.results.load_results`);
- structure and scaling (notebook 08, ``make structure``): :func:`load_slimmable` (one
  file, four widths), :func:`load_scaled` (the compound-scaling families) and
  :func:`structure_results` (every figure of the chapter's runs, ``results.json``).

A ``*_meta`` function returns what the command recorded beside the weights: the recipe,
the test errors it measured, the time it took.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .checkpoints import load_checkpoint
from .paths import ARTIFACTS_DIR
from .recipes import MODEL_NAMES
from .weight_sharing import codebooks_from_model

BASELINES_DIR = ARTIFACTS_DIR / "baselines"
PRUNED_DIR = ARTIFACTS_DIR / "pruned"
QUANTIZED_DIR = ARTIFACTS_DIR / "quantized"
COMPRESSED_DIR = ARTIFACTS_DIR / "compressed"

Device = torch.device | str | None


def _checked(name: str) -> str:
    if name not in MODEL_NAMES:
        raise ValueError(f"name must be one of {list(MODEL_NAMES)}, got {name!r}.")
    return name


def baseline_path(name: str) -> Path:
    """Where the committed baseline of ``name`` lives."""
    return BASELINES_DIR / f"{_checked(name)}.pt"


def load_baseline(name: str, device: Device = None) -> nn.Module:
    """The committed, trained reference model ``"lenet300100"`` or ``"lenet5"``, in eval mode."""
    return load_checkpoint(baseline_path(name), device=device)[0]


def baseline_meta(name: str) -> dict:
    """What ``make baselines`` recorded: recipe, test error, parameters, time, history."""
    return load_checkpoint(baseline_path(name), device="cpu")[1]


def pruned_path(name: str) -> Path:
    """Where the committed pruned checkpoint of ``name`` lives."""
    return PRUNED_DIR / f"{_checked(name)}.pt"


def load_pruned(name: str, device: Device = None) -> nn.Module:
    """The committed pruned model ``"lenet300100"`` or ``"lenet5"``, in eval mode.

    Pruned weights are exact zeros, so :func:`course_lib.pruning.masks_from_model`
    recovers the masks.
    """
    return load_checkpoint(pruned_path(name), device=device)[0]


def pruned_meta(name: str) -> dict:
    """What ``make pruned`` recorded: keep rates, test error, recipe, time."""
    return load_checkpoint(pruned_path(name), device="cpu")[1]


def quantized_path(name: str) -> Path:
    """Where the committed pruned-and-quantized checkpoint of ``name`` lives."""
    return QUANTIZED_DIR / f"{_checked(name)}.pt"


def load_quantized(name: str, device: Device = None) -> nn.Module:
    """The committed pruned + weight-shared model ``"lenet300100"`` or ``"lenet5"``, in eval mode."""
    return load_checkpoint(quantized_path(name), device=device)[0]


def quantized_meta(name: str) -> dict:
    """What ``make quantized`` recorded: bits, test errors, distinct values per layer, recipe, time."""
    return load_checkpoint(quantized_path(name), device="cpu")[1]


def quantized_codebooks(name: str, model: nn.Module | None = None):
    """``{layer: Codebook}`` of the committed quantized model (centroids ascending, index, mask).

    ``codebook.index[codebook.mask]`` is the layer's stream of weight indices (row-major),
    each in ``[0, 2**bits)``; ``codebook.centroids`` is the codebook of ``2**bits`` floats.
    The weights are stored as their shared float values, so this recovers them exactly.
    """
    model = load_quantized(name, device="cpu") if model is None else model
    return codebooks_from_model(model, quantized_meta(name)["bits"])


def compressed_path(name: str) -> Path:
    """Where the committed Deep Compression file (``.dcz``) of ``name`` lives."""
    return COMPRESSED_DIR / f"{_checked(name)}.dcz"


# --------------------------------------------------------------------------- notebook 08: `make structure`
STRUCTURE_DIR = ARTIFACTS_DIR / "structure"


def slimmable_path() -> Path:
    """Where the committed slimmable LeNet-5 lives (its shared weights; every width is a slice)."""
    return STRUCTURE_DIR / "slimmable_lenet5.pt"


def _load_blob(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"No file at {path}. Run `make structure` to write it (see README).")
    return torch.load(path, map_location="cpu", weights_only=True)


def load_slimmable(device: Device = None):
    """The committed :class:`course_lib.slimmable.SlimmableLeNet5`, at width 1.0, in eval mode."""
    from .slimmable import SlimmableLeNet5
    from .train import default_device

    blob = _load_blob(slimmable_path())
    model = SlimmableLeNet5()
    model.load_state_dict(blob["state_dict"])
    return model.to(device or default_device()).eval()


def slimmable_meta() -> dict:
    """What ``make structure`` recorded beside the slimmable weights (recipe, errors per width)."""
    return _load_blob(slimmable_path()).get("meta", {})


def scaled_path() -> Path:
    """Where the committed compound-scaling CNNs live (all of them in one file)."""
    return STRUCTURE_DIR / "scaled.pt"


def load_scaled(device: Device = None) -> dict[str, nn.Module]:
    """``{name: ScalableCNN}`` of the committed scaled CNNs (``"base"``, ``"compound_phi1"``, ...), eval mode."""
    from .scaling import ScalableCNN
    from .train import default_device

    blob = _load_blob(scaled_path())
    out = {}
    for name, item in blob["models"].items():
        model = ScalableCNN(**item["config"])
        model.load_state_dict(item["state_dict"])
        out[name] = model.to(device or default_device()).eval()
    return out


def structure_results_path() -> Path:
    return STRUCTURE_DIR / "results.json"


def structure_results() -> dict:
    """Every figure ``make structure`` measured (``results.json``): per part, its recipe and results."""
    import json

    path = structure_results_path()
    if not path.is_file():
        raise FileNotFoundError(f"No file at {path}. Run `make structure` to write it (see README).")
    return json.loads(path.read_text(encoding="utf-8"))
