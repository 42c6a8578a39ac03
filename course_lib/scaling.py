"""Compound scaling ([EN] Tan & Le, *EfficientNet*, ICML 2019, arXiv:1905.11946; notebook 08).

A family of small CNNs on MNIST, grown from one base network by a coefficient ``phi``:

    depth  d = alpha ** phi      (conv blocks per stage)
    width  w = beta  ** phi      (channels of every conv)
    resolution r = gamma ** phi  (side of the input image)

The multiply-adds of a conv net grow about linearly with depth and with the *square* of width
and of resolution, so ``alpha * beta**2 * gamma**2 ~= 2`` makes each step of ``phi`` about double
the FLOPs ([EN] §3.3, Eq. 3). [EN] fixes ``phi = 1``, finds ``alpha, beta, gamma >= 1`` by a
small grid search under that constraint, then scales with the same coefficients.

**Resolution at 28 x 28.** MNIST's images are 28 x 28 and hold no detail beyond that. The base
network here therefore looks at the images *downsampled* to 16 x 16 (:data:`BASE`), so that
``gamma > 1`` brings back real detail up to 28 pixels; above 28 the images would only be
interpolated (more compute, no new information). The resize happens in the model's forward.

- :class:`ScalableCNN`: two stages of 3x3 conv + batch norm + ReLU blocks, max-pool after each,
  global average pool, one linear layer.
- :func:`compound_multipliers`, :func:`flops_factor`, :func:`scaled_cnn`: from coefficients to a network.
- :func:`compound_candidates` (exercise): the grid points that satisfy the FLOPs constraint.
- :func:`count_flops`: multiply-adds of every Conv2d and Linear for one image (batch norm,
  ReLU and pooling are not counted; they are a few percent here).
- :func:`grid_search`, :func:`train_scaled`: train candidates at ``phi = 1`` and pick the lowest
  *validation* error; train one family member.
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .models import count_parameters
from .paper import EN_FLOPS_PER_PHI
from .train import evaluate, train

# The base network (phi = 0): channels of the two stages, conv blocks per stage, input side.
BASE = {"channels": (8, 16), "blocks": 2, "resolution": 16}
# Scaling one dimension alone, so that FLOPs also double per step of phi: depth x2, or width x sqrt(2).
SINGLE_DIMENSION = {"depth": (2.0, 1.0, 1.0), "width": (1.0, math.sqrt(2.0), 1.0)}


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _check_positive(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0 or not math.isfinite(value):
        raise ValueError(f"{what} must be a positive number, got {value!r}.")
    return float(value)


class ScalableCNN(nn.Module):
    """The base CNN scaled by a depth multiplier, a width multiplier and an input resolution.

    Stage ``s`` has ``ceil(BASE["blocks"] * depth)`` blocks of conv 3x3 (padding 1, no bias) ->
    batch norm -> ReLU with ``round(BASE["channels"][s] * width)`` channels; a 2x2 max-pool
    follows each stage, then a global average pool and ``Linear(channels, 10)``. Inputs of any
    size are resized to ``resolution x resolution`` first (bilinear, antialiased).
    """

    def __init__(self, depth: float = 1.0, width: float = 1.0, resolution: int = BASE["resolution"]) -> None:
        super().__init__()
        depth, width = _check_positive(depth, "depth"), _check_positive(width, "width")
        if isinstance(resolution, bool) or not isinstance(resolution, numbers.Integral) or not 4 <= resolution <= 128:
            raise ValueError(f"resolution must be a whole number of pixels in [4, 128], got {resolution!r}.")
        self.config = {"depth": depth, "width": width, "resolution": int(resolution)}
        self.resolution = int(resolution)
        self.blocks = math.ceil(BASE["blocks"] * depth - 1e-9)
        self.channels = tuple(max(1, _round_half_up(c * width)) for c in BASE["channels"])
        layers: list[nn.Module] = []
        c_in = 1
        for c in self.channels:
            for _ in range(self.blocks):
                layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
                c_in = c
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.resolution or x.shape[-2] != self.resolution:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False,
                              antialias=True)
        x = self.features(x)
        return self.fc(x.mean(dim=(2, 3)))

    def describe(self) -> dict:
        """Blocks per stage, channels, resolution, parameters and multiply-adds per image."""
        return {"blocks": self.blocks, "channels": list(self.channels), "resolution": self.resolution,
                "parameters": count_parameters(self), "flops": count_flops(self)}


def compound_multipliers(phi: float, alpha: float, beta: float, gamma: float) -> tuple[float, float, float]:
    """``(alpha**phi, beta**phi, gamma**phi)``: the depth, width and resolution multipliers ([EN] Eq. 3)."""
    if isinstance(phi, bool) or not isinstance(phi, numbers.Real) or phi < 0:
        raise ValueError(f"phi must be a number >= 0, got {phi!r}.")
    return tuple(_check_positive(c, n) ** phi for c, n in ((alpha, "alpha"), (beta, "beta"), (gamma, "gamma")))


def flops_factor(alpha: float, beta: float, gamma: float) -> float:
    """How much one step of ``phi`` multiplies the FLOPs: ``alpha * beta**2 * gamma**2``."""
    return alpha * beta**2 * gamma**2


def compound_candidates(alphas: Sequence[float], betas: Sequence[float], gammas: Sequence[float],
                        target: float = EN_FLOPS_PER_PHI, tolerance: float = 0.1) -> list[tuple[float, float, float]]:
    """Every ``(alpha, beta, gamma)`` of the grid with all three ``>= 1`` and
    ``|alpha * beta**2 * gamma**2 - target| <= tolerance``, in ``itertools.product`` order."""
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}.")
    out = []
    for a, b, g in itertools.product(alphas, betas, gammas):
        if min(a, b, g) >= 1 and abs(flops_factor(a, b, g) - target) <= tolerance:
            out.append((float(a), float(b), float(g)))
    return out


def scaled_cnn(phi: float, alpha: float = 1.0, beta: float = 1.0, gamma: float = 1.0) -> ScalableCNN:
    """The family member at ``phi`` for coefficients ``(alpha, beta, gamma)`` (resolution rounded to pixels)."""
    d, w, r = compound_multipliers(phi, alpha, beta, gamma)
    return ScalableCNN(depth=d, width=w, resolution=_round_half_up(BASE["resolution"] * r))


def count_flops(model: nn.Module, input_shape: Sequence[int] = (1, 28, 28)) -> int:
    """Multiply-adds of every Conv2d and Linear of ``model`` for one image of ``input_shape``.

    A Conv2d costs ``out_h * out_w * out_channels * (in_channels / groups) * kh * kw``, a Linear
    ``in_features * out_features``. LeNet-300-100: 266,200; LeNet-5: 2,293,000.
    """
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += output[0].numel() * (module.in_channels // module.groups) * kh * kw
        else:
            total += module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, device=device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return int(total)


def train_scaled(model: nn.Module, data, epochs: int, **train_kwargs) -> dict:
    """Train one family member with :func:`course_lib.train.train`; returns its description,
    validation error (what choices use) and test error (what is reported)."""
    history = train(model, data, epochs=epochs, **train_kwargs)
    info = model.describe() if hasattr(model, "describe") else {"parameters": count_parameters(model)}
    return info | {"val_error": evaluate(model, data, split="val"), "test_error": evaluate(model, data),
                   "history_val_error": history.val_error}


def grid_search(candidates: Iterable[tuple[float, float, float]], data, epochs: int, phi: float = 1.0,
                seed: int = 0, **train_kwargs) -> tuple[tuple[float, float, float], list[dict]]:
    """Train ``scaled_cnn(phi, *c)`` for every candidate ``c``; returns ``(best, rows)``.

    ``best`` has the lowest **validation** error (the test set is not looked at to choose).
    """
    rows = []
    for a, b, g in candidates:
        torch.manual_seed(seed)
        model = scaled_cnn(phi, a, b, g).to(data.train_x.device)
        history = train(model, data, epochs=epochs, seed=seed, **train_kwargs)
        rows.append({"alpha": a, "beta": b, "gamma": g, "flops_factor": flops_factor(a, b, g)} | model.describe()
                    | {"val_error": history.val_error[-1] if history.val_error else evaluate(model, data, split="val")})
    if not rows:
        raise ValueError("grid_search got no candidates; widen the grid or the tolerance.")
    best = min(rows, key=lambda r: r["val_error"])
    return (best["alpha"], best["beta"], best["gamma"]), rows
