"""Smoke test of course_lib.commands.benchmark: its functions run on tiny sizes (no timing assertions)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.commands import benchmark


@pytest.mark.parametrize("name", ["lenet300100", "lenet5"])
def test_time_training_steps_runs(name):
    x = torch.randn(20, 1, 28, 28)
    y = torch.randint(0, 10, (20,))
    r = benchmark.time_training_steps(name, x, y, steps=3, batch_size=8, warmup=1)
    assert r["steps"] == 3
    assert r["seconds_per_step"] > 0
    assert r["epoch_seconds"] == pytest.approx(r["seconds_per_step"] * 7500)


def test_huffman_stream_and_timing():
    stream = benchmark.huffman_stream(2000, bits=4, seed=1)
    assert stream.shape == (2000,) and stream.min() >= 0 and stream.max() <= 15
    assert np.array_equal(stream, benchmark.huffman_stream(2000, bits=4, seed=1))
    h = benchmark.time_huffman(stream, repeat=1)
    assert h["symbols"] == 2000
    assert h["entropy"] <= h["bits_per_symbol"] < h["entropy"] + 1


def test_bad_sizes():
    with pytest.raises(ValueError, match="steps"):
        benchmark.time_training_steps("lenet5", torch.zeros(4, 1, 28, 28), torch.zeros(4, dtype=torch.long), steps=0)
    with pytest.raises(ValueError, match="n_symbols"):
        benchmark.huffman_stream(0)


def test_main_runs(mnist, capsys):
    benchmark.main(["--steps", "1", "--symbols", "500", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "MNIST load" in out and "lenet5" in out and "Huffman" in out
