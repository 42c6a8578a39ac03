"""Project command: how long the grader takes for a class (``make bench-grading``; prints only).

    python -m course_lib.commands.grading_benchmark [--students 30] [--jobs 2] [--timeout 30]

Builds a class of submissions of notebook 07 (Huffman coding) in a temporary folder, in
nbgrader's ``submitted/<student>/<assignment>/`` layout: most solved, a few unsolved, one
whose exercise hangs and one whose exercise kills its kernel. Grades them with
``course-grade -j``, under the quick budget (``COURSE_QUICK=1``) like the tests, and prints
the wall time, the time per notebook and the gradebook's totals. A figure to read, not a
test: the machine's load changes it.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

import nbformat

from ..course.exercises import EXERCISE_TAG, learner_notebook
from ..course.grader.classroom import class_summary, format_summary, grade_class
from ..paths import REPO_ROOT

NOTEBOOK = "07_huffman_coding.ipynb"
HANG = "def huffman_code_lengths(frequencies):\n    while True:\n        pass\n"
KILL = "import os\n\ndef huffman_code_lengths(frequencies):\n    os.kill(os.getpid(), 9)\n"


def build_class(root: Path, students: int) -> dict[str, str]:
    """Write ``students`` submissions under ``root/submitted``; returns ``{student: kind}``."""
    solved = nbformat.read(REPO_ROOT / "solutions" / NOTEBOOK, as_version=4)
    kinds = {}
    for n in range(students):
        student = f"student{n:02d}"
        kind = "hangs" if n == 1 else "kills its kernel" if n == 2 else "unsolved" if n % 7 == 3 else "solved"
        nb = learner_notebook(solved, NOTEBOOK)
        for i, cell in enumerate(nb.cells):
            if any(EXERCISE_TAG.match(t) for t in cell.metadata.get("tags", [])) and kind != "unsolved":
                cell.source = re.sub(r"^\s*### (BEGIN|END) SOLUTION\n?", "", solved.cells[i].source, flags=re.M)
                if "huffman-code-lengths" in cell.metadata["nbgrader"]["grade_id"]:
                    cell.source = {"hangs": HANG, "kills its kernel": KILL}.get(kind, cell.source)
        folder = root / "submitted" / student / NOTEBOOK.removesuffix(".ipynb")
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOK)
        kinds[student] = kind
    return kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=30, help="seconds per cell (default 30)")
    args = parser.parse_args(argv)
    os.environ["COURSE_QUICK"] = "1"
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        root = Path(tmp)
        kinds = build_class(root, args.students)
        start = time.time()
        reports = grade_class(root / "submitted", root / "grades", jobs=args.jobs, timeout=args.timeout,
                              run_flagged=True)
        seconds = time.time() - start
    print(format_summary(class_summary(reports), reports))
    for r in reports:
        if kinds[r["student"]] in ("hangs", "kills its kernel"):
            print(f"  {r['student']} ({kinds[r['student']]}): {r['points']:g} / {r['max_points']:g}; "
                  + "; ".join(r["events"])[:200])
    print(f"{len(reports)} notebooks of {NOTEBOOK}, -j {args.jobs}, {os.cpu_count()} CPU cores: {seconds:.0f} s "
          f"({seconds / len(reports):.1f} s per notebook; sandbox: {reports[0].get('sandbox')})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
