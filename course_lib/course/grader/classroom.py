"""Grade a class: every submission in a folder, several at once, into a gradebook.

:func:`find_submissions` takes a folder of notebooks, or nbgrader's
``submitted/<student>/<assignment>/*.ipynb`` layout, or one folder per student.
:func:`grade_class` grades them ``jobs`` at a time with a progress bar and appends each
report to ``grades.jsonl`` as soon as it is done (a crash loses nothing already graded);
then it writes ``gradebook.csv`` (student, notebook, points per exercise, total, flags)
and ``grades.json``, and :func:`class_summary` says where the class struggled.
"""

from __future__ import annotations

import csv
import json
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .course_index import SubmissionError, load_course
from .runner import CourseTampered, grade_notebook


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path


def find_submissions(root: Path) -> list[Submission]:
    """Every notebook under ``root`` with the student it belongs to (checkpoints skipped)."""
    root = Path(root)
    if root.is_file():
        return [Submission(root.stem, root)]
    if not root.is_dir():
        raise FileNotFoundError(f"No folder or notebook at {root}.")
    found = []
    for path in sorted(root.rglob("*.ipynb")):
        rel = path.relative_to(root)
        if ".ipynb_checkpoints" in rel.parts:
            continue
        parts = rel.parts
        if "submitted" in parts and parts.index("submitted") + 1 < len(parts) - 1:
            student = parts[parts.index("submitted") + 1]  # nbgrader: submitted/<student>/<assignment>/<nb>
        elif len(parts) > 1:
            student = parts[0]  # one folder per student
        else:
            student = path.stem  # a flat folder: the file name says whose it is
        found.append(Submission(student, path))
    if not found:
        raise FileNotFoundError(f"No notebooks (*.ipynb) under {root}.")
    return found


def _error_report(sub: Submission, message: str) -> dict:
    return {"notebook": str(sub.path), "student": sub.student, "course_notebook": None, "points": 0.0,
            "max_points": 0.0, "checks": [], "flagged": [], "events": [], "error": message}


def grade_class(root: Path, out_dir: Path, jobs: int = 1, timeout: float = 600, run_flagged: bool = False,
                progress: bool = True, use_bwrap: bool | None = None) -> list[dict]:
    """Grade every submission under ``root`` into ``out_dir``; returns the reports."""
    from tqdm.auto import tqdm

    subs = find_submissions(root)
    course = load_course()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir / "grades.jsonl"
    log.write_text("")
    lock = threading.Lock()
    reports: list[dict] = []
    stop = threading.Event()

    def one(sub: Submission) -> dict:
        if stop.is_set():
            return _error_report(sub, "not graded: grading stopped because the course's files were changed")
        try:
            report = grade_notebook(sub.path, timeout=timeout, course=course, run_flagged=run_flagged,
                                    use_bwrap=use_bwrap)
        except SubmissionError as exc:
            report = _error_report(sub, str(exc))
        except CourseTampered as exc:
            stop.set()
            report = _error_report(sub, f"COURSE FILES CHANGED: {exc}")
        except Exception as exc:  # a grader fault must not lose the rest of the class
            report = _error_report(sub, f"grader error: {type(exc).__name__}: {exc}")
        report["student"] = sub.student
        with lock:
            with log.open("a", encoding="utf-8") as f:
                f.write(json.dumps(report) + "\n")
        return report

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(one, s) for s in subs]
        for fut in tqdm(as_completed(futures), total=len(futures), desc="grading", disable=not progress):
            reports.append(fut.result())
    order = {str(s.path): i for i, s in enumerate(subs)}
    reports.sort(key=lambda r: order[r["notebook"]])
    write_gradebook(reports, out_dir / "gradebook.csv")
    (out_dir / "grades.json").write_text(json.dumps({"reports": reports, "summary": class_summary(reports)}, indent=1) + "\n")
    return reports


def write_gradebook(reports: list[dict], path: Path) -> None:
    """One row per submission: student, notebook, points per exercise, total, maximum, flags, errors."""
    exercises: list[str] = []
    for r in reports:
        for c in r["checks"]:
            if c["grade_id"] not in exercises:
                exercises.append(c["grade_id"])
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "notebook", "course_notebook", *exercises, "total", "max", "flags", "error"])
        for r in reports:
            points = {c["grade_id"]: c["points"] for c in r["checks"]}
            flags = "; ".join(f"{c['grade_id']}: {f}" for c in r["checks"] for f in c["flags"])
            writer.writerow([r["student"], Path(r["notebook"]).name, r.get("course_notebook") or "",
                             *[points.get(e, "") for e in exercises], r["points"], r["max_points"], flags,
                             r.get("error", "")])


def class_summary(reports: list[dict]) -> dict[str, dict]:
    """Per exercise: how many were graded, the mean points, the share with full marks, the share flagged."""
    by_exercise: dict[str, list[dict]] = {}
    for r in reports:
        for c in r["checks"]:
            by_exercise.setdefault(c["grade_id"], []).append(c)
    summary = {}
    for gid, checks in by_exercise.items():
        n = len(checks)
        summary[gid] = {
            "graded": n, "max_points": checks[0]["max_points"],
            "mean_points": round(sum(c["points"] for c in checks) / n, 2),
            "full_marks": round(sum(c["points"] == c["max_points"] for c in checks) / n, 2),
            "flagged": round(sum(bool(c["flags"]) for c in checks) / n, 2),
        }
    return summary


def format_summary(summary: dict[str, dict], reports: list[dict]) -> str:
    lines = [f"{len(reports)} submission(s); {sum(1 for r in reports if r.get('error'))} not graded",
             f"  {'exercise':<28}{'graded':>7}{'mean':>8}{'max':>6}{'full':>7}{'flagged':>9}"]
    for gid, s in summary.items():
        lines.append(f"  {gid:<28}{s['graded']:>7}{s['mean_points']:>8.2f}{s['max_points']:>6g}"
                     f"{100 * s['full_marks']:>6.0f}%{100 * s['flagged']:>8.0f}%")
    for r in reports:
        if r.get("error"):
            lines.append(f"  not graded: {r['student']} {Path(r['notebook']).name}: {r['error'][:160]}")
    return "\n".join(lines)
