"""Learner notebooks are generated from the solved notebooks (single source).

``solutions/NN_*.ipynb`` is the only place an exercise is written. Its cells follow
three conventions, the first one nbgrader's:

1. **Solution code** sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
   in a code cell tagged ``exercise:<id>``.
2. **The check** of that exercise is a code cell tagged ``check:<id>:<points>``.
3. Right after the check, the notebook carries on with ``course_lib``'s own
   implementation (``from course_lib.pruning import magnitude_prune``), so an
   unsolved exercise breaks nothing downstream.

``python -m course_lib.course.exercises`` writes ``notebooks/`` from ``solutions/``:

- each solution block becomes ``raise NotImplementedError("Exercise <id> ...")``;
- outputs and execution counts are cleared;
- exercise and check cells get nbgrader metadata (``grade_id``, ``points``), so an
  instructor can hand the notebooks to nbgrader as they are; both get the nbval
  tag ``raises-exception``, as they are the only cells allowed to fail.

``python -m course_lib.course.exercises --check`` writes nothing and exits 1 when
``notebooks/`` differs from what would be generated (the test suite runs it).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..paths import REPO_ROOT

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
EXERCISE_TAG = re.compile(r"^exercise:([a-z0-9][a-z0-9-]*)$")
CHECK_TAG = re.compile(r"^check:([a-z0-9][a-z0-9-]*):(\d+)$")
NBVAL_RAISES = "raises-exception"


class ExerciseFormatError(ValueError):
    """A solution notebook breaks one of the conventions above."""


@dataclass
class Exercise:
    grade_id: str
    points: int
    notebook: str


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def cell_roles(cell) -> tuple[list[str], list[tuple[str, int]]]:
    """``(exercise ids, [(check id, points)])`` a cell's tags give it (both empty for a plain cell)."""
    tags = _tags(cell)
    ex_ids = [m.group(1) for t in tags if (m := EXERCISE_TAG.match(t))]
    checks = [(m.group(1), int(m.group(2))) for t in tags if (m := CHECK_TAG.match(t))]
    return ex_ids, checks


def clear_outputs(cell) -> None:
    """Drop a code cell's outputs and execution count (a no-op for other cells)."""
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None


def stub_source(source: str, grade_id: str, where: str = "") -> str:
    """Replace each BEGIN/END SOLUTION block with a stub that raises ``NotImplementedError``."""
    out: list[str] = []
    inside = False
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside:
                raise ExerciseFormatError(f"{where}: nested '{BEGIN}' in exercise {grade_id!r}.")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# YOUR CODE HERE: replace the next line, run this cell, then the check")
            out.append(f'{indent}raise NotImplementedError("{grade_id}: not solved yet")')
        elif stripped.startswith(END):
            if not inside:
                raise ExerciseFormatError(f"{where}: '{END}' without '{BEGIN}' in exercise {grade_id!r}.")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ExerciseFormatError(f"{where}: '{BEGIN}' is never closed in exercise {grade_id!r}.")
    return "\n".join(out)


def _nbgrader(grade_id: str, *, solution: bool, points: int | None = None) -> dict:
    meta = {
        "grade": points is not None,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return meta


def exercises_in(nb, name: str = "") -> list[Exercise]:
    """The exercises of a solution notebook, validated: each has markers and one check."""
    exercises: dict[str, Exercise] = {}
    checks: dict[str, int] = {}
    order: list[str] = []
    for i, cell in enumerate(nb.cells):
        where = f"{name} cell {i}"
        has_marker = BEGIN in cell.source
        ex_ids, ck = cell_roles(cell)
        if has_marker and not ex_ids:
            raise ExerciseFormatError(f"{where}: has '{BEGIN}' but no 'exercise:<id>' tag.")
        if ex_ids and not has_marker:
            raise ExerciseFormatError(f"{where}: tagged {ex_ids[0]!r} but has no '{BEGIN}' block.")
        if cell.cell_type != "code" and (ex_ids or ck):
            raise ExerciseFormatError(f"{where}: exercise and check cells must be code cells.")
        for gid in ex_ids:
            if gid in exercises:
                raise ExerciseFormatError(f"{where}: exercise id {gid!r} is used twice.")
            exercises[gid] = Exercise(gid, 0, name)
            order.append(gid)
        for gid, pts in ck:
            if gid not in exercises:
                raise ExerciseFormatError(f"{where}: check for {gid!r} comes before (or without) its exercise.")
            if gid in checks:
                raise ExerciseFormatError(f"{where}: exercise {gid!r} has two checks.")
            checks[gid] = pts
    for gid in order:
        if gid not in checks:
            raise ExerciseFormatError(f"{name}: exercise {gid!r} has no check cell (tag 'check:{gid}:<points>').")
        exercises[gid].points = checks[gid]
    return [exercises[g] for g in order]


KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# What ipykernel reports for the course's Python (3.11, as pinned in environment.yml): with all of
# it saved, JupyterLab does not mark a freshly opened notebook as modified.
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py", "mimetype": "text/x-python",
    "name": "python", "nbconvert_exporter": "python", "pygments_lexer": "ipython3", "version": "3.11.7",
}


def tidy(nb):
    """Drop authoring leftovers (jupytext metadata) and set the python3 kernel; returns ``nb``."""
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    for cell in nb.cells:
        cell.metadata.pop("lines_to_next_cell", None)
        cell.metadata.pop("execution", None)
    return nb


def learner_notebook(nb, name: str = ""):
    """The learner's copy of a solution notebook (a new object; ``nb`` is untouched)."""
    exercises_in(nb, name)  # validate first
    out = tidy(copy.deepcopy(nb))
    for i, cell in enumerate(out.cells):
        tags = _tags(cell)
        ex_ids, ck = cell_roles(cell)
        clear_outputs(cell)
        if ex_ids:
            cell.source = stub_source(cell.source, ex_ids[0], f"{name} cell {i}")
            cell.metadata["nbgrader"] = _nbgrader(ex_ids[0], solution=True)
        if ck:
            gid, pts = ck[0]
            cell.metadata["nbgrader"] = _nbgrader(f"check-{gid}", solution=False, points=pts)
        if (ex_ids or ck) and NBVAL_RAISES not in tags:
            cell.metadata["tags"] = tags + [NBVAL_RAISES]
    out.metadata.pop("widgets", None)
    return out


def _dump(nb) -> str:
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def generate(solutions_dir: Path, notebooks_dir: Path, check: bool = False) -> list[str]:
    """Write (or, with ``check``, compare) every learner notebook; returns the problems found."""
    problems: list[str] = []
    expected: dict[str, str] = {}
    for src in sorted(solutions_dir.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        expected[src.name] = _dump(learner_notebook(nb, src.name))
    for name, text in expected.items():
        dest = notebooks_dir / name
        current = dest.read_text(encoding="utf-8") if dest.exists() else None
        if current == text:
            continue
        if check:
            problems.append(f"notebooks/{name} is {'missing' if current is None else 'stale'}")
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8")
    for extra in sorted(notebooks_dir.glob("*.ipynb")):
        if extra.name not in expected:
            problems.append(f"notebooks/{extra.name} has no source in solutions/")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate notebooks/ from solutions/.")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if notebooks/ is stale")
    parser.add_argument("--tidy", action="store_true", help="also tidy the metadata of solutions/ in place")
    parser.add_argument("--solutions", type=Path, default=REPO_ROOT / "solutions")
    parser.add_argument("--notebooks", type=Path, default=REPO_ROOT / "notebooks")
    args = parser.parse_args(argv)
    if args.tidy:
        for src in sorted(args.solutions.glob("[0-9][0-9]_*.ipynb")):
            nbformat.write(tidy(nbformat.read(src, as_version=4)), src)
    try:
        problems = generate(args.solutions, args.notebooks, check=args.check)
    except ExerciseFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for p in problems:
        print(p, file=sys.stderr)
    if problems and args.check:
        print("Run `make notebooks` (python -m course_lib.course.exercises) to regenerate them.", file=sys.stderr)
        return 1
    if not args.check:
        print(f"notebooks/ written from {args.solutions}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
