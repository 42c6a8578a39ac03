"""The machinery every check uses: pass/fail reporting and careful calls.

- :func:`passed` prints ``PASS: ...``; :func:`partial` awards part of the points.
- :func:`fail` raises :class:`CheckFailed` (an ``AssertionError``) whose message
  names the mistake, so the grader and nbval see a failure. In a notebook it shows as
  a short box with that message alone, not a traceback through the checks.
- :func:`call` runs the learner's function and turns ``NotImplementedError`` and
  crashes into messages that say which input broke it, pointing at the learner's line;
  :func:`last_traceback` prints the full traceback on request.
- :func:`call_unchanged` is :func:`call` that also fails when the function changed an
  argument in place (it compares every argument with a pristine copy afterwards).
- :func:`as_float`, :func:`as_int`, :func:`as_tensor` turn what the learner returned
  into plain numbers and tensors of the documented kind, or fail saying what is wrong
  (a 0-d tensor for a number, float codes for integer codes, a tensor that keeps its
  autograd graph, a subclass whose ``==`` agrees with anything, ...).
- :func:`require_tensor` rejects a wrong argument handed to a check (a wrong
  shape, a list instead of a tensor) with :class:`CheckInputError`, which says
  what the check expected. A wrong input never yields a silent pass.
- :func:`mismatch` words the fallback diagnosis: the smallest failing input, what was
  expected, what came back.
"""

from __future__ import annotations

import copy
import inspect
import numbers
import re
import sys
import textwrap
import traceback
from typing import Any, Callable, Sequence

import numpy as np
import torch

# Plain words: every default font has them (an emoji shows as an empty box on some machines).
PASS_MARK = "PASS"
FAIL_MARK = "FAIL"


MESSAGE_WIDTH = 100  # a laptop's notebook column with the file browser open
_WIDTH = MESSAGE_WIDTH
_SENTENCE = re.compile(r"(?<!e\.g\.)(?<!i\.e\.)(?<=[.;!?])\s+(?=\S)")
_OPEN, _CLOSE = "([{", ")]}"


def _clauses(sentence: str) -> list[str]:
    """``sentence`` cut after each ', ', ': ' or '; ' that is outside brackets and backticks."""
    pieces, depth, code, start = [], 0, False, 0
    for i, ch in enumerate(sentence):
        if ch == "`":
            code = not code
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif ch in ",:;" and not depth and not code and sentence[i + 1: i + 2] == " ":
            pieces.append(sentence[start: i + 1])
            start = i + 2
    return pieces + [sentence[start:]]


def _pack(pieces: list[str], out: list[str], first: int) -> None:
    """Append ``pieces`` to ``out`` joined greedily into lines that fit (words wrapped as a last resort)."""
    line = ""
    for piece in pieces:
        width = first if not out else _WIDTH
        if line and len(line) + 1 + len(piece) <= width:
            line += " " + piece
            continue
        if line:
            out.append(line)
            width = first if not out else _WIDTH
        if len(piece) <= width:
            line = piece
        else:
            wrapped = textwrap.wrap(piece, width, break_long_words=False, break_on_hyphens=False)
            out.extend(wrapped[:-1])
            line = wrapped[-1]
    if line:
        out.append(line)


def _lines(text: str, first: int) -> list[str]:
    """``text`` in lines of at most ``_WIDTH`` characters (``first`` for the first line).

    Lines break between sentences where they can, else between clauses (after a comma, colon or
    semicolon outside brackets), and only then between words: a phrase naming a mistake stays whole.
    """
    out: list[str] = []
    for para in text.split("\n"):
        width = first if not out else _WIDTH
        if len(para) <= width:
            out.append(para)
            continue
        pieces: list[str] = []
        for sentence in _SENTENCE.split(para):
            pieces += [sentence] if len(sentence) <= _WIDTH - 6 else _clauses(sentence)
        _pack(pieces, out, first)
    return out


def wrap_message(text: str, width: int = MESSAGE_WIDTH) -> str:
    """``text`` in lines of at most ``width`` characters: between sentences where possible, then
    between clauses, and only then between words, so a phrase that names a mistake stays whole."""
    return "\n".join(_lines(text, width))


class CheckFailed(AssertionError):
    """The learner's answer is wrong; the message names the likely mistake."""

    def __init__(self, message: str):
        super().__init__(wrap_message(f"{FAIL_MARK}: {message}"))

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the message alone, in a short box."""
        lines = str(self).splitlines() or [FAIL_MARK]
        rule = "-" * min(60, max(len(line) for line in lines))  # narrow: the box must not wrap
        hint = []
        if _LAST_CRASH["exc"] is not None and self.__cause__ is _LAST_CRASH["exc"]:
            hint = ["(full traceback of your code: from course_lib.course.checks.core import last_traceback; "
                    "last_traceback())"]
        return [rule, *lines, *hint, rule]


class CheckInputError(TypeError):
    """A check was handed something it cannot check (wrong type or shape)."""


# What the checks of the running cell reported, for the grader (:func:`verdict`). The grader
# resets it before a check cell and reads it after, in cells of its own; a learner's code
# never sees those cells' sources, so it cannot forge their output.
_STATE = {"passes": 0, "fraction": None}


def begin_check() -> None:
    """Forget what earlier checks reported (the grader runs this before each check cell)."""
    _STATE.update(passes=0, fraction=None)


def verdict() -> str:
    """``"<passes> <fraction>"`` since :func:`begin_check`: how many checks passed, and the partial credit."""
    fraction = _STATE["fraction"]
    return f"{_STATE['passes']} {'none' if fraction is None else repr(float(fraction))}"


def passed(message: str) -> None:
    _STATE["passes"] += 1
    print(f"{PASS_MARK}: {message}")


def partial(fraction: float, message: str = "") -> None:
    """Award ``fraction`` (0..1) of the check's points: prints ``PARTIAL: x`` and tells the grader."""
    fraction = min(1.0, max(0.0, float(fraction)))
    _STATE["fraction"] = fraction
    _STATE["passes"] += 1
    if message:
        print(f"PARTIAL CREDIT {fraction:.2f}: {message}")
    print(f"PARTIAL: {fraction:.2f}")


def fail(message: str) -> None:
    raise CheckFailed(message)


_LAST_CRASH: dict[str, BaseException | None] = {"exc": None}


def last_traceback(file=None) -> None:
    """Print the full traceback of the last crash of the learner's code inside a check."""
    exc = _LAST_CRASH["exc"]
    if exc is None:
        print("No crash of your code recorded in this session.", file=file)
        return
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=file or sys.stdout)


def _learner_line(exc: BaseException) -> str:
    """`` at line N of your cell: <code>`` for the deepest frame in notebook code, else ''."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "ipykernel" in f.filename or f.filename.startswith("<")]
    if not frames:
        return ""
    frame = frames[-1]
    code = f": {frame.line.strip()}" if frame.line else ""
    return f" at line {frame.lineno} of your cell{code}"


def call(fn: Callable, *args: Any, exercise: str = "", **kwargs: Any) -> Any:
    """Call the learner's ``fn``; explain NotImplementedError and crashes."""
    if not callable(fn):
        raise CheckInputError(f"Pass your function itself to the check, not {type(fn).__name__} ({fn!r:.60}).")
    name = getattr(fn, "__name__", "your function")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(
            f"{exercise or name} is not solved yet: replace the `raise NotImplementedError` line with your code, "
            "run that cell, then this check."
        ) from None
    except CheckFailed:
        raise
    except Exception as exc:
        _LAST_CRASH["exc"] = exc
        shown = ", ".join(_describe(a) for a in args)
        raise CheckFailed(
            f"{name}({shown}) raised {type(exc).__name__}{_learner_line(exc)}\n  {type(exc).__name__}: {exc}"
        ) from exc


def _same(a: Any, b: Any) -> bool:
    """Is ``a`` (after the call) still what its pristine copy ``b`` was? Exact, dtype and shape included."""
    if isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape
                and bool(torch.equal(a.detach().cpu(), b.detach().cpu()) or (a.isnan().any() and b.isnan().any()
                     and torch.equal(a.nan_to_num(), b.nan_to_num()))))
    if isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(b, torch.nn.Module):
        sa, sb = a.state_dict(), b.state_dict()
        return sa.keys() == sb.keys() and all(_same(sa[k], sb[k]) for k in sb)
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in b)
    if isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(b, (bytes, bytearray)):
        return bytes(a) == bytes(b) and type(a) is type(b)
    try:
        return bool(a == b)
    except Exception:
        return a is b


def call_unchanged(fn: Callable, *args: Any, exercise: str = "", may_change: Sequence[int] = (), **kwargs: Any) -> Any:
    """:func:`call`, then fail if ``fn`` changed any argument in place (except those in ``may_change``).

    The learner's function gets the arguments themselves; pristine deep copies are kept
    and compared afterwards, so ``x /= scale`` or ``weights.zero_()`` on an argument is
    named as what it is: an in-place change the caller did not ask for.
    """
    pristine = [copy.deepcopy(a) for a in args]
    result = call(fn, *args, exercise=exercise, **kwargs)
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    for i, (after, before) in enumerate(zip(args, pristine)):
        if i in may_change or _same(after, before):
            continue
        arg = names[i] if i < len(names) else f"argument {i + 1}"
        fail(f"{getattr(fn, '__name__', 'your function')} changed its argument `{arg}` in place "
             f"({_describe(before)} is not what it was). Leave the inputs as they are: work on a copy "
             f"(.clone(), dict(...), list(...)) or build a new result.")
    return result


def _is_plain_number(value: Any) -> bool:
    return type(value) in (int, float) or isinstance(value, np.generic) and isinstance(value, numbers.Real)


def as_float(value: Any, what: str) -> float:
    """``value`` as a plain float, or a failure saying why it is not one (tensors, bools, odd subclasses)."""
    if isinstance(value, torch.Tensor):
        fail(f"{what} is a tensor of shape {tuple(value.shape)}; return a Python number (use .item()).")
    if isinstance(value, bool) or isinstance(value, np.bool_):
        fail(f"{what} is a bool ({value}); return a number.")
    if not _is_plain_number(value):
        kind = type(value).__name__
        extra = " (a subclass: return a plain float, e.g. float(x))" if isinstance(value, numbers.Real) else ""
        fail(f"{what} is a {kind}{extra}; return a Python float.")
    return float(value)


def as_int(value: Any, what: str) -> int:
    """``value`` as a plain int, or a failure (a float, a tensor, a bool or a subclass is not an int)."""
    if isinstance(value, torch.Tensor):
        fail(f"{what} is a tensor of shape {tuple(value.shape)}; return a Python int (use .item()).")
    if isinstance(value, (bool, np.bool_)):
        fail(f"{what} is a bool ({value}); return an int.")
    if type(value) is int or isinstance(value, np.integer):
        return int(value)
    if type(value) is float or isinstance(value, np.floating):
        fail(f"{what} is the float {value}; return an int (a count or a size is a whole number).")
    extra = " (a subclass: return a plain int)" if isinstance(value, numbers.Integral) else ""
    fail(f"{what} is a {type(value).__name__}{extra}; return a Python int.")


_KINDS = {
    "int": (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8),
    "float": (torch.float16, torch.bfloat16, torch.float32, torch.float64),
    "bool": (torch.bool,),
}


def as_tensor(value: Any, what: str, kind: str | None = None, shape: Sequence[int] | None = None,
              graph: bool = False) -> torch.Tensor:
    """``value`` as a plain, detached tensor of dtype ``kind`` ("int", "float" or "bool") and ``shape``.

    Fails when it is not a tensor (or a tensor subclass with its own ``==``), when its dtype
    is of the wrong kind (float codes where integer codes are asked for, ...), when its
    shape differs, and, unless ``graph``, when it still carries an autograd graph.
    """
    if not isinstance(value, torch.Tensor):
        fail(f"{what} is a {type(value).__name__}; return a torch.Tensor.")
    if type(value) not in (torch.Tensor, torch.nn.Parameter):
        fail(f"{what} is a {type(value).__name__} (a tensor subclass); return a plain torch.Tensor.")
    if kind is not None and value.dtype not in _KINDS[kind]:
        fix = {"int": ".long() after rounding", "float": ".float()", "bool": "a comparison such as w.abs() > t"}[kind]
        fail(f"{what} has dtype {value.dtype}; it must be a{'n' if kind == 'int' else ''} {kind} tensor ({fix}).")
    if shape is not None and tuple(value.shape) != tuple(shape):
        fail(f"{what} has shape {tuple(value.shape)}, expected {tuple(shape)}.")
    if not graph and (value.grad_fn is not None or value.requires_grad):
        fail(f"{what} still carries its autograd graph; return a plain value (.item() for a number, "
             ".detach() for a tensor).")
    return value.detach().clone()


def mismatch(fn_name: str, inputs: str, expected: Any, got: Any) -> str:
    """The fallback diagnosis when no known mistake fits: the smallest failing input and both answers."""
    return f"{fn_name}({inputs}) returned {_short(got)}; expected {_short(expected)}."


def _short(value: Any, limit: int = 120) -> str:
    if isinstance(value, torch.Tensor) and value.numel() > 12:
        text = f"tensor of shape {tuple(value.shape)}, first values {value.flatten()[:6].tolist()}"
    else:
        text = repr(value.tolist() if isinstance(value, torch.Tensor) else value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(obj: Any) -> str:
    if isinstance(obj, torch.Tensor):
        return f"tensor of shape {tuple(obj.shape)}"
    if isinstance(obj, torch.nn.Module):
        return type(obj).__name__ + "()"
    if isinstance(obj, torch.optim.Optimizer):
        return type(obj).__name__ + "(...)"
    if isinstance(obj, dict) and any(isinstance(v, (torch.Tensor, dict, list)) for v in obj.values()):
        shown = ", ".join(f"{k!r}: {_describe(v)}" for k, v in list(obj.items())[:3])
        return "{" + shown + (", ..." if len(obj) > 3 else "") + "}"
    text = " ".join(repr(obj).split())  # one line, whatever the repr
    return text if len(text) < 40 else text[:37] + "..."


def require_tensor(
    obj: Any,
    what: str,
    shape: Sequence[int] | None = None,
    dtype: torch.dtype | Sequence[torch.dtype] | None = None,
) -> torch.Tensor:
    """Return ``obj`` if it is a tensor of the expected shape/dtype, else raise a clear error."""
    if not isinstance(obj, torch.Tensor):
        raise CheckInputError(f"{what} must be a torch.Tensor, got {type(obj).__name__}.")
    if shape is not None and tuple(obj.shape) != tuple(shape):
        raise CheckInputError(f"{what} must have shape {tuple(shape)}, got {tuple(obj.shape)}.")
    if dtype is not None:
        allowed = (dtype,) if isinstance(dtype, torch.dtype) else tuple(dtype)
        if obj.dtype not in allowed:
            names = " or ".join(str(d) for d in allowed)
            raise CheckInputError(f"{what} must have dtype {names}, got {obj.dtype}.")
    return obj


def returned_tensor(result: Any, fn_name: str, shape: Sequence[int] | None = None, dtype=None) -> torch.Tensor:
    """Like :func:`require_tensor` but for what the learner's function returned (a fail, not a misuse)."""
    try:
        return require_tensor(result, f"The value returned by {fn_name}", shape, dtype)
    except CheckInputError as exc:
        raise CheckFailed(str(exc)) from None


def failure_message(check: Callable, fn: Any, *phrases: str) -> str:
    """Run ``check(fn)``, which must fail; return its message after asserting it names each phrase.

    For tests of checks (and for instructors writing new ones): feed a typical wrong
    solution and make sure the learner is told what the mistake is.
    """
    try:
        check(fn)
    except CheckFailed as exc:
        message = str(exc)
    else:
        raise AssertionError(f"{getattr(check, '__name__', check)} passed a wrong solution")
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in: {message}"
    return message
