"""Seeded training with progress bars, and evaluation on the full test set.

``train`` is plain mini-batch SGD over in-memory tensors (see :mod:`course_lib.data`)
with two additions the course needs:

- ``after_step``: callables run after every ``optimizer.step()``. The pruning
  chapter passes one that multiplies the weights by their masks, so pruned
  weights stay exactly zero (their gradients, and momentum left from before the pruning, would
  otherwise revive them; weight decay alone cannot: it adds ``wd * w``, 0 for a zero weight).
  Each call builds a new SGD, so its momentum starts at zero.
- ``tqdm.auto`` progress bars: a widget in JupyterLab, text in a terminal.

``evaluate`` returns the top-1 error in percent on all 10,000 test images (the figures the
course reports), or with ``split="val"`` on the 5,000 held-out validation images (what
settings are chosen on; training curves use it too);
``standard_error`` says how much of a difference between two such errors is noise.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .data import MNIST_MEAN, MNIST_STD, MNISTData, iterate_batches

AfterStep = Callable[[nn.Module], None]


def default_device() -> torch.device:
    """The GPU when one is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_seed(seed: int) -> None:
    """Seed Python, and torch on every device, so a run repeats on the same machine."""
    random.seed(seed)
    torch.manual_seed(seed)


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def evaluate(model: nn.Module, data: MNISTData | tuple[torch.Tensor, torch.Tensor], batch_size: int = 2000,
             split: str = "test") -> float:
    """Top-1 error in %: on the test split (all 10,000 MNIST test images) by default, on the
    validation split with ``split="val"``, or on an ``(x, y)`` pair."""
    if split not in ("test", "val"):
        raise ValueError(f"split must be 'test' or 'val', got {split!r}.")
    if isinstance(data, MNISTData):
        x, y = data.test if split == "test" else data.val
    else:
        x, y = data
    was_training = model.training
    model.eval()
    device = model_device(model)
    wrong = 0
    for start in range(0, x.shape[0], batch_size):
        xb = x[start : start + batch_size].to(device)
        yb = y[start : start + batch_size].to(device)
        wrong += (model(xb).argmax(1) != yb).sum().item()
    model.train(was_training)
    return 100.0 * wrong / x.shape[0]


def standard_error(error_percent: float, n: int = 10_000) -> float:
    """One standard error of a test error measured on ``n`` images, in percentage points.

    ``100 * sqrt(p (1 - p) / n)`` with ``p = error_percent / 100``: about 0.1 points at 1%
    error on MNIST's 10,000 test images. Two errors closer than that are within noise.
    """
    p = min(max(float(error_percent) / 100.0, 0.0), 1.0)
    return 100.0 * math.sqrt(p * (1.0 - p) / n)


def within_noise(a: float, b: float, n: int = 10_000) -> bool:
    """Are two test errors (in %) within one standard error of each other (at the larger error)?"""
    return abs(a - b) <= standard_error(max(a, b), n)


def error_change(before: float, after: float, n: int = 10_000) -> str:
    """``after - before`` in points, with the noise verdict: ``"+0.35 points (1 SE 0.114: beyond noise)"``.

    One standard error (:func:`course_lib.train.standard_error`, at the larger error, on ``n``
    images) is the line: a smaller difference is within noise and is no result either way.
    """
    verdict = "within noise" if within_noise(before, after, n) else "beyond noise"
    return f"{after - before:+.2f} points (1 SE {standard_error(max(before, after), n):.3f}: {verdict})"


def random_shift(x: torch.Tensor, max_shift: int = 2, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by up to ``max_shift`` pixels in x and y (a cheap augmentation).

    Done in one gather on the whole batch: pad with the background value, then
    index a 28x28 window at a random offset per image.
    """
    if max_shift == 0:
        return x
    b, c, h, w = x.shape
    background = (0.0 - MNIST_MEAN) / MNIST_STD
    padded = F.pad(x, (max_shift,) * 4, value=background)
    off = torch.randint(0, 2 * max_shift + 1, (2, b), generator=generator).to(x.device)
    rows = (off[0][:, None] + torch.arange(h, device=x.device))[:, :, None]
    cols = (off[1][:, None] + torch.arange(w, device=x.device))[:, None, :]
    bidx = torch.arange(b, device=x.device)[:, None, None]
    return padded[bidx, :, rows, cols].permute(0, 3, 1, 2)


def training_tensors(data: MNISTData, train_subset: int | None, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The training images and labels on ``device``: all of them, or the first ``train_subset``."""
    x, y = data.train_x, data.train_y
    if train_subset is not None:
        x, y = x[:train_subset], y[:train_subset]
    return x.to(device), y.to(device)


@dataclass
class History:
    """What happened during training, one entry per epoch (``step_loss`` per step)."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_error: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: list(v) for k, v in self.__dict__.items()}


def train(
    model: nn.Module,
    data: MNISTData,
    epochs: int = 1,
    lr: float = 0.05,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    batch_size: int = 128,
    seed: int = 0,
    after_step: AfterStep | Sequence[AfterStep] | None = None,
    augment: bool = False,
    schedule: str = "cosine",
    train_subset: int | None = None,
    evaluate_every_epoch: bool = True,
    progress: bool = True,
    optimizer: torch.optim.Optimizer | None = None,
    desc: str | None = None,
) -> History:
    """Train ``model`` in place with SGD (momentum, weight decay) and return its :class:`History`.

    - ``schedule``: ``"cosine"`` decays the learning rate to 0 over the run; ``"constant"`` keeps it.
    - ``after_step``: called as ``f(model)`` after every optimizer step (masks, clamps, ...).
    - ``augment``: random shifts of up to 2 pixels.
    - ``train_subset``: train on the first N training images only (for quick runs).
    - ``evaluate_every_epoch``: record the *validation* error after each epoch in
      ``history.val_error`` (the test set is never looked at while training).
    - ``optimizer``: bring your own (then ``lr``, ``momentum``, ``weight_decay`` are ignored,
      but the schedule still sets its learning rate).
    """
    from tqdm.auto import tqdm

    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    hooks: list[AfterStep]
    if after_step is None:
        hooks = []
    elif callable(after_step):
        hooks = [after_step]
    else:
        hooks = list(after_step)
    set_seed(seed)
    x, y = training_tensors(data, train_subset, model_device(model))
    if optimizer is None:
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    steps_per_epoch = math.ceil(x.shape[0] / batch_size)
    total = max(1, epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(seed)
    history = History()
    step = 0
    bar = tqdm(total=epochs * steps_per_epoch, desc=desc or f"train {type(model).__name__}", disable=not progress, leave=True)
    model.train()
    for epoch in range(epochs):
        running, seen = 0.0, 0
        for xb, yb in iterate_batches(x, y, batch_size, shuffle=True, seed=seed * 1000 + epoch):
            if schedule == "cosine":
                factor = 0.5 * (1 + math.cos(math.pi * step / total))
            elif schedule == "constant":
                factor = 1.0
            else:
                raise ValueError(f"schedule must be 'cosine' or 'constant', got {schedule!r}")
            for g, base in zip(optimizer.param_groups, base_lrs):
                g["lr"] = base * factor
            if augment:
                xb = random_shift(xb, generator=gen)
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for hook in hooks:
                hook(model)
            step += 1
            history.step_loss.append(loss.item())
            running += loss.item() * xb.shape[0]
            seen += xb.shape[0]
            bar.update(1)
        history.epoch.append(epoch + 1)
        history.train_loss.append(running / max(seen, 1))
        history.lr.append(optimizer.param_groups[0]["lr"])
        if evaluate_every_epoch and data.val_x is not None:
            err = evaluate(model, data, split="val")
            history.val_error.append(err)
            bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}", val_error=f"{err:.2f}%")
            model.train()
        else:
            bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}")
    bar.close()
    model.eval()
    return history
