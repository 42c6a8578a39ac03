"""What the course grades: its notebooks, their exercises, points and checks (never the submission's).

:func:`load_course` reads ``solutions/`` and builds, for each notebook, the learner copy
the grader runs and the list of its exercises. :func:`match_submission` finds the course
notebook a submission belongs to (by its ``NN_`` prefix, else by the exercises it holds)
and refuses one that belongs to no notebook of the course. :func:`learner_cells` takes
from a submission only the learner's exercise cells, wherever they now sit and whatever
their metadata says.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ...paths import REPO_ROOT
from ..exercises import CHECK_TAG, EXERCISE_TAG, exercises_in, learner_notebook

PREFIX = re.compile(r"^(\d\d)_")


class SubmissionError(ValueError):
    """A submission the grader cannot take (not JSON, not a notebook, not of this course)."""


@dataclass
class ExerciseSpec:
    """One graded exercise of the course: where it sits in the course notebook and what it is worth."""

    grade_id: str
    points: int
    function: str  # the name the exercise cell defines (``def <function>(...)``)
    cell: int  # index of the exercise cell in the course notebook
    check: int  # index of its check cell
    allow: list[str] = field(default_factory=list)  # course_lib names the exercise may import (from its hint)
    protected: set[str] = field(default_factory=set)  # names the course's cells bound before the exercise


@dataclass
class CourseNotebook:
    name: str  # file name, e.g. "07_huffman_coding.ipynb"
    learner: nbformat.NotebookNode  # the generated learner copy: what the grader runs
    exercises: list[ExerciseSpec]

    @property
    def prefix(self) -> str:
        return self.name[:2]

    @property
    def max_points(self) -> int:
        return sum(e.points for e in self.exercises)


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def defined_functions(source: str) -> list[str]:
    """Names of the functions a cell defines at top level (empty if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _course_notebook(path: Path) -> CourseNotebook:
    solved = nbformat.read(path, as_version=4)
    exercises_in(solved, path.name)  # validates the conventions
    learner = learner_notebook(solved, path.name)
    from .scan import bound_names

    specs: dict[str, ExerciseSpec] = {}
    bound: set[str] = set()
    for i, cell in enumerate(learner.cells):
        tags = _tags(cell)
        if cell.cell_type == "code" and not any(EXERCISE_TAG.match(t) for t in tags):
            bound |= bound_names(cell.source)
        for tag in tags:
            if m := EXERCISE_TAG.match(tag):
                names = defined_functions(solved.cells[i].source)
                allow = list(cell.get("metadata", {}).get("course", {}).get("allow", []))
                specs[m.group(1)] = ExerciseSpec(m.group(1), 0, names[0] if names else "", i, -1, allow, set(bound))
            elif m := CHECK_TAG.match(tag):
                specs[m.group(1)].points = int(m.group(2))
                specs[m.group(1)].check = i
    return CourseNotebook(path.name, learner, list(specs.values()))


def load_course(solutions_dir: Path = REPO_ROOT / "solutions") -> dict[str, CourseNotebook]:
    """``{prefix: CourseNotebook}`` for every ``NN_*.ipynb`` in ``solutions_dir``."""
    course = {p.name[:2]: _course_notebook(p) for p in sorted(Path(solutions_dir).glob("[0-9][0-9]_*.ipynb"))}
    if not course:
        raise FileNotFoundError(f"No course notebooks (NN_*.ipynb) in {solutions_dir}.")
    return course


def read_submission(path: Path) -> nbformat.NotebookNode:
    """The submission as a notebook, or a clear :class:`SubmissionError`."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # JSON errors, wrong structure, binary files
        raise SubmissionError(f"{path.name} is not a readable Jupyter notebook ({type(exc).__name__}: {exc}).") from None
    if not isinstance(nb.get("cells"), list):
        raise SubmissionError(f"{path.name} is not a Jupyter notebook (no list of cells).")
    return nb


def _submission_ids(nb) -> tuple[set[str], set[str]]:
    """(grade_ids the submission's cells claim, function names its code cells define)."""
    ids, functions = set(), set()
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if isinstance(gid, str):
            ids.add(gid.removeprefix("check-"))
        ids.update(m.group(1) for t in _tags(cell) if isinstance(t, str) and (m := EXERCISE_TAG.match(t)))
        functions.update(defined_functions(cell.get("source", "")))
    return ids, functions


def match_submission(path: Path, nb, course: dict[str, CourseNotebook]) -> CourseNotebook:
    """The course notebook ``nb`` (read from ``path``) belongs to, or :class:`SubmissionError`.

    By the file's ``NN_`` prefix first (``07_huffman_coding (1).ipynb`` and
    ``07_huffman_coding_jdoe.ipynb`` are notebook 07), else by the exercises it holds.
    A notebook whose graded cells are all foreign is another course's, and refused.
    """
    ids, functions = _submission_ids(nb)
    m = PREFIX.match(path.name)
    if m and m.group(1) in course:
        target = course[m.group(1)]
        ours = {e.grade_id for e in target.exercises}
        foreign = ids - ours - {f"check-{g}" for g in ours}
        if ids and not (ids & ours) and not (functions & {e.function for e in target.exercises}):
            raise SubmissionError(
                f"{path.name} is named like notebook {target.name} but holds none of its exercises "
                f"(its graded cells are {sorted(foreign)[:5]}): is it from another course?")
        return target
    scores = {p: len(ids & {e.grade_id for e in c.exercises}) + len(functions & {e.function for e in c.exercises})
              for p, c in course.items()}
    best = max(scores, key=scores.get)
    if scores[best] == 0:
        raise SubmissionError(
            f"{path.name} is not a notebook of this course: its name has no NN_ prefix of a course notebook "
            f"({', '.join(c.name for c in course.values())}) and it holds none of their exercises.")
    return course[best]


@dataclass
class LearnerCell:
    source: str | None  # None: the exercise is missing from the submission
    where: str  # how it was found, for the report


def learner_cells(nb, target: CourseNotebook) -> dict[str, LearnerCell]:
    """For each exercise, the submission's cell that answers it.

    A cell answers exercise ``e`` if its metadata names ``e`` (nbgrader ``grade_id`` or an
    ``exercise:e`` tag) and it defines ``e``'s function, or, failing that, if it is the last
    code cell that defines that function (metadata may have been stripped or moved).
    """
    cells = [(i, c) for i, c in enumerate(nb.cells) if c.get("cell_type") == "code" and isinstance(c.get("source"), str)]
    found: dict[str, LearnerCell] = {}
    for ex in target.exercises:
        def claims(cell) -> bool:
            meta = cell.get("metadata", {})
            return meta.get("nbgrader", {}).get("grade_id") == ex.grade_id or f"exercise:{ex.grade_id}" in _tags(cell)

        defining = [(i, c) for i, c in cells if ex.function and ex.function in defined_functions(c.source)]
        claimed = [(i, c) for i, c in defining if claims(c)]
        unparsed = [(i, c) for i, c in cells if claims(c)]  # e.g. a syntax error: it still is the answer
        if claimed:
            i, c = claimed[-1]
            found[ex.grade_id] = LearnerCell(c.source, f"cell {i} (metadata and def {ex.function})")
        elif defining:
            i, c = defining[-1]
            found[ex.grade_id] = LearnerCell(c.source, f"cell {i} (def {ex.function})")
        elif unparsed:
            i, c = unparsed[-1]
            found[ex.grade_id] = LearnerCell(c.source, f"cell {i} (metadata only: it defines no {ex.function}())")
        else:
            found[ex.grade_id] = LearnerCell(None, f"no cell defines {ex.function}()")
    return found
