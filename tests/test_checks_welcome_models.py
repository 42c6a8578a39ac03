"""The checks of notebooks 00 and 01 pass right solutions and name the typical mistakes.

Each mutant must FAIL with a message naming its mistake, in lines of at most 100 characters;
each alternative (another right way to write it) must PASS.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from check_helpers import fails as _fails
from check_helpers import passes as _passes
from course_lib.course.checks.models import check_count_parameters, check_float32_bytes
from course_lib.course.checks.core import CheckFailed as _CheckFailed, _lines
from course_lib.course.checks.welcome import check_fraction_zero
from course_lib.models import count_parameters, float32_bytes
from course_lib.sparsity import fraction_zero


def _stub(*args):
    raise NotImplementedError("Exercise ...: not solved yet")


class _FloatThatEqualsAnything(float):
    def __eq__(self, other):
        return True

    def __sub__(self, other):
        return _FloatThatEqualsAnything(0.0)

    __rsub__ = __sub__
    __hash__ = float.__hash__


class _IntThatEqualsAnything(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


# --------------------------------------------------------------------------- fraction_zero


def _abs_in_place(t):
    return (t.abs_() == 0).sum().item() / t.numel()


FRACTION_ALTERNATIVES = {
    "library": fraction_zero,
    "notebook": lambda t: (t == 0).sum().item() / t.numel(),
    "mean of a float mask": lambda t: (t == 0).float().mean().item(),
    "count_nonzero": lambda t: 1 - t.count_nonzero().item() / t.numel(),
    "numpy": lambda t: float((t.numpy() == 0).mean()),
    "numpy float64": lambda t: (t.numpy() == 0).mean(),
    "python loop": lambda t: sum(1 for v in t.flatten().tolist() if v == 0) / len(t.flatten()),
}

FRACTION_MUTANTS = {
    "number of zeros": (lambda t: (t == 0).sum().item(), ["number of zeros"]),
    "density": (lambda t: (t != 0).float().mean().item(), ["NON-zero"]),
    "small values": (lambda t: (t.abs() < 1e-3).float().mean().item(), ["small values"]),
    "isclose": (lambda t: torch.isclose(t.float(), torch.zeros(t.shape)).float().mean().item(), ["small values"]),
    "t <= 0": (lambda t: (t <= 0).float().mean().item(), ["negative"]),
    "0-d tensor": (lambda t: (t == 0).float().mean(), ["tensor", "Python float"]),
    "count_nonzero tensor": (lambda t: torch.count_nonzero(t) / t.numel(), ["tensor", "wrong too"]),
    "float subclass that equals anything": (lambda t: _FloatThatEqualsAnything(0.5), ["subclass"]),
    "len(t)": (lambda t: (t == 0).sum().item() / len(t), ["len(t)", "numel"]),
    "//": (lambda t: (t == 0).sum().item() // t.numel(), ["`//`"]),
    "percentage": (lambda t: 100 * (t == 0).sum().item() / t.numel(), ["percentage"]),
    "rounded": (lambda t: round((t == 0).sum().item() / t.numel(), 2), ["rounded"]),
    "upside down": (lambda t: t.numel() / (t == 0).sum().item(), ["upside down"]),
    "abs_ in place": (_abs_in_place, ["changed its argument `t` in place"]),
    "None": (lambda t: None, ["NoneType", "float"]),
    "stub": (_stub, ["not solved yet"]),
}


@pytest.mark.parametrize("name", FRACTION_ALTERNATIVES)
def test_fraction_zero_right_solutions_pass(name, capsys):
    _passes(check_fraction_zero, FRACTION_ALTERNATIVES[name], capsys)


@pytest.mark.parametrize("name", FRACTION_MUTANTS)
def test_fraction_zero_mistakes_are_named(name):
    fn, words = FRACTION_MUTANTS[name]
    _fails(check_fraction_zero, fn, *words)


def test_fraction_zero_shows_the_smallest_failing_input():
    message = _fails(check_fraction_zero, FRACTION_MUTANTS["number of zeros"][0])
    assert "torch.tensor([0, 0.0001, -2, 0, -3, 5, 7])" in message


# --------------------------------------------------------------------------- count_parameters


def _every_module(model):
    return sum(p.numel() for m in model.modules() for p in m.parameters())


COUNT_ALTERNATIVES = {
    "library": count_parameters,
    "notebook": lambda m: sum(p.numel() for p in m.parameters()),
    "named_parameters": lambda m: sum(p.numel() for _, p in m.named_parameters()),
    "numpy prod": lambda m: sum(np.prod(p.shape) for p in m.parameters()),
    "math.prod": lambda m: sum(math.prod(p.shape) for p in m.parameters()),
    "per module, not recursing": lambda m: sum(p.numel() for mod in m.modules() for p in mod.parameters(recurse=False)),
    "trainable ones (all are)": lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad),
}

COUNT_MUTANTS = {
    "weights only": (lambda m: sum(p.numel() for n, p in m.named_parameters() if "weight" in n),
                     ["weights only", "Biases"]),
    "p.dim() > 1 only": (lambda m: sum(p.numel() for p in m.parameters() if p.dim() > 1), ["weights only"]),
    "number of tensors": (lambda m: len(list(m.parameters())), ["number of parameter tensors"]),
    "float": (lambda m: float(sum(p.numel() for p in m.parameters())), ["must return an int"]),
    "first dimension": (lambda m: sum(p.shape[0] for p in m.parameters()), ["first dimension"]),
    "0-d tensor": (lambda m: sum(torch.tensor(p.numel()) for p in m.parameters()), ["tensor", "Python int"]),
    "int subclass that equals anything": (lambda m: _IntThatEqualsAnything(3), ["subclass"]),
    "non-zero only": (lambda m: sum(int((p != 0).sum()) for p in m.parameters()), ["non-zero", "still a parameter"]),
    "state_dict": (lambda m: sum(t.numel() for t in m.state_dict().values()), ["buffers"]),
    "nested counted twice": (_every_module, ["more than once"]),
    "top level only": (lambda m: sum(p.numel() for c in m.children() for p in c.parameters(recurse=False)),
                       ["nested in a Sequential"]),
    "Linear only": (lambda m: sum(p.numel() for c in m.modules() if isinstance(c, nn.Linear) for p in c.parameters()),
                    ["nn.Linear"]),
    "bytes": (lambda m: 4 * count_parameters(m), ["bytes"]),
    "zeroes the model": (lambda m: sum(p.data.zero_().numel() for p in m.parameters()),
                         ["changed its argument `m` in place"]),
    "stub": (_stub, ["not solved yet"]),
    "crash": (lambda m: m.nope, ["raised AttributeError"]),
}


@pytest.mark.parametrize("name", COUNT_ALTERNATIVES)
def test_count_parameters_right_solutions_pass(name, capsys):
    _passes(check_count_parameters, COUNT_ALTERNATIVES[name], capsys)


@pytest.mark.parametrize("name", COUNT_MUTANTS)
def test_count_parameters_mistakes_are_named(name):
    fn, words = COUNT_MUTANTS[name]
    _fails(check_count_parameters, fn, *words)


# --------------------------------------------------------------------------- float32_bytes


def _weights(m):
    return sum(p.numel() for n, p in m.named_parameters() if "weight" in n)


BYTES_ALTERNATIVES = {
    "library": float32_bytes,
    "notebook": lambda m: 4 * count_parameters(m),
    "element_size": lambda m: sum(p.numel() * p.element_size() for p in m.parameters()),
    "nbytes": lambda m: sum(p.nbytes for p in m.parameters()),
    "32 / 8 (a whole float)": lambda m: count_parameters(m) * 32 / 8,
}

BYTES_MUTANTS = {
    "the count": (count_parameters, ["4 bytes"]),
    "bits": (lambda m: 32 * count_parameters(m), ["bits"]),
    "float64": (lambda m: 8 * count_parameters(m), ["float64"]),
    "float16": (lambda m: 2 * count_parameters(m), ["float16"]),
    "KiB": (lambda m: 4 * count_parameters(m) / 1024, ["kilobytes"]),
    "kB rounded": (lambda m: round(4 * count_parameters(m) / 1000), ["kilobytes"]),
    "MB": (lambda m: 4 * count_parameters(m) / 1e6, ["megabytes"]),
    "weights only": (lambda m: 4 * _weights(m), ["weights only", "Biases"]),
    "bits of the weights": (lambda m: 32 * _weights(m), ["bits", "weights only"]),
    "non-zero only": (lambda m: 4 * sum(int((p != 0).sum()) for p in m.parameters()), ["non-zero"]),
    "state_dict": (lambda m: sum(t.numel() * t.element_size() for t in m.state_dict().values()), ["buffers"]),
    "0-d tensor": (lambda m: torch.tensor(4 * count_parameters(m)), ["tensor"]),
    "a string": (lambda m: f"{4 * count_parameters(m)} bytes", ["str", "number of bytes"]),
    "int subclass that equals anything": (lambda m: _IntThatEqualsAnything(3), ["subclass"]),
    "one byte too many": (lambda m: 4 * count_parameters(m) + 1, ["returned 41; expected 40"]),
    "stub": (_stub, ["not solved yet"]),
}


@pytest.mark.parametrize("name", BYTES_ALTERNATIVES)
def test_float32_bytes_right_solutions_pass(name, capsys):
    _passes(check_float32_bytes, BYTES_ALTERNATIVES[name], capsys)


@pytest.mark.parametrize("name", BYTES_MUTANTS)
def test_float32_bytes_mistakes_are_named(name):
    fn, words = BYTES_MUTANTS[name]
    _fails(check_float32_bytes, fn, *words)


# --------------------------------------------------------------------------- message lines


def test_long_messages_break_between_sentences_then_clauses():
    text = ("The first sentence is short. " + "This one is long, with a clause that goes on and on, "
            "and another clause after it: it is surely longer than one line of a hundred characters.")
    lines = _lines(text, 94)
    assert all(len(line) <= 100 for line in lines)
    assert all(line[-1] in ".,:" for line in lines)  # broken between sentences and clauses only
    assert " ".join(lines) == text
    assert _lines("f(a, b) returned 1; expected 2.", 94) == ["f(a, b) returned 1; expected 2."]
    # every check's failure message is broken this way, in CheckFailed itself
    assert all(len(line) <= 100 for line in str(_CheckFailed(text * 3)).splitlines())
