"""The machinery every check uses: unsolved and crashing exercises, and checks handed the wrong thing.

The mistakes of notebooks 00 and 01 are in test_checks_welcome_models.py.
"""

import pytest
import torch

from course_lib.course.checks import CheckInputError
from course_lib.course.checks.core import call, require_tensor
from course_lib.course.checks.core import failure_message as _fails
from course_lib.course.checks.models import check_count_parameters


def test_unsolved_and_crashing_exercises_say_so():
    def stub(model):
        raise NotImplementedError("Exercise count-parameters: not solved yet.")

    _fails(check_count_parameters, stub, "not solved yet")
    _fails(check_count_parameters, lambda m: m.nope, "raised AttributeError")


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
