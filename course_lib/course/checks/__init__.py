"""Self-checks for the exercises, one module per chapter.

Every check tries the learner's function on fixed cases and on seeded random
ones, compares it with the reference in ``course_lib``, and on failure raises
:class:`CheckFailed` with a message that names the likely mistake. On success it
prints a line that starts with ``PASS``.

    from course_lib.checks.models import check_count_parameters
"""

from .core import CheckFailed, CheckInputError

__all__ = ["CheckFailed", "CheckInputError"]
