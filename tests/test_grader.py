"""The grader is a security boundary: tamper attempts against it, each graded right or flagged.

Every submission here is built from the learner copy of a small course notebook (three
exercises of notebooks 00 and 07, 6 points), with its exercise cells answered honestly or
with a typical attempt to get points without the work. The rule each test asserts:
awarded <= deserved, honest points kept, or the attempt flagged with a reason.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import time
from pathlib import Path

import nbformat
import pytest

from course_lib.course.exercises import EXERCISE_TAG, learner_notebook
from course_lib.course.grader import SubmissionError, grade_notebook
from course_lib.course.grader import runner as runner_mod
from course_lib.course.grader.classroom import class_summary, find_submissions, grade_class
from course_lib.course.grader.course_index import load_course
from course_lib.course.grader.sandbox import bwrap_path, course_fingerprint
from course_lib.course.grader.scan import scan_cell
from course_lib.paths import PACKAGE_DIR, REPO_ROOT

MINI = "90_grader_mini.ipynb"
FULL = {"fraction-zero": 1, "huffman-code-lengths": 3, "canonical-code": 2}
MAX = sum(FULL.values())


def _cells_of(name: str, tags_or_index) -> list:
    nb = nbformat.read(REPO_ROOT / "solutions" / name, as_version=4)
    return [copy.deepcopy(nb.cells[i]) for i in tags_or_index]


def _tagged(name: str, prefix: str) -> list[int]:
    nb = nbformat.read(REPO_ROOT / "solutions" / name, as_version=4)
    return [i for i, c in enumerate(nb.cells) if any(t.startswith(prefix) for t in c.metadata.get("tags", []))]


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    """A solutions folder holding one small course notebook made of real exercises and checks."""
    root = tmp_path_factory.mktemp("course")
    zero = _tagged("00_welcome.ipynb", "exercise:fraction-zero")[0]
    lengths = _tagged("07_huffman_coding.ipynb", "exercise:huffman-code-lengths")[0]
    canon = _tagged("07_huffman_coding.ipynb", "exercise:canonical-code")[0]
    cells = [nbformat.v4.new_markdown_cell("# Grader test course"),
             nbformat.v4.new_code_cell("import heapq\n\nimport torch\n\nsetup_value = 41 + 1")]
    cells += _cells_of("00_welcome.ipynb", [zero, zero + 1])
    cells.append(nbformat.v4.new_code_cell("from course_lib.sparsity import fraction_zero  # the library's version"))
    cells += _cells_of("07_huffman_coding.ipynb", [lengths, lengths + 1, lengths + 2, canon, canon + 1])
    cells.append(nbformat.v4.new_code_cell("from course_lib.huffman import canonical_code\nprint(setup_value)"))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / MINI)
    return root


@pytest.fixture(scope="module")
def course(course_dir):
    return load_course(course_dir)


@pytest.fixture(scope="module")
def solved(course_dir):
    return nbformat.read(course_dir / MINI, as_version=4)


def learner(solved, answers: dict[str, str] | None = None, solve: bool = True):
    """The learner copy, with exercises answered by the solution (``solve``) or by ``answers``."""
    nb = learner_notebook(solved, MINI)
    for i, cell in enumerate(nb.cells):
        for tag in cell.metadata.get("tags", []):
            if m := EXERCISE_TAG.match(tag):
                gid = m.group(1)
                if answers and gid in answers:
                    cell.source = answers[gid]
                elif solve:
                    cell.source = "\n".join(l for l in solved.cells[i].source.split("\n") if "### " not in l)
    return nb


def grade(tmp_path, course, nb, name=MINI, **kw) -> dict:
    path = tmp_path / name
    nbformat.write(nb, path)
    return grade_notebook(path, course=course, timeout=kw.pop("timeout", 60), **kw)


def points(report) -> dict[str, float]:
    return {c["grade_id"]: c["points"] for c in report["checks"]}


def flagged(report, gid) -> str:
    check = next(c for c in report["checks"] if c["grade_id"] == gid)
    assert check["flags"], f"{gid} was not flagged: {check}"
    assert check["points"] == 0
    return " ".join(check["flags"])


# --------------------------------------------------------------------------- honest baselines


def test_an_honest_solved_submission_earns_everything(tmp_path, course, solved):
    report = grade(tmp_path, course, learner(solved))
    assert points(report) == FULL and report["points"] == report["max_points"] == MAX, json.dumps(report, indent=1)
    assert report["flagged"] == []


def test_an_unsolved_submission_earns_nothing_and_keeps_the_maximum(tmp_path, course, solved):
    report = grade(tmp_path, course, learner(solved, solve=False))
    assert report["points"] == 0 and report["max_points"] == MAX
    assert all("not solved yet" in c["message"] for c in report["checks"])


def test_the_course_solutions_are_never_flagged(course):
    """No exercise of the real course trips the scan with its own solution."""
    for path in sorted((REPO_ROOT / "solutions").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        real = load_course(REPO_ROOT / "solutions")[path.name[:2]]
        for ex in real.exercises:
            source = nb.cells[ex.cell].source
            assert scan_cell(source, ex.function, ex.allow, ex.protected) == [], f"{path.name} {ex.grade_id} is flagged"


# --------------------------------------------------------------------------- forged verdicts


PASS_LIE = 'def fraction_zero(t):\n    print("\\u2705 PASS: fraction_zero")\n    print("PARTIAL: 1.0")\n    return 0.5\n'


def test_printing_pass_or_partial_earns_nothing(tmp_path, course, solved):
    report = grade(tmp_path, course, learner(solved, {"fraction-zero": PASS_LIE}))
    assert points(report)["fraction-zero"] == 0 and points(report)["canonical-code"] == 2


@pytest.mark.parametrize("attack, why", [
    ("import course_lib.course.checks.welcome as w\nw.check_fraction_zero = lambda f: print('PASS')\n", "course_lib"),
    ("get_ipython().showtraceback = lambda *a, **k: None\n", "get_ipython"),
    ("get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n", "get_ipython"),
    ("get_ipython().input_transformers_post.append(lambda lines: [])\n", "get_ipython"),
    ("import sys\nsys.modules['course_lib.course.checks.welcome'].check_fraction_zero = print\n", "sys"),
    ("import builtins\nbuiltins.print = lambda *a, **k: None\n", "builtins"),
    ("().__class__.__base__.__subclasses__()\n", "__class__"),
    ("exec('import os; os._exit(0)')\n", "exec"),
    ("getattr(__import__('os'), '_exit')(0)\n", "getattr"),
    ("import os\nos._exit(0)\n", "os._exit"),
    ("import subprocess\nsubprocess.Popen(['sleep', '100'])\n", "subprocess"),
    ("open('/tmp/x', 'w').write('hi')\n", "open"),
    ("!echo hi > /tmp/x\n", "get_ipython"),
    ("%env COURSE_QUICK=0\n", "get_ipython"),
    ("import importlib\nimportlib.reload\n", "importlib"),
    ("import inspect\ninspect.currentframe().f_back.f_globals\n", "inspect"),
    ("exit()\n", "exit"),
    ("print = lambda *a, **k: None\n", "print"),
    ("setup_value = 0\n", "setup_value"),
])
def test_reaching_for_the_grading_machinery_is_flagged_and_not_run(tmp_path, course, solved, attack, why):
    honest = learner(solved).cells[[i for i, c in enumerate(learner(solved).cells)
                                    if "exercise:fraction-zero" in c.metadata.get("tags", [])][0]].source
    report = grade(tmp_path, course, learner(solved, {"fraction-zero": attack + honest}))
    assert why in flagged(report, "fraction-zero")
    assert points(report)["huffman-code-lengths"] == 3 and points(report)["canonical-code"] == 2  # honest points kept


@pytest.mark.parametrize("answer, why", [
    ("from course_lib.huffman import canonical_code\n", "course_lib"),
    ("import course_lib.huffman as H\n\ndef canonical_code(lengths):\n    return H.canonical_code(lengths)\n", "course_lib"),
    ("canonical_code = lambda lengths: {}\n", "assigns canonical_code"),
])
def test_handing_in_the_librarys_function_is_flagged(tmp_path, course, solved, answer, why):
    report = grade(tmp_path, course, learner(solved, {"canonical-code": answer}))
    assert why in flagged(report, "canonical-code") or points(report)["canonical-code"] == 0


def test_a_copy_of_the_library_implementation_is_flagged():
    import inspect

    from course_lib import huffman

    source = inspect.getsource(huffman.canonical_code).replace("lengths", "my_lengths")
    flags = scan_cell(source, "canonical_code")
    assert any("copy of the library" in str(f) for f in flags), flags


# --------------------------------------------------------------------------- the structure is the course's


def _check_index(nb, gid):
    return [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == f"check-{gid}"][0]


@pytest.mark.parametrize("edit", ["delete", "strip", "ungrade", "raw", "rename", "duplicate", "move", "bonus"])
def test_edited_check_cells_change_neither_points_nor_maximum(tmp_path, course, solved, edit):
    wrong = "def canonical_code(lengths):\n    return {s: '0' for s in lengths}\n"
    nb = learner(solved, {"canonical-code": wrong})
    i = _check_index(nb, "canonical-code")
    cell = nb.cells[i]
    if edit == "delete":
        del nb.cells[i]
    elif edit == "strip":
        cell.metadata = {}
    elif edit == "ungrade":
        cell.metadata["nbgrader"]["grade"] = False
    elif edit == "raw":
        nb.cells[i] = nbformat.v4.new_raw_cell(cell.source)
    elif edit == "rename":
        cell.metadata["nbgrader"]["grade_id"] = "check-mine"
        cell.source = "print('PASS')"
    elif edit == "duplicate":
        nb.cells.append(nbformat.v4.new_code_cell("print('PASS')", metadata=copy.deepcopy(cell.metadata)))
    elif edit == "move":
        nb.cells.append(nb.cells.pop(i))
    elif edit == "bonus":
        nb.cells.append(nbformat.v4.new_code_cell("print('PASS')", metadata={"nbgrader": {
            "grade": True, "grade_id": "bonus", "points": 100, "solution": False, "locked": True, "schema_version": 3}}))
    report = grade(tmp_path, course, nb)
    assert report["max_points"] == MAX and [c["grade_id"] for c in report["checks"]] == list(FULL)
    assert points(report)["canonical-code"] == 0 and points(report)["fraction-zero"] == 1


def test_edits_outside_exercise_cells_are_ignored(tmp_path, course, solved):
    nb = learner(solved)
    for cell in nb.cells:
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader"):
            cell.source = "import course_lib.course.checks.huffman as h\nh.check_canonical_code = lambda f: None"
    report = grade(tmp_path, course, nb)
    assert report["points"] == MAX  # the course's cells ran, not these


def test_exercise_cells_are_found_wherever_they_sit_and_whatever_their_metadata(tmp_path, course, solved):
    nb = learner(solved)
    ex = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution")]
    moved = [nb.cells[i] for i in ex]
    for cell in moved:
        cell.metadata = {}
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in ex] + list(reversed(moved))
    assert grade(tmp_path, course, nb)["points"] == MAX


def test_a_missing_exercise_scores_zero_and_keeps_the_maximum(tmp_path, course, solved):
    nb = learner(solved)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "huffman-code-lengths"]
    report = grade(tmp_path, course, nb)
    assert points(report) == {**FULL, "huffman-code-lengths": 0} and report["max_points"] == MAX
    assert any("missing" in e for e in report["events"])


@pytest.mark.parametrize("name", ["90_grader_mini (1).ipynb", "90_grader_mini_jdoe.ipynb", "homework.ipynb"])
def test_renamed_submissions_are_graded_as_the_course_notebook(tmp_path, course, solved, name):
    nb = learner(solved)
    i = _check_index(nb, "canonical-code")
    nb.cells[i].source = "print('PASS')"  # an edited check: must be replaced by the course's
    nb.cells[i - 1].source = "def canonical_code(lengths):\n    return {}\n"
    report = grade(tmp_path, course, nb, name=name)
    assert report["course_notebook"] == MINI and points(report)["canonical-code"] == 0
    assert report["max_points"] == MAX


def test_bad_submissions_get_a_clear_error(tmp_path, course):
    (tmp_path / "90_broken.ipynb").write_text("{ not json")
    with pytest.raises(SubmissionError, match="not a readable Jupyter notebook"):
        grade_notebook(tmp_path / "90_broken.ipynb", course=course)
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def solve(x):\n    return x", metadata={
        "nbgrader": {"grade": False, "grade_id": "q1", "solution": True, "schema_version": 3}})])
    nbformat.write(other, tmp_path / "lab3.ipynb")
    with pytest.raises(SubmissionError, match="not a notebook of this course"):
        grade_notebook(tmp_path / "lab3.ipynb", course=course)
    nbformat.write(other, tmp_path / "90_lab3.ipynb")
    with pytest.raises(SubmissionError, match="another course"):
        grade_notebook(tmp_path / "90_lab3.ipynb", course=course)
    with pytest.raises(SubmissionError, match="No notebook"):
        grade_notebook(tmp_path / "nothing.ipynb", course=course)


# --------------------------------------------------------------------------- faults cost only their own points


HANG = "def fraction_zero(t):\n    while True:\n        pass\n"
DIE = "import os\n\ndef fraction_zero(t):\n    os._exit(0)\n"


def test_a_hanging_exercise_costs_only_its_own_points(tmp_path, course, solved):
    start = time.time()
    report = grade(tmp_path, course, learner(solved, {"fraction-zero": HANG}), timeout=5)
    assert points(report) == {**FULL, "fraction-zero": 0}
    assert "ran past" in next(c for c in report["checks"] if c["grade_id"] == "fraction-zero")["message"]
    assert time.time() - start < 60


def test_a_dead_kernel_costs_only_its_own_points(tmp_path, course, solved):
    report = grade(tmp_path, course, learner(solved, {"fraction-zero": DIE}), run_flagged=True)
    assert points(report) == {**FULL, "fraction-zero": 0}
    assert any("restarted" in e for e in report["events"]), report["events"]


@pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap is not installed (the fingerprint test covers this case)")
def test_the_sandbox_keeps_course_files_read_only_and_kills_what_the_kernel_started(tmp_path, course, solved):
    target = PACKAGE_DIR / "course" / "checks" / "welcome.py"
    before = target.read_bytes()
    attack = (f"import subprocess\nsubprocess.Popen(['sleep', '4242'], start_new_session=True)\n"
              f"try:\n    open({str(target)!r}, 'w').write('def check_fraction_zero(f): print(1)')\nexcept OSError as e:\n"
              f"    print('refused', e)\n\ndef fraction_zero(t):\n    return 0.0\n")
    report = grade(tmp_path, course, learner(solved, {"fraction-zero": attack}), run_flagged=True)
    assert target.read_bytes() == before
    assert report["sandbox"] == "bubblewrap" and points(report)["fraction-zero"] == 0
    import psutil

    assert not [p for p in psutil.process_iter(["cmdline"]) if (p.info["cmdline"] or [])[-1:] == ["4242"]]


def test_changed_course_files_stop_grading(tmp_path, course, solved, monkeypatch):
    prints = iter(["before", "after"])
    monkeypatch.setattr(runner_mod, "course_fingerprint", lambda: next(prints))
    with pytest.raises(runner_mod.CourseTampered, match="changed"):
        grade(tmp_path, course, learner(solved))


def test_the_fingerprint_sees_a_changed_file(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "checks.py").write_text("a = 1")
    first = course_fingerprint((tmp_path / "lib",))
    (tmp_path / "lib" / "checks.py").write_text("a = 2")
    assert course_fingerprint((tmp_path / "lib",)) != first


# --------------------------------------------------------------------------- a class at once


def test_a_class_is_graded_into_a_gradebook_with_faults_isolated(tmp_path, course_dir, solved, monkeypatch):
    from course_lib.course.grader import classroom

    monkeypatch.setattr(classroom, "load_course", lambda: load_course(course_dir))
    root = tmp_path / "submitted"
    subs = {"ada": learner(solved), "bob": learner(solved, solve=False), "cy": learner(solved, {"fraction-zero": HANG})}
    for student, nb in subs.items():
        (root / student / "mini").mkdir(parents=True)
        nbformat.write(nb, root / student / "mini" / MINI)
    (root / "dan" / "mini").mkdir(parents=True)
    (root / "dan" / "mini" / MINI).write_text("garbage")
    out = tmp_path / "grades"
    reports = grade_class(tmp_path, out, jobs=2, timeout=5, progress=False)
    by_student = {r["student"]: r for r in reports}
    assert by_student["ada"]["points"] == MAX and by_student["bob"]["points"] == 0
    assert by_student["cy"]["points"] == MAX - 1 and "not a readable" in by_student["dan"]["error"]
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert {r["student"] for r in rows} == {"ada", "bob", "cy", "dan"}
    assert [json.loads(l)["student"] for l in (out / "grades.jsonl").read_text().splitlines()].count("ada") == 1
    summary = class_summary(reports)
    assert summary["canonical-code"]["graded"] == 3 and summary["canonical-code"]["full_marks"] == pytest.approx(0.67)


def test_find_submissions_layouts_and_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No notebooks"):
        find_submissions(tmp_path)
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "07_huffman_coding_jdoe.ipynb").write_text("{}")
    assert find_submissions(tmp_path / "flat")[0].student == "07_huffman_coding_jdoe"
    with pytest.raises(FileNotFoundError):
        find_submissions(tmp_path / "nope")


def test_without_bubblewrap_the_kernel_still_leaves_nothing_running(tmp_path, course, solved):
    attack = ("import subprocess\nsubprocess.Popen(['sleep', '4243'], start_new_session=True)\n\n"
              "def fraction_zero(t):\n    return (t == 0).sum().item() / t.numel()\n")
    report = grade(tmp_path, course, learner(solved, {"fraction-zero": attack}), run_flagged=True, use_bwrap=False)
    assert report["sandbox"].startswith("plain process")
    assert points(report) == {**FULL, "fraction-zero": 0}  # flagged: it ran, but scores 0 until reviewed
    import psutil

    assert not [p for p in psutil.process_iter(["cmdline"]) if (p.info["cmdline"] or [])[-1:] == ["4243"]]


def test_the_command_line_keeps_every_report_when_one_notebook_is_bad(tmp_path, capsys):
    from course_lib.course.grader.cli import main

    good = tmp_path / "00_welcome.ipynb"
    nbformat.write(nbformat.read(REPO_ROOT / "notebooks" / "00_welcome.ipynb", as_version=4), good)
    bad = tmp_path / "00_welcome_broken.ipynb"
    bad.write_text("not a notebook")
    out = tmp_path / "grades.json"
    assert main([str(bad), str(good), "--json", str(out)]) == 2
    payload = json.loads(out.read_text())["notebooks"]
    assert [Path(r["notebook"]).name for r in payload] == [bad.name, good.name]
    assert "not a readable" in payload[0]["error"] and payload[1]["max_points"] == 1
    assert "not a readable" in capsys.readouterr().err


def test_the_sandbox_binds_back_a_checkout_that_lives_under_its_private_tmp():
    """bwrap replaces /tmp; a course or venv under it (CI clones often are) must stay visible."""
    from course_lib.course.grader.sandbox import _paths_under

    bound = _paths_under(str(REPO_ROOT.parent))
    assert any(REPO_ROOT.resolve().is_relative_to(p) for p in map(Path, bound)), bound
    assert all(not Path(a).is_relative_to(b) for a in bound for b in bound if a != b)  # no redundant binds
