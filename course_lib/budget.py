"""Training budgets: the full course settings, and a quick mode for the test suite.

The test suite runs every notebook with ``COURSE_QUICK=1``. Notebooks then
train for a fraction of the epochs and on a slice of the data, so that all of
them run in minutes on two CPU cores. The numbers they print are computed
either way; only their quality changes. The full-size results come from the
project commands (``make baselines``, ``make reproduce``) and are committed.
"""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

ENV_VAR = "COURSE_QUICK"


def is_quick() -> bool:
    """True when ``COURSE_QUICK`` is set to a non-empty value other than ``0``."""
    return os.environ.get(ENV_VAR, "0") not in ("", "0", "false", "False")


def pick(full: T, quick: T) -> T:
    """``quick`` under the test suite's quick mode, ``full`` otherwise."""
    return quick if is_quick() else full
