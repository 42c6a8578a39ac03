import pytest
import torch

from course_lib.models import (LeNet300100, LeNet5, build_model, count_parameters, float32_bytes,
                               model_name, prunable_layers)


def test_parameter_counts_match_the_paper():
    assert count_parameters(LeNet300100()) == 266_610
    assert count_parameters(LeNet5()) == 431_080


def test_weights_without_biases():
    for model, expected in [(LeNet300100(), 266_200), (LeNet5(), 430_500)]:
        assert sum(m.weight.numel() for m in prunable_layers(model).values()) == expected


def test_float32_bytes_is_four_per_parameter():
    assert float32_bytes(LeNet300100()) == 4 * 266_610
    assert float32_bytes(LeNet5()) == 4 * 431_080


@pytest.mark.parametrize("cls", [LeNet300100, LeNet5])
def test_forward_shapes(cls):
    assert cls()(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_lenet5_layers_are_caffe_shaped():
    layers = prunable_layers(LeNet5())
    assert [tuple(m.weight.shape) for m in layers.values()] == [(20, 1, 5, 5), (50, 20, 5, 5), (500, 800), (10, 500)]


def test_build_model_by_name_and_back():
    for name in ("lenet300100", "lenet5"):
        assert model_name(build_model(name)) == name
    assert isinstance(build_model("LeNet-300-100"), LeNet300100)
    with pytest.raises(ValueError, match="Unknown model"):
        build_model("resnet")
    with pytest.raises(ValueError, match="not one of the course models"):
        model_name(torch.nn.Linear(2, 2))
