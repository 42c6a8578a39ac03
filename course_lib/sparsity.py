"""How sparse is a tensor? The warm-up exercise of notebook 00."""

import torch


def fraction_zero(t: torch.Tensor) -> float:
    """Fraction of entries that are exactly zero (the *sparsity* of ``t``), as a float in [0, 1]."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"fraction_zero expects a torch.Tensor, got {type(t).__name__}.")
    if t.numel() == 0:
        raise ValueError("fraction_zero of an empty tensor is undefined.")
    return (t == 0).sum().item() / t.numel()
