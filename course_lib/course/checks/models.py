"""Checks for notebook 01: counting parameters and their float32 size."""

from __future__ import annotations

from typing import Callable

from torch import nn

from ...models import LeNet300100, LeNet5, count_parameters, float32_bytes
from .core import call, fail, passed


class _Tiny(nn.Module):
    """A model the learner has not seen: 3x2 weights + 2 biases, and a bias-free 2x1."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(2, 1, bias=False)


def _cases() -> list[nn.Module]:
    return [_Tiny(), LeNet300100(), LeNet5()]


def _weights_only(model: nn.Module) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if n.endswith("weight"))


def check_count_parameters(fn: Callable[[nn.Module], int]) -> None:
    """``fn(model)`` must return the number of scalar parameters, biases included."""
    for model in _cases():
        got = call(fn, model, exercise="count_parameters")
        want = count_parameters(model)
        name = type(model).__name__
        if isinstance(got, bool) or not isinstance(got, int):
            try:
                import torch

                if isinstance(got, torch.Tensor) and got.numel() == 1:
                    fail(f"count_parameters({name}) returned a tensor; return a Python int (use .item() or sum of p.numel()).")
            except ImportError:
                pass
            fail(f"count_parameters({name}) returned {type(got).__name__} {got!r}; it must return an int.")
        if got == want:
            continue
        if got == _weights_only(model):
            fail(f"count_parameters({name}) = {got}: that counts the weights only. Biases are parameters too.")
        if got == len(list(model.parameters())):
            fail(f"count_parameters({name}) = {got}: that is the number of parameter tensors, not of scalars. Use p.numel().")
        if got == sum(p.shape[0] for p in model.parameters()):
            fail(f"count_parameters({name}) = {got}: you used each tensor's first dimension; use p.numel() for all its elements.")
        fail(f"count_parameters({name}) = {got}, expected {want}.")
    passed(f"count_parameters is right on {len(_cases())} models, LeNet-300-100 and LeNet-5 included.")


def check_float32_bytes(fn: Callable[[nn.Module], int]) -> None:
    """``fn(model)`` must return the bytes of all parameters stored as float32."""
    for model in _cases():
        got = call(fn, model, exercise="float32_bytes")
        want = float32_bytes(model)
        n = count_parameters(model)
        name = type(model).__name__
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            fail(f"float32_bytes({name}) returned {type(got).__name__}; return a number of bytes.")
        if got == want:
            continue
        if got == n:
            fail(f"float32_bytes({name}) = {got}: that is the parameter count. Each float32 takes 4 bytes.")
        if got == 32 * n:
            fail(f"float32_bytes({name}) = {got}: that is bits (32 per float). Divide by 8 for bytes.")
        if got == 8 * n:
            fail(f"float32_bytes({name}) = {got}: 8 bytes per parameter is float64. float32 takes 4.")
        if abs(got - want / 1024) < 1 or abs(got - want / 1000) < 1:
            fail(f"float32_bytes({name}) = {got}: that is kilobytes. Return plain bytes.")
        if got == 4 * _weights_only(model):
            fail(f"float32_bytes({name}) = {got}: biases are stored too; count every parameter.")
        fail(f"float32_bytes({name}) = {got}, expected {want}.")
    passed("float32_bytes is right: 4 bytes for each parameter, biases included.")
