"""``course-grade``: grade one notebook, several, or a class's folder of submissions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .classroom import class_summary, format_summary, grade_class
from .course_index import SubmissionError
from .runner import CourseTampered, format_report, grade_notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course-grade", description=__doc__)
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks, or folders of submissions")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="notebooks graded at once (default 1)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per cell (default 600)")
    parser.add_argument("--json", type=Path, help="one notebook: write its report to this JSON file")
    parser.add_argument("--out", type=Path, help="a folder: write grades.jsonl, grades.json and gradebook.csv here")
    parser.add_argument("--run-flagged", action="store_true",
                        help="run flagged exercise cells anyway, to review them (they still score 0)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    folders = [p for p in args.paths if p.is_dir()]
    try:
        if folders or args.out:
            if len(args.paths) != 1:
                parser.error("give one folder of submissions (or notebooks without --out)")
            out = args.out or Path("grades")
            reports = grade_class(args.paths[0], out, jobs=args.jobs, timeout=args.timeout,
                                  run_flagged=args.run_flagged, progress=not args.no_progress)
            print(format_summary(class_summary(reports), reports))
            print(f"wrote {out / 'gradebook.csv'} and {out / 'grades.json'}")
            return 0
    except (SubmissionError, FileNotFoundError, CourseTampered) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    reports, status = [], 0
    for path in args.paths:  # one bad notebook costs only its own report
        try:
            report = grade_notebook(path, timeout=args.timeout, run_flagged=args.run_flagged)
            print(format_report(report))
        except (SubmissionError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            report, status = {"notebook": str(path), "points": 0.0, "max_points": 0.0, "checks": [],
                              "error": str(exc)}, 2
        except CourseTampered as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        reports.append(report)
    if args.json:
        payload = reports[0] if len(reports) == 1 else {"notebooks": reports}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return status


__all__ = ["main"]
