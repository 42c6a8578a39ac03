"""Grade a learner's notebook: run it in a fresh kernel and score its checks.

    python -m course_lib.course.grader notebooks/02_magnitude_pruning.ipynb --json grades.json

- The notebook runs top to bottom in a new kernel (``nbclient``) with a per-cell
  timeout; a failing cell does not stop the run.
- Before running, every check cell (nbgrader ``grade: true``) is restored from the
  generated learner copy of the same notebook, so an edited check cannot award points.
- A check earns its points when its cell runs without error. A check may award
  partial credit by printing a line ``PARTIAL: 0.75`` (a fraction of its points).
- Prints points per exercise and in total, and writes them as JSON for a gradebook.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from .exercises import learner_notebook
from ..paths import REPO_ROOT

PARTIAL = re.compile(r"^PARTIAL:\s*([0-9]*\.?[0-9]+)\s*$", re.M)


@dataclass
class CheckResult:
    grade_id: str
    max_points: float
    points: float
    passed: bool
    message: str


def _check_cells(nb) -> dict[str, tuple[int, dict]]:
    found = {}
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            found[meta["grade_id"]] = (i, meta)
    return found


def restore_checks(nb, reference) -> int:
    """Overwrite check cells in ``nb`` with the reference's, by ``grade_id``; returns how many."""
    ref = _check_cells(reference)
    restored = 0
    for gid, (i, _) in _check_cells(nb).items():
        if gid in ref:
            j, meta = ref[gid]
            nb.cells[i].source = reference.cells[j].source
            nb.cells[i].metadata["nbgrader"] = dict(meta)
            restored += 1
    return restored


def _reference_for(path: Path, solutions_dir: Path):
    src = solutions_dir / path.name
    if not src.is_file():
        return None
    return learner_notebook(nbformat.read(src, as_version=4), src.name)


def _cell_text(cell) -> tuple[str, str | None]:
    """(all stream/text output, error line or None) of an executed cell."""
    text, error = [], None
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            text.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            text.append(out.get("data", {}).get("text/plain", ""))
        elif out.get("output_type") == "error":
            error = f"{out.get('ename')}: {out.get('evalue')}"
    return "".join(text), error


def grade_notebook(path: str | Path, timeout: int = 600, solutions_dir: Path | None = None,
                   restore: bool = True, kernel_name: str = "python3") -> dict:
    """Run ``path`` and return ``{"notebook", "points", "max_points", "checks": [...]}``."""
    from nbclient import NotebookClient

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No notebook at {path}.")
    nb = nbformat.read(path, as_version=4)
    if restore:
        reference = _reference_for(path, solutions_dir or REPO_ROOT / "solutions")
        if reference is not None:
            restore_checks(nb, reference)
    checks = _check_cells(nb)
    if not checks:
        raise ValueError(f"{path} has no graded check cells (nbgrader metadata 'grade': true). Is it a course notebook?")
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, allow_errors=True,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    client.execute()
    results = []
    for gid, (i, meta) in checks.items():
        text, error = _cell_text(nb.cells[i])
        max_points = float(meta.get("points", 0))
        if error:
            results.append(CheckResult(gid, max_points, 0.0, False, error.splitlines()[0][:300]))
            continue
        fractions = PARTIAL.findall(text)
        fraction = min(1.0, max(0.0, float(fractions[-1]))) if fractions else 1.0
        results.append(CheckResult(gid, max_points, round(max_points * fraction, 2), fraction == 1.0,
                                   "passed" if fraction == 1.0 else f"partial credit {fraction:.2f}"))
    return {
        "notebook": str(path),
        "points": round(sum(r.points for r in results), 2),
        "max_points": sum(r.max_points for r in results),
        "checks": [asdict(r) for r in results],
    }


def format_report(report: dict) -> str:
    lines = [f"Grades for {report['notebook']}"]
    width = max(len(c["grade_id"]) for c in report["checks"])
    for c in report["checks"]:
        mark = "PASS" if c["passed"] else ("PART" if c["points"] > 0 else "FAIL")
        lines.append(f"  {c['grade_id']:<{width}}  {c['points']:>5g} / {c['max_points']:<4g} {mark}  {c['message']}")
    lines.append(f"  {'total':<{width}}  {report['points']:>5g} / {report['max_points']:g}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    parser.add_argument("--json", type=Path, help="write the grades to this JSON file")
    parser.add_argument("--no-restore", action="store_true", help="keep the notebook's own check cells")
    args = parser.parse_args(argv)
    reports = []
    for nb_path in args.notebooks:
        try:
            report = grade_notebook(nb_path, timeout=args.timeout, restore=not args.no_restore)
        except (FileNotFoundError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(format_report(report))
        reports.append(report)
    if args.json:
        payload = reports[0] if len(reports) == 1 else {"notebooks": reports}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
