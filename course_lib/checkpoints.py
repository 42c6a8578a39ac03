"""Save and load model checkpoints (the committed models are in :mod:`course_lib.committed_models`).

A checkpoint is a plain dict saved with ``torch.save`` and read back with
``torch.load(..., weights_only=True)``, which refuses to run code hidden in a
file. It holds the model's registry name, its ``state_dict``, and metadata
(the recipe and the test error measured when it was written).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from .models import build_model, model_name
from .train import default_device


def save_checkpoint(model: nn.Module, path: str | os.PathLike, meta: dict | None = None) -> Path:
    """Write ``model`` to ``path`` (float32, CPU tensors) with JSON-serialisable ``meta``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float32).clone() for k, v in model.state_dict().items()}
    torch.save({"model": model_name(model), "state_dict": state, "meta": json.loads(json.dumps(meta or {}))}, path)
    return path


def load_checkpoint(path: str | os.PathLike, device: torch.device | str | None = None) -> tuple[nn.Module, dict]:
    """Rebuild the model stored in ``path``; returns ``(model, meta)`` with the model in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}. Run the project command that writes it (see README).")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path} is not a readable course checkpoint ({exc}). Re-create it with its project command.") from exc
    if not isinstance(blob, dict) or "model" not in blob or "state_dict" not in blob:
        raise ValueError(f"{path} is not a course checkpoint (expected keys 'model' and 'state_dict').")
    model = build_model(blob["model"])
    model.load_state_dict(blob["state_dict"])
    if device is not None:
        model.to(device)
    else:
        model.to(default_device())
    model.eval()
    return model, blob.get("meta", {})

