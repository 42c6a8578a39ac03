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
from course_lib.course.checks.models import check_count_parameters, check_state_dict_bytes
from course_lib.course.checks.core import CheckFailed as _CheckFailed, _lines
from course_lib.course.checks.welcome import check_fraction_zero
from course_lib.models import (LeNet300100, LeNet5, count_parameters, float32_bytes, prunable_layers,
                               state_dict_bytes)
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


# --------------------------------------------------------------------------- state_dict_bytes


def _by_layer(items, size=lambda t: t.numel() * t.element_size(), name=lambda k: k.rpartition(".")[0]):
    out = {}
    for key, t in items:
        out[name(key)] = out.get(name(key), 0) + size(t)
    return out


def _with_zeros(m):  # every module, those that save nothing with 0: allowed
    sizes = {name: 0 for name, _ in m.named_modules()}
    sizes.update(state_dict_bytes(m))
    return sizes


def _own_tensors(m):  # per module, not recursing, through the state_dict of each module
    out = {}
    for name, mod in m.named_modules():
        own = {k: t for k, t in mod.state_dict().items() if "." not in k}
        if own:
            out[name] = sum(t.numel() * t.element_size() for t in own.values())
    return out


def _storage(m):
    return _by_layer(m.state_dict().items(), size=lambda t: t.untyped_storage().nbytes())


BYTES_ALTERNATIVES = {
    "library": state_dict_bytes,
    "notebook": lambda m: _by_layer(m.state_dict().items()),
    "nbytes": lambda m: _by_layer(m.state_dict().items(), size=lambda t: t.nbytes),
    "rsplit": lambda m: _by_layer(m.state_dict().items(), name=lambda k: k.rsplit(".", 1)[0]),
    "modules without recursion": _own_tensors,
    "zeros for modules that save nothing": _with_zeros,
    "whole floats": lambda m: {k: float(v) for k, v in state_dict_bytes(m).items()},
    "numpy ints": lambda m: {k: np.int64(v) for k, v in state_dict_bytes(m).items()},
    "bits / 8": lambda m: _by_layer(m.state_dict().items(), size=lambda t: t.numel() * torch.finfo(t.dtype).bits // 8
                                    if t.is_floating_point() else t.numel() * torch.iinfo(t.dtype).bits // 8),
}


def _params_only(m, size=lambda t: t.numel() * t.element_size()):
    return _by_layer(m.named_parameters(), size=size)


def _parents_too(m):
    return {name: sum(t.numel() * t.element_size() for t in mod.state_dict().values())
            for name, mod in m.named_modules() if name}


def _halves_the_model(m):
    m.float()  # casts a float16 model back, in place
    return state_dict_bytes(m)


BYTES_MUTANTS = {
    "float32 bytes per layer": (lambda m: _params_only(m, size=lambda t: 4 * t.numel()),
                                ["4 bytes per parameter", "buffers too", "element_size"]),
    "parameters only": (_params_only, ["Only the parameters", "buffers"]),
    "non-persistent buffer too": (lambda m: _by_layer(list(m.named_parameters()) + list(m.named_buffers())),
                                  ["non-persistent", "named_buffers"]),
    "4 bytes each": (lambda m: _by_layer(m.state_dict().items(), size=lambda t: 4 * t.numel()),
                     ["4 bytes", "element_size()", "int64"]),
    "bits": (lambda m: {k: 8 * v for k, v in state_dict_bytes(m).items()}, ["bits"]),
    "entries": (lambda m: _by_layer(m.state_dict().items(), size=lambda t: t.numel()), ["number of entries"]),
    "non-zero only": (lambda m: _by_layer(m.state_dict().items(),
                                          size=lambda t: int(torch.count_nonzero(t)) * t.element_size()),
                      ["non-zero"]),
    "tensor names": (lambda m: _by_layer(m.state_dict().items(), name=lambda k: k), ["tensor names", "rpartition"]),
    "first dot": (lambda m: _by_layer(m.state_dict().items(), name=lambda k: k.split(".")[0]),
                  ["first dot", "last dot"]),
    "parents counted too": (_parents_too, ["counted in their parents"]),
    "weights only": (lambda m: _by_layer((k, t) for k, t in m.state_dict().items() if k.endswith("weight")),
                     ["Only the weights"]),
    "the total": (lambda m: sum(state_dict_bytes(m).values()), ["single number", "right total", "dict"]),
    "a wrong total": (lambda m: 4 * count_parameters(m), ["single number", "dict"]),
    "a list": (lambda m: list(state_dict_bytes(m).items()), ["list", "dict"]),
    "tensor values": (lambda m: {k: torch.tensor(v) for k, v in state_dict_bytes(m).items()}, ["tensor", "int"]),
    "fractional value": (lambda m: {k: v / 3 for k, v in state_dict_bytes(m).items()}, ["whole number"]),
    "int keys": (lambda m: dict(enumerate(state_dict_bytes(m).values())), ["keys are layer names"]),
    "int subclass that equals anything": (lambda m: {k: _IntThatEqualsAnything(3) for k in state_dict_bytes(m)},
                                          ["subclass"]),
    "one layer missing": (lambda m: dict(list(state_dict_bytes(m).items())[1:]), ["Layers missing"]),
    "one byte too many": (lambda m: {k: v + (k == "a") for k, v in state_dict_bytes(m).items()},
                          ["Layer 'a'", "33 bytes returned, 32 expected"]),
    "casts the model in place": (_halves_the_model, ["changed its argument `m` in place"]),
    "stub": (_stub, ["not solved yet"]),
}


@pytest.mark.parametrize("name", BYTES_ALTERNATIVES)
def test_state_dict_bytes_right_solutions_pass(name, capsys):
    _passes(check_state_dict_bytes, BYTES_ALTERNATIVES[name], capsys)


@pytest.mark.parametrize("name", BYTES_MUTANTS)
def test_state_dict_bytes_mistakes_are_named(name):
    fn, words = BYTES_MUTANTS[name]
    _fails(check_state_dict_bytes, fn, *words)


def test_state_dict_bytes_shows_the_smallest_failing_model():
    message = _fails(check_state_dict_bytes, BYTES_MUTANTS["4 bytes each"][0])
    assert "state_dict_bytes(_Tiny().half()) returned {'a': 32, 'b': 8}" in message
    assert "expected {'a': 16, 'b': 4}" in message


def test_state_dict_bytes_is_what_torch_save_writes_without_the_container(tmp_path):
    """The library's twin: for both LeNets, the total is the float32 size, and torch.save adds only a container."""
    for cls in (LeNet300100, LeNet5):
        model = cls()
        total = sum(state_dict_bytes(model).values())
        assert total == float32_bytes(model) == 4 * count_parameters(model)
        assert list(state_dict_bytes(model)) == list(prunable_layers(model))
        torch.save(model.state_dict(), tmp_path / "m.pt")
        assert 0 < (tmp_path / "m.pt").stat().st_size - total < 10_000
    bn = nn.BatchNorm1d(4)
    assert state_dict_bytes(nn.Sequential(bn)) == {"0": 4 * 4 * 4 + 8}  # 4 float32 tensors and an int64 counter
    assert state_dict_bytes(nn.Linear(3, 2).half()) == {"": 2 * (6 + 2)}  # a bare layer: its tensors have no prefix


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
