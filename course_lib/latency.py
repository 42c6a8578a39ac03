"""CPU inference latency, measured properly, and sparse (CSR) fully connected layers (08).

A latency is a *median* of repeated, *warmed-up* calls with autograd *off*:

- **warm-up**: the first calls of a model pay one-off costs (memory allocation, the choice
  of a kernel, caches and branch predictors being cold); they are run and not timed;
- **autograd off** (``torch.inference_mode()``): otherwise every call also records the graph
  a backward pass would need, which costs time and memory that inference never pays;
- **median**: a shared machine is interrupted now and then; a few slow outliers pull a mean
  up but leave the median where most calls are.

What is here:

- :func:`time_inference` (exercise): median seconds of ``model(x)``, after ``warmup`` calls;
- :func:`median_time`: the same for any function without arguments (decoding a file, ...);
- :func:`measure_latency`, :func:`latency_rows`: a model on this CPU at a batch size, and a
  table of models x batch sizes timed in interleaved rounds (with their spread); the thread
  count is recorded, since it changes everything;
- :class:`CSRLinear`, :func:`to_csr`: fully connected layers whose weight is a
  ``torch.sparse_csr`` tensor (compressed sparse row, [DC] §2), to time sparse products.

Timings are figures of *this* machine, at *this* moment: the notebook and ``make structure``
print them, and no test asserts one (timed tests are flaky).
"""

from __future__ import annotations

import copy
import numbers
import statistics
import time
import warnings
from typing import Callable, Mapping, Sequence

import torch
from torch import nn


def _check_count(value, what: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ValueError(f"{what} must be a whole number >= {least}, got {value!r}.")
    return int(value)


def median_time(fn: Callable[[], object], warmup: int = 1, repeats: int = 5) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` timed calls, after ``warmup`` untimed ones."""
    warmup, repeats = _check_count(warmup, "warmup", 0), _check_count(repeats, "repeats", 1)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_inference(model: nn.Module, x: torch.Tensor, warmup: int = 10, repeats: int = 50) -> float:
    """Median seconds of one ``model(x)`` call: ``warmup`` untimed calls first, then ``repeats``
    timed ones (``time.perf_counter`` around each), all under ``torch.inference_mode()``.

    The model is put in eval mode for the measurement and given back in the mode it had.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            return median_time(lambda: model(x), warmup, repeats)
    finally:
        model.train(was_training)


def measure_latency(model: nn.Module, batch_size: int, warmup: int = 10, repeats: int = 50,
                    input_shape: Sequence[int] = (1, 28, 28), seed: int = 0) -> float:
    """Median CPU seconds of ``model`` on a random batch of ``batch_size`` images.

    The model is copied to the CPU first (the caller's model is not moved).
    """
    batch_size = _check_count(batch_size, "batch_size", 1)
    on_cpu = all(t.device.type == "cpu" for t in (*model.parameters(), *model.buffers()))
    cpu_model = model if on_cpu else copy.deepcopy(model).to("cpu")
    x = torch.randn(batch_size, *input_shape, generator=torch.Generator().manual_seed(seed))
    return time_inference(cpu_model, x, warmup, repeats)


def latency_rows(models: Mapping[str, nn.Module], batch_sizes: Sequence[int] = (1, 256), warmup: int = 10,
                 repeats: int = 50, rounds: int = 3) -> list[dict]:
    """One row per model and batch size: median seconds per batch, microseconds per image, and the spread.

    The models are timed in ``rounds`` interleaved rounds (model A, B, C, then A, B, C again, ...):
    a slow spell of a shared machine then hits every model, not just the one timed during it.
    ``seconds`` is the median of the rounds' medians; ``spread`` is (slowest round / fastest) - 1.
    """
    rounds = _check_count(rounds, "rounds", 1)
    rows = []
    for b in batch_sizes:
        per_model: dict[str, list[float]] = {name: [] for name in models}
        for r in range(rounds):
            for name, model in models.items():
                per_model[name].append(measure_latency(model, b, warmup if r == 0 else 1, repeats))
        for name, times in per_model.items():
            seconds = statistics.median(times)
            rows.append({"model": name, "batch": b, "seconds": seconds, "us_per_image": 1e6 * seconds / b,
                         "spread": max(times) / min(times) - 1, "threads": torch.get_num_threads()})
    order = {name: i for i, name in enumerate(models)}
    return sorted(rows, key=lambda row: (order[row["model"]], row["batch"]))


class CSRLinear(nn.Module):
    """A fully connected layer whose weight is stored as ``torch.sparse_csr`` (values, column
    indices, row pointers): ``y = x W^T + b`` computed by a sparse kernel, for inference."""

    def __init__(self, layer: nn.Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = layer.in_features, layer.out_features
        with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state": we know
            warnings.simplefilter("ignore", UserWarning)
            self.weight = layer.weight.detach().to_sparse_csr()
        self.bias = None if layer.bias is None else layer.bias.detach().clone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # y^T = W x^T (+ b): the sparse matrix on the left, as CPU sparse kernels want it.
        # (F.linear with a CSR weight refuses to run under torch.inference_mode.)
        if self.bias is None:
            return torch.sparse.mm(self.weight, x.T).T
        return torch.addmm(self.bias[:, None], self.weight, x.T).T

    def __deepcopy__(self, memo) -> "CSRLinear":
        # a sparse CSR tensor has no storage that copy.deepcopy could copy: rebuild it from its parts
        w = self.weight
        new = CSRLinear.__new__(CSRLinear)
        nn.Module.__init__(new)
        new.in_features, new.out_features = self.in_features, self.out_features
        new.weight = torch.sparse_csr_tensor(w.crow_indices().clone(), w.col_indices().clone(), w.values().clone(),
                                             size=w.shape, check_invariants=True)
        new.bias = None if self.bias is None else self.bias.clone()
        new.train(self.training)
        return new

    def density(self) -> float:
        """Fraction of the weights that are stored (non-zero)."""
        return self.weight.values().numel() / (self.in_features * self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, density={self.density():.3f}"


def to_csr(model: nn.Module) -> nn.Module:
    """A CPU copy of ``model`` in which every ``nn.Linear`` is a :class:`CSRLinear` (convolutions stay dense)."""
    out = copy.deepcopy(model).to("cpu").eval()
    for name, module in list(out.named_modules()):
        if isinstance(module, nn.Linear):
            parent, _, attr = name.rpartition(".")
            setattr(out.get_submodule(parent) if parent else out, attr, CSRLinear(module))
    return out


def format_latency(rows: Sequence[dict], reference: str | None = None) -> str:
    """The rows of :func:`latency_rows` as a table: microseconds per batch and per image, the spread
    between rounds, and the speed-up over the ``reference`` model at the same batch size (its time
    divided by the row's)."""
    ref = {r["batch"]: r["seconds"] for r in rows if r["model"] == reference}
    width = max(len(r["model"]) for r in rows)
    lines = [f"{'model':{width}}  batch  us per batch  us per image  spread" + ("  speed-up" if reference else "")]
    for r in rows:
        line = (f"{r['model']:{width}}  {r['batch']:5d}  {1e6 * r['seconds']:12.1f}  {r['us_per_image']:12.2f}  "
                f"{100 * r.get('spread', 0):5.0f}%")
        if r["batch"] in ref:
            line += f"  {ref[r['batch']] / r['seconds']:7.2f}x"
        lines.append(line)
    return "\n".join(lines)


def cpu_caches() -> dict[str, str]:
    """This CPU's data and unified caches as Linux reports them, e.g. ``{"L1d": "48K", "L2": "2048K"}``
    (empty where ``/sys/devices/system/cpu`` is not available)."""
    from pathlib import Path

    out: dict[str, str] = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            level = (index / "level").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        if kind in ("Data", "Unified"):
            out[f"L{level}{'d' if kind == 'Data' else ''}"] = size
    return out
