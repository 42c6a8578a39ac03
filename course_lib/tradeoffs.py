"""Prune big or train small? Test error against bytes on disk and against CPU latency ([ZG]; 08).

Zhu & Gupta [ZG] compare, at an equal number of non-zero weights, large pruned networks with
small dense ones, and find the large sparse ones more accurate. Their count charges nothing
for the positions of the non-zeros. This module compares real files instead: every model's
size is the number of bytes its file takes on disk, in the format it would be shipped in.

- :func:`saved_bytes`: a ``state_dict`` written with ``torch.save`` (dense float32, or torchao's
  int8 tensors), measured with ``os.path.getsize``;
- :func:`sparse_saved_bytes`: the same with every weight that has zeros stored as a
  ``torch.sparse_csr`` tensor (PyTorch's own sparse format: float32 values, 64-bit indices);
- :class:`Point`: one model's family, test error, bytes and latency;
- :func:`best_within`, :func:`equal_memory_rows`: for each "prune big" file, the most accurate
  "train small" model that fits in as many bytes, and whether the difference is within noise
  (:func:`course_lib.train.within_noise`);
- :func:`plot_points`: the scatter plot the notebook draws, one marker per family.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Iterable, Sequence

import torch
from torch import nn

from .train import standard_error, within_noise


def saved_bytes(model: nn.Module | dict, directory: str | os.PathLike | None = None) -> int:
    """Bytes on disk of ``model.state_dict()`` (or of a dict of tensors) written with ``torch.save``.

    The file goes to a temporary folder (in ``directory`` if given), is measured with
    ``os.path.getsize`` and removed: every byte counts, pickle framing included.
    """
    state = model.state_dict() if isinstance(model, nn.Module) else model
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        path = os.path.join(tmp, "model.pt")
        torch.save(state, path)
        return os.path.getsize(path)


def sparse_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model.state_dict()`` with every weight that holds zeros as a ``torch.sparse_csr`` tensor
    (a Conv2d weight flattened to ``[out, in * kh * kw]`` first: CSR is a matrix format)."""
    out = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu()
        if key.endswith("weight") and value.dim() >= 2 and bool((value == 0).any()):
            value = value.flatten(1).to_sparse_csr()
        out[key] = value
    return out


def sparse_saved_bytes(model: nn.Module) -> int:
    """Bytes on disk of :func:`sparse_state_dict` written with ``torch.save``."""
    return saved_bytes(sparse_state_dict(model))


@dataclass
class Point:
    """One model on the plots: ``family`` says how it was made, ``storage`` how its file stores it."""

    name: str
    family: str
    test_error: float
    file_bytes: int
    latency_s: float | None = None  # CPU seconds per image at batch 1
    architecture: str = ""  # "mlp" (LeNet-300-100 and its narrow versions), "lenet5", "cnn" (scaled), ...
    storage: str = "dense float32"
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def best_within(points: Iterable[Point], budget: float) -> Point | None:
    """The point of lowest test error among those whose file has at most ``budget`` bytes (None if none)."""
    fitting = [p for p in points if p.file_bytes <= budget]
    return min(fitting, key=lambda p: (p.test_error, p.file_bytes)) if fitting else None


def equal_memory_rows(big: Sequence[Point], small: Sequence[Point], same_architecture: bool = False) -> list[dict]:
    """For each "prune big" point, the best "train small" point that fits in its bytes, and a verdict.

    With ``same_architecture`` only small points of the big point's ``architecture`` compete
    (a narrow LeNet-300-100 against a pruned one: [ZG]'s comparison); otherwise any.

    ``verdict`` is ``"big pruned wins"``, ``"small dense wins"`` or ``"within noise"`` (one
    standard error of a 10,000-image test error, :func:`course_lib.train.within_noise`), or
    ``"no small model fits"``.
    """
    rows = []
    for p in big:
        s = best_within([q for q in small if not same_architecture or q.architecture == p.architecture], p.file_bytes)
        if s is None:
            rows.append({"big": p.name, "big_bytes": p.file_bytes, "big_error": p.test_error, "small": None,
                         "verdict": "no small model fits"})
            continue
        if within_noise(p.test_error, s.test_error):
            verdict = "within noise"
        else:
            verdict = "big pruned wins" if p.test_error < s.test_error else "small dense wins"
        rows.append({"big": p.name, "big_bytes": p.file_bytes, "big_error": p.test_error, "small": s.name,
                     "small_bytes": s.file_bytes, "small_error": s.test_error,
                     "standard_error": standard_error(max(p.test_error, s.test_error)), "verdict": verdict})
    return rows


MARKERS = {"dense baseline": "s", "pruned (CSR file)": "v", "Deep Compression (.dcz)": "*", "int8 (torchao)": "P",
           "structured pruning": "D", "slimmable widths": "o", "narrow, trained alone": "x", "scaled CNN": "^"}


def plot_points(ax, points: Sequence[Point], x: str = "file_bytes", label_names: Sequence[str] = ()) -> None:
    """Scatter ``points`` on ``ax``: test error against ``x`` (``"file_bytes"`` or ``"latency_s"``), log x axis."""
    for family in dict.fromkeys(p.family for p in points):
        pts = [p for p in points if p.family == family and getattr(p, x) is not None]
        xs = [getattr(p, x) * (1e6 if x == "latency_s" else 1e-3) for p in pts]
        ax.scatter(xs, [p.test_error for p in pts], marker=MARKERS.get(family, "."), s=60 if family in MARKERS else 20,
                   label=family, alpha=0.85)
    for p in points:
        if p.name in label_names and getattr(p, x) is not None:
            ax.annotate(p.name, (getattr(p, x) * (1e6 if x == "latency_s" else 1e-3), p.test_error), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):  # ticks at 1, 2, 5 x 10^k, as plain numbers; the default labels overlap
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FormatStrFormatter("%g"))
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("file size on disk (kB)" if x == "file_bytes" else "CPU latency per image at batch 1 (us)")
    ax.set_ylabel("test error (%)")
    ax.grid(True, which="both", alpha=0.3)
