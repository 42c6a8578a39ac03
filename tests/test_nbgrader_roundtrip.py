"""Real nbgrader grades the course: export -> generate_assignment -> autograde.

The course exports an nbgrader source (``course_lib.course.nbgrader_export``); this test
runs the pinned nbgrader's own command line on it in a temporary course folder:

1. export 00_welcome and 07_huffman_coding (fast ones), plus a tiny synthetic chapter
   whose check awards partial credit like the capstone's ``check_challenge``;
2. ``nbgrader generate_assignment`` releases them (solutions stripped by nbgrader);
3. two students submit each: ``solved`` hands in the source (with the solutions),
   ``unsolved`` the released copy (every exercise still raises ``NotImplementedError``);
4. ``nbgrader autograde`` runs them; the scores come from nbgrader's gradebook database.

Solved earns every check's points (the ``check:<id>:<points>`` tags), unsolved earns 0,
the partial-credit check earns its fraction. When the course's grader offers
``grade_notebook(path) -> {"points": ...}``, it must agree with nbgrader.

nbgrader is pinned in requirements.txt: when it is missing these tests fail, they never skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from course_lib.course.exercises import exercises_in
from course_lib.course.nbgrader_export import (PARTIAL_CREDIT_CHECKS, SCHEMA_VERSION, export, nbgrader_source,
                                               select)
from course_lib.paths import REPO_ROOT

try:
    import nbgrader
except ImportError:  # reported by the tests below, never skipped
    nbgrader = None

SOLUTIONS = REPO_ROOT / "solutions"
CHAPTERS = ["00_welcome", "07_huffman_coding"]
PARTIAL_CHAPTER = "99_partial_credit"  # synthetic: a check_challenge that awards 37 %
PARTIAL_FRACTION = 0.37
STUDENTS = ("solved", "unsolved")
NBGRADER_TIMEOUT = 600  # seconds for one nbgrader command


def _require_nbgrader():
    if nbgrader is None:
        pytest.fail("nbgrader is not installed, but requirements.txt pins it: run `make setup` "
                    "(or .venv/bin/python -m pip install -r requirements.txt).", pytrace=False)


def _pinned_nbgrader() -> str:
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        m = re.fullmatch(r"nbgrader==(\S+)", line.split("#")[0].strip())
        if m:
            return m.group(1)
    raise AssertionError("requirements.txt does not pin nbgrader")


def _expected_points(nb, name) -> dict[str, int]:
    """``{check grade_id: points}`` from the ``check:<id>:<points>`` tags of a solution notebook."""
    return {f"check-{ex.grade_id}": ex.points for ex in exercises_in(nb, name)}


def _partial_credit_solution():
    """A one-exercise chapter whose check is called ``check_challenge`` and awards a fraction, as the capstone's."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Partial credit\n\nA check that awards a fraction of its points."),
        nbformat.v4.new_code_cell(
            "def check_challenge(my_recipe, data):\n"
            "    my_recipe()  # raises NotImplementedError while unsolved\n"
            f"    print('PARTIAL: {PARTIAL_FRACTION}')\n"
            f"    return {{'score': {PARTIAL_FRACTION}}}"),
        nbformat.v4.new_code_cell(
            'def my_recipe():\n    """Settings."""\n    ### BEGIN SOLUTION\n    return {}\n    ### END SOLUTION',
            metadata={"tags": ["exercise:capstone-challenge"]}),
        nbformat.v4.new_code_cell("challenge = check_challenge(my_recipe, None)",
                                  metadata={"tags": ["check:capstone-challenge:10"]}),
    ]
    return nb


def _nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, COURSE_QUICK="1")
    # nbgrader calls `alembic` from PATH when it creates its database; the kernel is this python's.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=NBGRADER_TIMEOUT)
    assert proc.returncode == 0, (f"`nbgrader {' '.join(args)}` exited {proc.returncode}:\n"
                                  + (proc.stdout + proc.stderr)[-4000:])
    return proc


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A graded nbgrader course folder: ``{"root", "expected", "scores", "seconds"}``."""
    _require_nbgrader()
    from nbgrader.api import Gradebook

    start = time.perf_counter()
    root = tmp_path_factory.mktemp("nbgrader_course")
    export(root, select(SOLUTIONS, CHAPTERS))
    expected = {name: _expected_points(nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4), name)
                for name in CHAPTERS}
    partial_src = root / "source" / PARTIAL_CHAPTER / f"{PARTIAL_CHAPTER}.ipynb"
    partial_src.parent.mkdir(parents=True)
    nbformat.write(nbgrader_source(_partial_credit_solution(), PARTIAL_CHAPTER), partial_src)
    expected[PARTIAL_CHAPTER] = {"check-capstone-challenge": 10}

    _nbgrader(root, "generate_assignment", "*")
    for assignment in expected:
        nb_file = f"{assignment}.ipynb"
        released = root / "release" / assignment / nb_file
        assert released.is_file(), f"nbgrader released no {released}"
        for student, src in (("solved", root / "source" / assignment / nb_file), ("unsolved", released)):
            dest = root / "submitted" / student / assignment / nb_file
            dest.parent.mkdir(parents=True)
            shutil.copyfile(src, dest)
    _nbgrader(root, "autograde", "*")

    scores: dict[tuple[str, str], dict[str, float]] = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for assignment in expected:
            for student in STUDENTS:
                sub = gb.find_submission_notebook(assignment, assignment, student)
                scores[assignment, student] = {g.name: g.auto_score for g in sub.grades}
    return {"root": root, "expected": expected, "scores": scores, "seconds": time.perf_counter() - start}


def test_nbgrader_is_installed_at_the_pinned_version():
    _require_nbgrader()
    assert nbgrader.__version__ == _pinned_nbgrader(), (
        f"nbgrader {nbgrader.__version__} is installed, requirements.txt pins {_pinned_nbgrader()}: run `make setup`")


def test_schema_version_is_the_installed_nbgraders():
    _require_nbgrader()
    from nbgrader.nbgraderformat import SCHEMA_VERSION as installed

    assert SCHEMA_VERSION == installed


@pytest.mark.parametrize("name", [p.stem for p in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))])
def test_every_chapter_exports_valid_nbgrader_metadata(name):
    _require_nbgrader()
    from nbgrader.nbgraderformat import MetadataValidator

    solution = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    before = json.dumps(solution, sort_keys=True)
    nb = nbgrader_source(solution, name)
    assert json.dumps(solution, sort_keys=True) == before, "nbgrader_source changed its argument"
    MetadataValidator().validate_nb(nb)  # nbgrader's own check: schema, grade_ids, points
    expected = _expected_points(solution, name)
    checks, ids = {}, []
    for cell in nb.cells:
        meta = cell.metadata["nbgrader"]  # every cell: answer, test or read-only
        ids.append(meta["grade_id"])
        tags = cell.metadata.get("tags", [])
        if any(t.startswith("exercise:") for t in tags):
            assert (meta["solution"], meta["grade"], meta["locked"]) == (True, False, False)
            assert "### BEGIN SOLUTION" in cell.source, "the source carries the solution"
        elif any(t.startswith("check:") for t in tags):
            assert (meta["solution"], meta["grade"], meta["locked"]) == (False, True, True)
            checks[meta["grade_id"]] = meta["points"]
        else:
            assert (meta["solution"], meta["grade"], meta["locked"]) == (False, False, True)
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert checks == expected
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_the_capstone_check_reports_its_points_to_nbgrader():
    solution = nbformat.read(SOLUTIONS / "09_deep_compression.ipynb", as_version=4)
    nb = nbgrader_source(solution, "09_deep_compression")
    (cell,) = [c for c in nb.cells if c.metadata["nbgrader"].get("grade_id") == "check-capstone-challenge"]
    (original,) = [c for c in solution.cells if "check:capstone-challenge:10" in c.metadata.get("tags", [])]
    assert cell.source.startswith(original.source), "the course's check runs unchanged"
    last = cell.source.strip().splitlines()[-1]
    assert last == "round(min(1.0, max(0.0, float(challenge['score']))) * 10, 2)"
    assert "check_challenge" in PARTIAL_CREDIT_CHECKS


def test_nbgrader_released_the_assignments_without_solutions(course):
    for assignment in course["expected"]:
        released = (course["root"] / "release" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8")
        assert "### BEGIN SOLUTION" not in released
        assert "raise NotImplementedError()" in released


@pytest.mark.parametrize("assignment", CHAPTERS + [PARTIAL_CHAPTER])
def test_nbgrader_gives_the_solved_submission_its_points_and_the_unsolved_none(course, assignment):
    expected = course["expected"][assignment]
    solved, unsolved = (course["scores"][assignment, s] for s in STUDENTS)
    if assignment == PARTIAL_CHAPTER:  # nbgrader reads the points from the check cell's value
        expected = {gid: round(PARTIAL_FRACTION * pts, 2) for gid, pts in expected.items()}
    assert solved == pytest.approx(expected), f"{assignment}: nbgrader scored the solved submission {solved}"
    assert unsolved == {gid: 0.0 for gid in expected}, f"{assignment}: nbgrader scored the unsolved submission {unsolved}"
    print(f"nbgrader round trip: {course['seconds']:.0f} s")


def _course_grader():
    """The course grader's ``grade_notebook``, or None while its API is not there (it is being rewritten)."""
    try:
        from course_lib.course.grader import grade_notebook
    except ImportError:
        return None
    return grade_notebook if callable(grade_notebook) else None


@pytest.mark.parametrize("assignment", CHAPTERS)
def test_the_course_grader_agrees_with_nbgrader(course, assignment):
    nbgrader_points = {s: sum(course["scores"][assignment, s].values()) for s in STUDENTS}
    assert nbgrader_points == {"solved": sum(course["expected"][assignment].values()), "unsolved": 0}
    grade_notebook = _course_grader()
    if grade_notebook is None:
        pytest.skip("course_lib.course.grader.grade_notebook is not there; nbgrader's own scores were asserted")
    for student in STUDENTS:
        report = grade_notebook(course["root"] / "submitted" / student / assignment / f"{assignment}.ipynb")
        if not (isinstance(report, dict) and "points" in report):
            pytest.skip(f"grade_notebook returned {type(report).__name__} without 'points'; "
                        "nbgrader's own scores were asserted")
        assert report["points"] == pytest.approx(nbgrader_points[student]), (
            f"{assignment}/{student}: the course's grader gives {report['points']}, nbgrader {nbgrader_points[student]}")
