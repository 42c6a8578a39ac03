"""Speed figures of the course on this machine: ``make bench`` (``python -m course_lib.commands.benchmark``).

Prints, never asserts. The figures answer the questions a learner (or a CI log)
asks before starting: how long does MNIST take to load, how long is one epoch of
each LeNet with the in-memory slicing iterator (:func:`course_lib.data.iterate_batches`),
and is the table-driven Huffman decoder of [DC] §4 fast enough (100k symbols in
well under a second)?

- :func:`time_mnist_load`: seconds to read the IDX files into tensors (a fresh load).
- :func:`time_training_steps`: seconds per SGD step of a model on ``(x, y)`` batches cut
  by slicing, extrapolated to one epoch of the 60k training images.
- :func:`huffman_stream`: a seeded stream shaped like the cluster indices of a
  quantized layer (a peaked distribution over ``2**bits`` symbols).
- :func:`time_huffman`: encode and decode times of such a stream, with bits per symbol
  next to the entropy.

Epochs are measured on a fixed number of steps (``--steps``) and extrapolated, so the
benchmark takes seconds, not minutes. Run it alone: on a shared machine the figures
reflect whatever else is running.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .. import huffman
from ..data import iterate_batches
from ..models import build_model

MNIST_TRAIN_IMAGES = 60_000


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}.")
    return int(value)


def time_mnist_load(root=None) -> float:
    """Seconds for a fresh :func:`course_lib.data.load_mnist` (the per-process cache emptied first)."""
    from .. import data as data_module

    data_module._CACHE.clear()
    start = time.perf_counter()
    data_module.load_mnist(root, download=False)
    return time.perf_counter() - start


def time_training_steps(
    model_name: str,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int = 50,
    batch_size: int = 128,
    warmup: int = 3,
    epoch_images: int = MNIST_TRAIN_IMAGES,
) -> dict[str, float]:
    """Time ``steps`` SGD steps (forward, backward, update) of a fresh ``model_name`` on slices of ``(x, y)``.

    The batches come from :func:`course_lib.data.iterate_batches`, as in
    :func:`course_lib.train.train`. ``warmup`` steps run first and are not timed.
    Returns ``seconds_per_step``, ``steps`` and ``epoch_seconds`` (the per-step time
    times ``ceil(epoch_images / batch_size)``).
    """
    steps = _positive_int(steps, "steps")
    batch_size = _positive_int(batch_size, "batch_size")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup!r}.")
    torch.manual_seed(0)
    model = build_model(model_name).to(x.device)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def batches():
        epoch = 0
        while True:  # cycle through epochs when x is small
            yield from iterate_batches(x, y, batch_size, shuffle=True, seed=epoch)
            epoch += 1

    stream = batches()

    def step() -> None:
        xb, yb = next(stream)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()  # synchronises, as the training loop does when it logs the loss

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    per_step = (time.perf_counter() - start) / steps
    return {
        "steps": steps,
        "seconds_per_step": per_step,
        "epoch_seconds": per_step * math.ceil(epoch_images / batch_size),
    }


def huffman_stream(n_symbols: int = 100_000, bits: int = 5, seed: int = 0) -> np.ndarray:
    """A seeded stream of ``n_symbols`` cluster indices in ``0 .. 2**bits - 1``.

    Shaped like the indices of a k-means-quantized layer ([DC] Fig. 5): the middle
    clusters (weights near 0, the most common after pruning) are frequent, the
    outer ones rare: a discretised normal distribution over the clusters.
    """
    n_symbols = _positive_int(n_symbols, "n_symbols")
    k = 1 << _positive_int(bits, "bits")
    rng = np.random.default_rng(seed)
    raw = rng.normal(loc=(k - 1) / 2, scale=k / 6, size=n_symbols)
    return np.clip(np.rint(raw), 0, k - 1).astype(np.int64)


def time_huffman(symbols: np.ndarray, repeat: int = 3) -> dict[str, float]:
    """Best-of-``repeat`` times to build the code, encode and decode ``symbols`` ([DC] §4).

    Also checks the round trip (a wrong decode raises ``RuntimeError``) and reports
    ``bits_per_symbol`` of the code next to the stream's ``entropy``.
    """
    repeat = _positive_int(repeat, "repeat")
    symbols = np.asarray(symbols)
    best = {"build_seconds": math.inf, "encode_seconds": math.inf, "decode_seconds": math.inf}
    for _ in range(repeat):
        t0 = time.perf_counter()
        code = huffman.huffman_code(huffman.symbol_counts(symbols))
        t1 = time.perf_counter()
        data, nbits = huffman.huffman_encode(symbols, code)
        t2 = time.perf_counter()
        out = huffman.huffman_decode(data, code, symbols.size, nbits=nbits)
        t3 = time.perf_counter()
        best["build_seconds"] = min(best["build_seconds"], t1 - t0)
        best["encode_seconds"] = min(best["encode_seconds"], t2 - t1)
        best["decode_seconds"] = min(best["decode_seconds"], t3 - t2)
    if not np.array_equal(out, symbols):
        raise RuntimeError("Huffman round trip failed: the decoded stream differs from the input.")
    n = max(symbols.size, 1)
    return {
        **best,
        "symbols": int(symbols.size),
        "bits_per_symbol": nbits / n,
        "entropy": huffman.entropy(symbols),
        "bytes": len(data),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course_lib.commands.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50, help="timed SGD steps per model (default 50), extrapolated to an epoch")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--symbols", type=int, default=100_000, help="length of the Huffman test stream (default 100k)")
    parser.add_argument("--repeat", type=int, default=3, help="Huffman timings: best of this many runs")
    parser.add_argument("--data", default=None, help="MNIST folder (default: COURSE_DATA_DIR, else data/)")
    args = parser.parse_args(argv)

    from ..data import load_mnist
    from ..train import default_device

    print(f"torch {torch.__version__}, device {default_device()}, {torch.get_num_threads()} CPU threads")
    seconds = time_mnist_load(args.data)
    data = load_mnist(args.data, download=False)
    print(f"MNIST load (IDX files -> normalised tensors): {seconds:.2f} s")
    for name in ("lenet300100", "lenet5"):
        r = time_training_steps(name, data.train_x, data.train_y, steps=args.steps, batch_size=args.batch_size)
        print(
            f"{name:12s} training: {r['seconds_per_step'] * 1e3:7.1f} ms/step (batch {args.batch_size}, "
            f"{r['steps']} steps) -> one epoch of 60k images ~ {r['epoch_seconds']:.1f} s"
        )
    stream = huffman_stream(args.symbols)
    h = time_huffman(stream, repeat=args.repeat)
    print(
        f"Huffman, {h['symbols']:,} symbols ({h['bits_per_symbol']:.3f} bits/symbol, entropy {h['entropy']:.3f}): "
        f"build {h['build_seconds'] * 1e3:.1f} ms, encode {h['encode_seconds'] * 1e3:.1f} ms, "
        f"decode {h['decode_seconds'] * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
