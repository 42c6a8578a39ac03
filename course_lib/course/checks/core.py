"""The machinery every check uses: pass/fail reporting and careful calls.

- :func:`passed` prints ``PASS: ...`` (with a tick).
- :func:`fail` raises :class:`CheckFailed` (an ``AssertionError``) whose message
  names the mistake, so the grader and nbval see a failure.
- :func:`call` runs the learner's function and turns ``NotImplementedError`` and
  crashes into messages that say which input broke it.
- :func:`require_tensor` rejects a wrong argument handed to a check (a wrong
  shape, a list instead of a tensor) with :class:`CheckInputError`, which says
  what the check expected. A wrong input never yields a silent pass.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

PASS_MARK = "\u2705 PASS"
FAIL_MARK = "\u274c FAIL"


class CheckFailed(AssertionError):
    """The learner's answer is wrong; the message names the likely mistake."""

    def __init__(self, message: str):
        super().__init__(f"{FAIL_MARK}: {message}")


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


def call(fn: Callable, *args: Any, exercise: str = "", **kwargs: Any) -> Any:
    """Call the learner's ``fn``; explain NotImplementedError and crashes."""
    if not callable(fn):
        raise CheckInputError(f"Pass your function itself to the check, not {type(fn).__name__} ({fn!r:.60}).")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as exc:
        raise CheckFailed(
            f"{exercise or getattr(fn, '__name__', 'the exercise')} is not solved yet ({exc}). "
            "Write your code in place of the `raise NotImplementedError` line and run its cell first."
        ) from None
    except CheckFailed:
        raise
    except Exception as exc:
        shown = ", ".join(_describe(a) for a in args)
        raise CheckFailed(
            f"{getattr(fn, '__name__', 'your function')}({shown}) raised {type(exc).__name__}: {exc}"
        ) from exc


def _describe(obj: Any) -> str:
    if isinstance(obj, torch.Tensor):
        return f"tensor of shape {tuple(obj.shape)}"
    if isinstance(obj, torch.nn.Module):
        return type(obj).__name__ + "()"
    text = repr(obj)
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
