"""Check for the warm-up exercise of notebook 00."""

from __future__ import annotations

from typing import Callable

import torch

from ...sparsity import fraction_zero
from .core import call, fail, passed


def _cases() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    tiny = torch.tensor([0.0, 1e-4, -2.0, 0.0, -3.0, 5.0, 7.0])
    rand = torch.randn(5, 7, generator=gen)
    rand[rand.abs() < 0.5] = 0.0
    return [tiny, rand, torch.zeros(3, 3), torch.ones(2, 4), -torch.rand(6, generator=gen) - 0.1]


def check_fraction_zero(fn: Callable[[torch.Tensor], float]) -> None:
    """``fn(t)`` must return the fraction of exactly-zero entries of ``t``."""
    for t in _cases():
        got = call(fn, t.clone(), exercise="fraction_zero")
        want = fraction_zero(t)
        if isinstance(got, torch.Tensor):
            if got.numel() != 1:
                fail(f"fraction_zero returned a tensor of shape {tuple(got.shape)}; return one number.")
            got = got.item()
        if not isinstance(got, (int, float)):
            fail(f"fraction_zero returned {type(got).__name__}; return a float.")
        if abs(got - want) < 1e-6:
            continue
        zeros = int((t == 0).sum())
        if got == zeros:
            fail(f"fraction_zero returned {got}, the number of zeros; divide by t.numel() for a fraction.")
        if abs(got - (1 - want)) < 1e-6:
            fail(f"fraction_zero returned {got:.3f}: that is the fraction of NON-zero entries (the density).")
        if abs(got - (t.abs() < 1e-3).float().mean().item()) < 1e-6:
            fail(f"fraction_zero returned {got:.3f}: you counted small values as zero. Count exact zeros (t == 0).")
        if abs(got - (t <= 0).float().mean().item()) < 1e-6:
            fail(f"fraction_zero returned {got:.3f}: you counted negative values too. Count t == 0 only.")
        fail(f"fraction_zero returned {got}, expected {want} for a tensor of shape {tuple(t.shape)}.")
    passed(f"fraction_zero is right on {len(_cases())} tensors.")
