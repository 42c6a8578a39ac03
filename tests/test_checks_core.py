"""The checks of notebooks 00 and 01 catch the typical mistakes and name them."""

import pytest
import torch

from course_lib.course.checks import CheckFailed, CheckInputError
from course_lib.course.checks.core import failure_message as _fails, call, require_tensor
from course_lib.course.checks.models import check_count_parameters, check_float32_bytes
from course_lib.course.checks.welcome import check_fraction_zero
from course_lib.models import count_parameters




def test_count_parameters_passes_the_right_answer(capsys):
    check_count_parameters(lambda m: sum(p.numel() for p in m.parameters()))
    assert "PASS" in capsys.readouterr().out


def test_count_parameters_names_the_mistakes():
    _fails(check_count_parameters, lambda m: sum(p.numel() for n, p in m.named_parameters() if "weight" in n),
           "weights only", "Biases")
    _fails(check_count_parameters, lambda m: len(list(m.parameters())), "number of parameter tensors")
    _fails(check_count_parameters, lambda m: float(sum(p.numel() for p in m.parameters())), "must return an int")
    _fails(check_count_parameters, lambda m: sum(p.shape[0] for p in m.parameters()), "first dimension")


def test_unsolved_and_crashing_exercises_say_so():
    def stub(model):
        raise NotImplementedError("Exercise count-parameters: not solved yet.")

    _fails(check_count_parameters, stub, "not solved yet")
    _fails(check_count_parameters, lambda m: m.nope, "raised AttributeError")


def test_float32_bytes_names_the_mistakes(capsys):
    check_float32_bytes(lambda m: 4 * count_parameters(m))
    assert "PASS" in capsys.readouterr().out
    _fails(check_float32_bytes, count_parameters, "4 bytes")
    _fails(check_float32_bytes, lambda m: 32 * count_parameters(m), "bits")
    _fails(check_float32_bytes, lambda m: 8 * count_parameters(m), "float64")
    _fails(check_float32_bytes, lambda m: 4 * count_parameters(m) / 1024, "kilobytes")


def test_fraction_zero_names_the_mistakes(capsys):
    check_fraction_zero(lambda t: (t == 0).sum().item() / t.numel())
    assert "PASS" in capsys.readouterr().out
    _fails(check_fraction_zero, lambda t: (t == 0).sum().item(), "number of zeros")
    _fails(check_fraction_zero, lambda t: (t != 0).float().mean().item(), "NON-zero")
    _fails(check_fraction_zero, lambda t: (t.abs() < 1e-3).float().mean().item(), "small values")
    _fails(check_fraction_zero, lambda t: (t <= 0).float().mean().item(), "negative")


def test_a_check_handed_the_wrong_thing_says_what_it_expected():
    with pytest.raises(CheckInputError, match="Pass your function"):
        check_count_parameters(266610)
    with pytest.raises(CheckInputError, match=r"shape \(3, 4\)"):
        require_tensor(torch.zeros(4, 3), "the weight", shape=(3, 4))
    with pytest.raises(CheckInputError, match="torch.Tensor"):
        require_tensor([1, 2], "the weight")
    with pytest.raises(CheckInputError, match="dtype torch.bool"):
        require_tensor(torch.zeros(2), "the mask", dtype=torch.bool)
    assert call(lambda x: x + 1, 1) == 2
