"""The grader: what a submission earns, decided by the course, whatever the submission contains.

    course-grade notebooks/07_huffman_coding.ipynb              # one notebook (make grade NB=...)
    course-grade submitted/ -j 2 --out grades/                  # a class: gradebook.csv, grades.json
    python -m course_lib.course.grader ...                      # the same without the script

Each submission is treated as untrusted code written to get points:

- :mod:`~course_lib.course.grader.course_index`  the course decides what is graded: the notebook
  that runs is the course's, with only the learner's exercise cells taken from the submission;
- :mod:`~course_lib.course.grader.scan`          exercise cells are reviewed before they run; what
  reaches for the grading machinery, or copies the library, is flagged and scores 0 until reviewed;
- :mod:`~course_lib.course.grader.runner`        verdicts travel on a nonce channel printing cannot
  forge; a hang or a dead kernel costs only its own points;
- :mod:`~course_lib.course.grader.sandbox`       the kernel runs in a scratch directory, the course
  read-only (bubblewrap) or fingerprinted, and nothing it started outlives it;
- :mod:`~course_lib.course.grader.classroom`     a class at once, in parallel, into a gradebook;
- :mod:`~course_lib.course.grader.cli`           the ``course-grade`` command.

What no in-kernel grader can prevent, and the recommended setup, are in the README
("Teaching with this course").
"""

from .course_index import SubmissionError, load_course
from .runner import CourseTampered, format_report, grade_notebook

__all__ = ["grade_notebook", "format_report", "load_course", "SubmissionError", "CourseTampered", "main"]


def main(argv: list[str] | None = None) -> int:
    from .cli import main as cli_main

    return cli_main(argv)
