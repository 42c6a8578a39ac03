"""The two networks of the Deep Compression MNIST experiments ([DC] Table 1).

- ``LeNet300100``: fully connected 784-300-100-10 with ReLU, 266,610 parameters.
- ``LeNet5``: the Caffe version used by the paper: conv 20@5x5, max-pool 2,
  conv 50@5x5, max-pool 2, fc 500, ReLU, fc 10; 431,080 parameters.

Layer names follow PyTorch habits (``fc1``, ``conv1``); the paper calls the fully
connected layers ``ip1``, ``ip2``, ``ip3``. ``course_lib.paper.PAPER_LAYER_NAMES`` maps ours to theirs.
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F


class LeNet300100(nn.Module):
    """784-300-100-10 multilayer perceptron with ReLU ([LW] §5, [DC] Table 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc3 = nn.Linear(100, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class LeNet5(nn.Module):
    """Caffe's LeNet-5 ([DC] Table 3): no ReLU after the convolutions, as in Caffe's example."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, kernel_size=5)
        self.conv2 = nn.Conv2d(20, 50, kernel_size=5)
        self.fc1 = nn.Linear(800, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.conv1(x), 2)
        x = F.max_pool2d(self.conv2(x), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


MODELS = {"lenet300100": LeNet300100, "lenet5": LeNet5}



def build_model(name: str) -> nn.Module:
    """A fresh model by name: ``"lenet300100"`` or ``"lenet5"``."""
    key = name.lower().replace("-", "").replace("_", "")
    if key not in MODELS:
        raise ValueError(f"Unknown model {name!r}; choose one of {sorted(MODELS)}.")
    return MODELS[key]()


def model_name(model: nn.Module) -> str:
    """The registry name of a model instance (inverse of :func:`build_model`)."""
    for name, cls in MODELS.items():
        if type(model) is cls:
            return name
    raise ValueError(f"{type(model).__name__} is not one of the course models {sorted(MODELS)}.")


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters, weights and biases (the exercise of notebook 01)."""
    return sum(p.numel() for p in model.parameters())


def float32_bytes(model: nn.Module) -> int:
    """Bytes needed to store every parameter as float32: 4 per parameter.

    The reference size of [DC] Table 1 (parameter count x 4 bytes): the numerator of every
    compression ratio in the course. For the two LeNets (float32, no buffers) it equals the
    total of :func:`state_dict_bytes`.
    """
    return 4 * count_parameters(model)


def state_dict_bytes(model: nn.Module) -> dict[str, int]:
    """Bytes of every tensor ``model.state_dict()`` would save, per layer (the exercise of notebook 01).

    Each tensor counts ``numel() * element_size()``: its own dtype (4 bytes for float32, 2 for
    float16, 8 for an int64 counter), parameters **and** persistent buffers (BatchNorm's
    running statistics), which is what ``torch.save(model.state_dict(), f)`` writes, container
    aside. The keys are layer names, the state_dict keys without their last part
    (``"features.0.weight"`` -> ``"features.0"``); layers that save nothing do not appear.
    """
    sizes: dict[str, int] = {}
    for key, tensor in model.state_dict().items():
        layer = key.rpartition(".")[0]
        sizes[layer] = sizes.get(layer, 0) + tensor.numel() * tensor.element_size()
    return sizes


def prunable_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The layers whose weights the course prunes and quantizes: every Linear and Conv2d."""
    return {name: m for name, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))}
