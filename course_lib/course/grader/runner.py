"""Grade one submission: the course's notebook, the learner's exercise cells, the course's checks.

:func:`grade_notebook` builds the notebook it runs from the course, not from the
submission: every cell is the course's learner copy, except that each exercise cell is
replaced by the learner's answer to it (found by :func:`course_index.learner_cells`). The
checks, their points and the maximum are the course's; a missing exercise scores 0 and
leaves the maximum as it is.

A check's verdict travels on a channel the learner's code cannot forge by printing: the
grader runs ``begin_check()`` before the check cell and prints a random nonce with
:func:`course_lib.course.checks.core.verdict` after it, in cells of its own whose source the
learner's code never sees. Points are awarded only when the check cell's execute reply
says ``ok``, the nonce line comes back, and the check reported a pass (or partial credit).

Faults cost only their own points: a cell past its deadline is interrupted, a dead kernel
is restarted and the course's setup cells replayed, and grading goes on with the next
exercise. Every report lists what happened.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ...paths import REPO_ROOT
from .course_index import CourseNotebook, SubmissionError, learner_cells, load_course, match_submission, read_submission
from .sandbox import Kernel, course_fingerprint
from .scan import scan_cell

BEGIN_CELL = "import course_lib.course.checks.core as _course_grader_core\n_course_grader_core.begin_check()\n"
VERDICT_CELL = "import course_lib.course.checks.core as _course_grader_core\nprint({nonce!r}, _course_grader_core.verdict())\n"


class CourseTampered(RuntimeError):
    """The course's files changed while a submission ran: grades after this point cannot be trusted."""


@dataclass
class CheckResult:
    grade_id: str
    max_points: float
    points: float
    passed: bool
    message: str
    flags: list[str] = field(default_factory=list)
    found: str = ""  # where the learner's cell was found


def _first_line(text: str | None, limit: int = 300) -> str:
    return (text or "").strip().splitlines()[0][:limit] if (text or "").strip() else ""


def _verdict(nonce: str, text: str) -> tuple[int, float | None] | None:
    for line in text.splitlines():
        if line.startswith(nonce + " "):
            passes, fraction = line[len(nonce) + 1:].split()
            return int(passes), None if fraction == "none" else float(fraction)
    return None


def _stub(course: CourseNotebook, gid: str) -> str:
    return course.learner.cells[next(e.cell for e in course.exercises if e.grade_id == gid)].source


def grade_notebook(path: str | Path, timeout: float = 600, solutions_dir: Path | None = None,
                   course: dict[str, CourseNotebook] | None = None, run_flagged: bool = False,
                   use_bwrap: bool | None = None, check_fingerprint: bool = True) -> dict:
    """Grade the submission at ``path``; returns its report (``points``, ``max_points``, ``checks``, ...).

    Raises :class:`SubmissionError` for a file that is not a notebook of this course, and
    :class:`CourseTampered` when the course's files changed while it ran.
    """
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"No notebook at {path}.")
    course = course or load_course(solutions_dir or REPO_ROOT / "solutions")
    nb = read_submission(path)
    target = match_submission(path, nb, course)
    answers = learner_cells(nb, target)
    started = time.time()
    events: list[str] = []
    flags: dict[str, list[str]] = {}
    for ex in target.exercises:
        cell = answers[ex.grade_id]
        if cell.source is not None:
            found = scan_cell(cell.source, ex.function, ex.allow, ex.protected)
            if found:
                flags[ex.grade_id] = [str(f) for f in found]
    results: dict[str, CheckResult] = {}
    before = course_fingerprint() if check_fingerprint else None
    by_cell = {ex.cell: ex for ex in target.exercises}
    by_check = {ex.check: ex for ex in target.exercises}
    setup: list[str] = []  # the course's own cells so far, replayed after a restart
    with Kernel(use_bwrap=use_bwrap) as kernel:
        sandbox = "bubblewrap" if kernel.bwrap else "plain process + course fingerprint"
        restarts_seen = 0

        def replay() -> None:
            nonlocal restarts_seen
            restarts_seen = kernel.restarts
            events.append(f"kernel restarted: replaying {len(setup)} course cells")
            for code in setup:
                kernel.run(code, timeout)

        for i, cell in enumerate(target.learner.cells):
            if cell.cell_type != "code":
                continue
            if i in by_cell:
                ex = by_cell[i]
                answer = answers[ex.grade_id]
                if answer.source is None:
                    events.append(f"{ex.grade_id}: missing ({answer.where})")
                    code = _stub(target, ex.grade_id)
                elif ex.grade_id in flags and not run_flagged:
                    events.append(f"{ex.grade_id}: flagged, not run")
                    code = _stub(target, ex.grade_id)
                else:
                    code = answer.source
                run = kernel.run(code, timeout)
                if run.status in ("timeout", "died"):
                    events.append(f"{ex.grade_id}: exercise cell {run.status}: {run.error}")
                    replay()
                continue
            if i in by_check:
                ex = by_check[i]
                results[ex.grade_id] = _run_check(kernel, ex, cell.source, timeout, answers[ex.grade_id].where,
                                                  flags.get(ex.grade_id, []), events, run_flagged)
                if kernel.restarts != restarts_seen:
                    replay()
                continue
            run = kernel.run(cell.source, timeout)
            setup.append(cell.source)
            if run.status in ("timeout", "died"):
                events.append(f"course cell {i}: {run.status}: {run.error}")
                replay()
    if check_fingerprint and course_fingerprint() != before:
        raise CourseTampered(f"the course's files changed while {path.name} ran ({sandbox}): restore them "
                             "(git checkout -- course_lib solutions) and grade again; review this submission.")
    checks = [results[ex.grade_id] for ex in target.exercises]
    return {
        "notebook": str(path),
        "course_notebook": target.name,
        "points": round(sum(c.points for c in checks), 2),
        "max_points": float(target.max_points),
        "checks": [asdict(c) for c in checks],
        "flagged": sorted(g for g in flags),
        "events": events,
        "sandbox": sandbox,
        "seconds": round(time.time() - started, 1),
    }


def _run_check(kernel: Kernel, ex, source: str, timeout: float, found: str, flags: list[str],
               events: list[str], run_flagged: bool = False) -> CheckResult:
    nonce = uuid.uuid4().hex
    kernel.run(BEGIN_CELL, 60)
    run = kernel.run(source, timeout)
    if run.status in ("timeout", "died"):
        events.append(f"{ex.grade_id}: check {run.status}: {run.error}")
        return CheckResult(ex.grade_id, ex.points, 0.0, False, run.error or run.status, flags, found)
    after = kernel.run(VERDICT_CELL.format(nonce=nonce), 60)
    verdict = _verdict(nonce, after.text) if after.status == "ok" else None
    if flags:
        if run_flagged:
            would = "passed" if run.status == "ok" and verdict and verdict[0] >= 1 else "failed"
            message = f"flagged for review (run anyway: the check {would}; 0 points until reviewed): " + "; ".join(flags)
        else:
            message = "flagged for review, not run (0 points until reviewed): " + "; ".join(flags)
        return CheckResult(ex.grade_id, ex.points, 0.0, False, message, flags, found)
    if run.status != "ok":
        return CheckResult(ex.grade_id, ex.points, 0.0, False, _first_line(run.error) or "the check failed", flags, found)
    if verdict is None:
        events.append(f"{ex.grade_id}: the grader's verdict line did not come back")
        return CheckResult(ex.grade_id, ex.points, 0.0, False, "no verdict from the check (the kernel's output was tampered with?)",
                           ["no verdict from the check"], found)
    passes, fraction = verdict
    if passes < 1:
        return CheckResult(ex.grade_id, ex.points, 0.0, False, "the check did not report a result", flags, found)
    fraction = 1.0 if fraction is None else min(1.0, max(0.0, fraction))
    points = round(ex.points * fraction, 2)
    message = "passed" if fraction == 1.0 else f"partial credit {fraction:.2f}"
    return CheckResult(ex.grade_id, ex.points, points, fraction == 1.0, message, flags, found)


def format_report(report: dict) -> str:
    """The report as a few lines of text for the terminal."""
    lines = [f"Grades for {report['notebook']} (course notebook {report['course_notebook']}; sandbox: {report['sandbox']})"]
    width = max([len(c["grade_id"]) for c in report["checks"]] + [5])
    for c in report["checks"]:
        mark = "FLAG" if c["flags"] else "PASS" if c["passed"] else ("PART" if c["points"] > 0 else "FAIL")
        lines.append(f"  {c['grade_id']:<{width}}  {c['points']:>5g} / {c['max_points']:<4g} {mark}  {c['message'][:160]}")
    lines.append(f"  {'total':<{width}}  {report['points']:>5g} / {report['max_points']:g}")
    for e in report["events"]:
        lines.append(f"  note: {e}")
    return "\n".join(lines)


__all__ = ["grade_notebook", "format_report", "CheckResult", "CourseTampered", "SubmissionError"]
