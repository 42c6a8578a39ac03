"""Slimmable networks: one set of weights that runs at several widths ([SL], [US]; notebook 08).

[SL] Yu, Yang, Xu, Yang, Huang. *Slimmable Neural Networks.* ICLR 2019, arXiv:1812.08928.
[US] Yu, Huang. *Universally Slimmable Networks and Improved Training Techniques.* ICCV 2019,
arXiv:1903.05134.

At width ``w`` every layer uses only its **first** ``k = slim_units(n, w)`` output units (or
channels) and, of its inputs, only the first ones the narrower layer before it produces. The
narrow networks are therefore *slices* of the wide one, and they share its weights: a
gradient at width 0.25 moves the same top-left block of each matrix that width 1.0 also uses.

- :func:`check_width`, :func:`slim_units`: width ``w`` in (0, 1] -> ``max(1, floor(w * n + 1/2))`` units.
- :func:`slice_weights` (exercise): the first ``out_units`` rows and first ``in_units`` input
  columns/channels of a weight, as views (so the gradients reach the shared weights).
- :class:`SlimmableLeNet5`: the Caffe LeNet-5 (same layer names as
  :class:`course_lib.models.LeNet5`) whose ``width`` can be switched at run time; a flatten
  keeps channel order, so the first ``k`` channels of ``conv2`` are the first ``16 k`` inputs
  of ``fc1``. :func:`extract_width` copies one width out as an ordinary, smaller LeNet-5.
- Training ([US] §3): :func:`sandwich_widths` (the **sandwich rule**: every step trains the
  widest, the narrowest and ``n`` random widths in between) and :func:`slimmable_step`
  (**in-place distillation**: the widest width learns from the labels, the others from its
  detached soft predictions); :func:`train_slimmable` runs epochs of them.
- :func:`evaluate_widths`, :func:`activation_statistics`: the error at each width, and the mean
  and spread of a layer's outputs at each width, which is why a network *with* batch norm
  needs one set of statistics per width ("switchable batch norm", [SL] §3.2). The Caffe LeNet
  has no batch norm, so there are no statistics to switch.
"""

from __future__ import annotations

import math
import numbers
from contextlib import contextmanager
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .data import MNISTData, iterate_batches
from .models import LeNet5, count_parameters
from .structured import resized_model
from .train import History, evaluate, model_device, random_shift, set_seed, training_tensors

WIDTHS = (0.25, 0.5, 0.75, 1.0)


def check_width(width) -> float:
    """``width`` as a float after checking it lies in (0, 1]; a clear ``ValueError`` otherwise."""
    if isinstance(width, bool) or not isinstance(width, numbers.Real) or not 0 < float(width) <= 1:
        raise ValueError(f"width must be a number in (0, 1] (a fraction of every layer's units), got {width!r}.")
    return float(width)


def slim_units(n: int, width: float) -> int:
    """Units of an ``n``-unit layer at ``width``: ``floor(width * n + 1/2)`` (halves round up), at least 1."""
    return max(1, math.floor(check_width(width) * n + 0.5))


def slice_weights(weight: torch.Tensor, bias: torch.Tensor | None, in_units: int, out_units: int):
    """``(weight[:out_units, :in_units], bias[:out_units])``: the first output units and the first
    inputs of a Linear (``[out, in]``) or Conv2d (``[out, in, kh, kw]``) weight.

    Basic slicing returns *views*: no copy, and a gradient on the slice lands in the shared
    weight. ``bias`` may be ``None`` (then ``None`` comes back).
    """
    if not 1 <= out_units <= weight.shape[0] or not 1 <= in_units <= weight.shape[1]:
        raise ValueError(f"slice_weights: asked for {out_units} outputs and {in_units} inputs of a weight of "
                         f"shape {tuple(weight.shape)}.")
    return weight[:out_units, :in_units], (None if bias is None else bias[:out_units])


class SlimmableLeNet5(LeNet5):
    """Caffe's LeNet-5 ([DC] Table 3) that runs at any ``width`` in (0, 1] with shared weights.

    Same layers and ``state_dict`` keys as :class:`course_lib.models.LeNet5`; the output layer
    always has its 10 classes and ``conv1`` its one input channel.
    """

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        self.width = check_width(width)

    def units(self, width: float | None = None) -> dict[str, int]:
        """``{layer: output units}`` at ``width`` (default: the current width)."""
        w = self.width if width is None else width
        return {"conv1": slim_units(self.conv1.out_channels, w), "conv2": slim_units(self.conv2.out_channels, w),
                "fc1": slim_units(self.fc1.out_features, w), "fc2": self.fc2.out_features}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.units()
        per_channel = self.fc1.in_features // self.conv2.out_channels  # 4 x 4 positions per channel
        w, b = slice_weights(self.conv1.weight, self.conv1.bias, 1, u["conv1"])
        x = F.max_pool2d(F.conv2d(x, w, b), 2)
        w, b = slice_weights(self.conv2.weight, self.conv2.bias, u["conv1"], u["conv2"])
        x = F.max_pool2d(F.conv2d(x, w, b), 2)
        w, b = slice_weights(self.fc1.weight, self.fc1.bias, u["conv2"] * per_channel, u["fc1"])
        x = F.relu(F.linear(x.flatten(1), w, b))
        w, b = slice_weights(self.fc2.weight, self.fc2.bias, u["fc1"], u["fc2"])
        return F.linear(x, w, b)

    def extra_repr(self) -> str:
        return f"width={self.width}"


@contextmanager
def at_width(model: SlimmableLeNet5, width: float) -> Iterator[SlimmableLeNet5]:
    """``with at_width(model, 0.5): ...`` runs ``model`` at width 0.5, then restores its width."""
    before = model.width
    model.width = check_width(width)
    try:
        yield model
    finally:
        model.width = before


@torch.no_grad()
def extract_width(model: SlimmableLeNet5, width: float) -> nn.Module:
    """An ordinary, smaller :class:`~course_lib.models.LeNet5` holding the slice of ``model`` at
    ``width`` (same outputs; a dense network to time, save or deploy)."""
    units = model.units(width)
    small = resized_model("lenet5", {k: v for k, v in units.items() if k != "fc2"})
    per_channel = model.fc1.in_features // model.conv2.out_channels
    ins = {"conv1": 1, "conv2": units["conv1"], "fc1": units["conv2"] * per_channel, "fc2": units["fc1"]}
    for name in ("conv1", "conv2", "fc1", "fc2"):
        full, part = getattr(model, name), getattr(small, name)
        w, b = slice_weights(full.weight, full.bias, ins[name], units[name])
        part.weight.copy_(w)
        part.bias.copy_(b)
    return small.to(model_device(model)).eval()


def width_parameters(width: float) -> int:
    """Parameters of the LeNet-5 slice at ``width`` (what :func:`extract_width` returns)."""
    return count_parameters(extract_width(SlimmableLeNet5(), width))


def sandwich_widths(n_random: int = 2, low: float = WIDTHS[0], high: float = WIDTHS[-1],
                    generator: torch.Generator | None = None) -> list[float]:
    """The widths of one training step by the sandwich rule ([US] §3.1): ``[high, low]`` and
    ``n_random`` widths drawn uniformly from ``(low, high)``. The widest comes first."""
    check_width(low), check_width(high)
    if low > high:
        raise ValueError(f"low ({low}) must not exceed high ({high}).")
    draws = torch.rand(n_random, generator=generator).tolist()
    return [float(high), float(low)] + [low + (high - low) * d for d in draws]


def slimmable_step(model: SlimmableLeNet5, x: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer,
                   widths: Sequence[float], distill: bool = True) -> dict[float, float]:
    """One SGD step over several widths, the widest first; returns ``{width: loss}``.

    The widest width is trained on the labels (cross-entropy). With ``distill`` (in-place
    distillation, [US] §3.2) every other width is trained to match the widest width's soft
    predictions, detached so that no gradient flows into the teacher through them; without it,
    on the labels too. The gradients of all widths accumulate in the shared weights, each
    divided by the number of widths (their mean: a learning rate then means what it means for
    one network; the plain sum of four widths' gradients makes LeNet-5 diverge at the course's
    learning rate); one ``optimizer.step()`` follows. The model's width is restored afterwards.
    Raises ``FloatingPointError`` if a loss is not finite.
    """
    widths = [check_width(w) for w in widths]
    if not widths or widths[0] != max(widths):
        raise ValueError(f"slimmable_step: the widest width comes first (it is the teacher), got {widths}.")
    before = model.width
    optimizer.zero_grad(set_to_none=True)
    losses: dict[float, float] = {}
    soft = None
    for i, w in enumerate(widths):
        model.width = w
        logits = model(x)
        if i == 0 or not distill:
            loss = F.cross_entropy(logits, y)
            if i == 0:
                soft = logits.detach().softmax(dim=1)
        else:
            loss = -(soft * logits.log_softmax(dim=1)).sum(dim=1).mean()
        if not torch.isfinite(loss):
            model.width = before
            raise FloatingPointError(f"slimmable_step: the loss at width {w:g} is {loss.item()}; training diverged "
                                     "(try a smaller learning rate).")
        (loss / len(widths)).backward()
        losses[w] = loss.item()
    optimizer.step()
    model.width = before
    return losses


def train_slimmable(model: SlimmableLeNet5, data: MNISTData, epochs: int = 1, lr: float = 0.05, momentum: float = 0.9,
                    weight_decay: float = 5e-4, batch_size: int = 128, augment: bool = False, n_random: int = 2,
                    distill: bool = True, eval_widths: Sequence[float] = WIDTHS, seed: int = 0,
                    train_subset: int | None = None, progress: bool = True) -> History:
    """Train ``model`` in place by the sandwich rule with in-place distillation; SGD with cosine decay.

    ``history.val_error`` holds, per epoch, ``{width: validation error}`` for ``eval_widths``;
    ``history.train_loss`` the widest width's mean loss.
    """
    from tqdm.auto import tqdm

    set_seed(seed)
    x, y = training_tensors(data, train_subset, model_device(model))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    steps = math.ceil(x.shape[0] / batch_size)
    total = max(1, epochs * steps)
    gen = torch.Generator().manual_seed(seed)
    history = History()
    bar = tqdm(total=epochs * steps, desc="slimmable LeNet-5", disable=not progress, leave=True)
    step = 0
    model.train()
    for epoch in range(epochs):
        running, seen = 0.0, 0
        for xb, yb in iterate_batches(x, y, batch_size, shuffle=True, seed=seed * 1000 + epoch):
            optimizer.param_groups[0]["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total))
            if augment:
                xb = random_shift(xb, generator=gen)
            widths = sandwich_widths(n_random, generator=gen)
            losses = slimmable_step(model, xb, yb, optimizer, widths, distill=distill)
            running += losses[widths[0]] * xb.shape[0]
            seen += xb.shape[0]
            step += 1
            bar.update(1)
        history.epoch.append(epoch + 1)
        history.train_loss.append(running / max(seen, 1))
        history.lr.append(optimizer.param_groups[0]["lr"])
        if data.val_x is not None:
            errors = evaluate_widths(model, data, eval_widths, split="val")
            history.val_error.append(errors)
            bar.set_postfix(val_error=" ".join(f"{w:g}:{e:.2f}%" for w, e in errors.items()))
        model.train()
    bar.close()
    model.width = 1.0
    model.eval()
    return history


def evaluate_widths(model: SlimmableLeNet5, data, widths: Sequence[float] = WIDTHS, split: str = "test") -> dict[float, float]:
    """``{width: error in %}`` of ``model`` on ``split`` (see :func:`course_lib.train.evaluate`)."""
    out = {}
    for w in widths:
        with at_width(model, w):
            out[float(w)] = evaluate(model, data, split=split)
    return out


@torch.no_grad()
def activation_statistics(model: SlimmableLeNet5, x: torch.Tensor, widths: Sequence[float] = WIDTHS,
                          channels: int | None = None) -> list[dict]:
    """Mean and standard deviation of ``conv2``'s outputs, over the channels every width shares.

    These are what a batch-norm layer after ``conv2`` would record as running statistics. A
    channel of ``conv2`` sums over the ``conv1`` channels of the current width, so its
    statistics change with the width: one shared set of statistics is wrong at every width but
    one, hence switchable batch norm ([SL] §3.2). Returns one row per width.
    """
    model.eval()
    rows = []
    shared = channels or slim_units(model.conv2.out_channels, min(widths))
    for w in widths:
        u = model.units(w)
        c1w, c1b = slice_weights(model.conv1.weight, model.conv1.bias, 1, u["conv1"])
        h = F.max_pool2d(F.conv2d(x, c1w, c1b), 2)
        c2w, c2b = slice_weights(model.conv2.weight, model.conv2.bias, u["conv1"], shared)
        out = F.conv2d(h, c2w, c2b)  # [N, shared, 8, 8]
        per_channel_mean = out.mean(dim=(0, 2, 3))
        per_channel_std = out.std(dim=(0, 2, 3))
        rows.append({"width": float(w), "conv1_channels": u["conv1"], "channels": shared,
                     "mean": per_channel_mean.mean().item(), "std": per_channel_std.mean().item()})
    return rows
