"""Real int8 inference with today's PyTorch quantization library, torchao (08).

Notebook 04 built linear quantization by hand and compared it with
``torch.quantize_per_tensor``. PyTorch 2.14 marks that quantized-tensor API as deprecated;
its current quantization library is **torchao** (``pip install torchao``), which swaps the
weight of every ``nn.Linear`` for a tensor subclass holding int8 codes and scales:

- ``Int8WeightOnlyConfig()``: int8 weights, float activations; the weights are dequantized
  on the fly (the file is about 4x smaller; the arithmetic stays float);
- ``Int8DynamicActivationInt8WeightConfig()``: int8 weights, and each activation row
  quantized to int8 at run time ("dynamic"), so the matrix product can run in integers.

Both quantize every row of a weight (every output unit) on its own, **symmetrically**: the
scale is ``max |w_row| / 127.5`` and the zero point 0, so the codes are ``round(w / scale)``
clamped to ``[-128, 127]``. :func:`symmetric_quantize_per_channel` is that rule written with
the course's own :func:`course_lib.quantization.quantize` (the same rounding as notebook 04);
``tests/test_int8.py`` checks that its codes equal torchao's bit for bit.

- :func:`int8_model`: a quantized copy of a model, or the error message of a path that does
  not run on this machine (:class:`Int8Result`);
- :func:`int8_weight_codes`: the int8 codes and scales torchao stores;

Sizes on disk: :func:`course_lib.tradeoffs.saved_bytes`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from .quantization import LinearQuantized, check_bits, check_values, quantize

MODES = ("weight_only", "dynamic")


def symmetric_quantize_per_channel(w: torch.Tensor, bits: int = 8) -> LinearQuantized:
    """Signed codes in ``[-2**(bits-1), 2**(bits-1) - 1]``, one scale per row (output unit), zero point 0.

    ``scale = max |w_row| / ((2**bits - 1) / 2)`` (at least float32's eps, for an all-zero row), and
    ``q = clamp(round(w / scale), -2**(bits-1), 2**(bits-1) - 1)``: computed as the unsigned codes of
    :func:`course_lib.quantization.quantize` with zero point ``2**(bits-1)``, shifted down by it.
    Returns ``(q as int8 when bits <= 8 else int16, scale [rows, 1] float32, zero_point 0)``.
    """
    check_values(w, "w")
    bits = check_bits(bits)
    if w.dim() < 2:
        raise ValueError(f"per-channel quantization needs a weight with rows, got shape {tuple(w.shape)}.")
    rows = w.detach().float().flatten(1)
    half = 2 ** (bits - 1)
    amax = rows.abs().amax(dim=1, keepdim=True)
    scale = (amax / ((2**bits - 1) / 2)).clamp(min=torch.finfo(torch.float32).eps)
    shape = (-1,) + (1,) * (w.dim() - 1)
    codes = quantize(w.detach().float(), scale.view(shape), half, bits) - half
    return LinearQuantized(codes.to(torch.int8 if bits <= 8 else torch.int16), scale, 0)


@dataclass
class Int8Result:
    """A quantized model, or why it could not be made or run (``error``, the message as raised)."""

    mode: str
    model: nn.Module | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.model is not None


def _import_torchao():
    """Import torchao's quantization API without the deprecation notice torch's pytree logs at
    torchao 0.18's import under torch 2.14 (about torch.compile internals, not about us)."""
    import logging

    logger = logging.getLogger("torch.utils._pytree")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        import torchao.quantization as quantization
    finally:
        logger.setLevel(level)
    return quantization


def _config(mode: str):
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
    q = _import_torchao()
    return q.Int8WeightOnlyConfig() if mode == "weight_only" else q.Int8DynamicActivationInt8WeightConfig()


def int8_model(model: nn.Module, mode: str = "weight_only", example: torch.Tensor | None = None) -> Int8Result:
    """A CPU copy of ``model`` whose Linear weights torchao quantized to int8 (``mode``: ``"weight_only"``
    or ``"dynamic"``), run once on ``example`` (default: one random MNIST-sized image).

    Never raises for a path that does not run here: the result then holds ``model=None`` and
    the error's message, so a notebook can print it and carry on with what does run.
    """
    config = _config(mode)
    quantize_ = _import_torchao().quantize_
    out = copy.deepcopy(model).to("cpu").eval()
    example = torch.randn(1, 1, 28, 28) if example is None else example
    try:
        quantize_(out, config)
        with torch.inference_mode():
            out(example)
    except Exception as exc:  # the error of a kernel this CPU or build lacks comes in many types
        return Int8Result(mode, None, f"{type(exc).__name__}: {exc}")
    return Int8Result(mode, out)


def int8_weight_codes(model: nn.Module) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{layer: (int8 codes, scales)}`` of every Linear whose weight torchao quantized."""
    out = {}
    for name, module in model.named_modules():
        weight = getattr(module, "weight", None)
        if isinstance(module, nn.Linear) and hasattr(weight, "qdata") and hasattr(weight, "scale"):
            out[name] = (weight.qdata, weight.scale)
    return out
