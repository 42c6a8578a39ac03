"""An nbgrader course folder from the solved notebooks, for instructors who grade with nbgrader.

    python -m course_lib.course.nbgrader_export --out COURSE_DIR [--notebooks 00 06]

writes ``COURSE_DIR/source/<assignment>/<assignment>.ipynb`` and a minimal
``COURSE_DIR/nbgrader_config.py``; then, in ``COURSE_DIR``, ``nbgrader generate_assignment
<assignment>`` releases it and ``nbgrader autograde <assignment>`` grades the submissions.

- **One assignment per chapter**: every chapter is one notebook, so the assignment and its
  only notebook share the notebook's name, e.g. assignment ``07_huffman_coding`` holds
  ``07_huffman_coding.ipynb``.
- The source carries the solutions (the ``### BEGIN SOLUTION`` blocks, which are also
  nbgrader's markers) and nbgrader's cell metadata (schema version
  :data:`SCHEMA_VERSION`): an exercise cell (tag ``exercise:<id>``) is an "autograded
  answer" (``solution: true, grade: false``, grade_id ``<id>``); its check (tag
  ``check:<id>:<points>``) is an "autograder test" (``grade: true, locked: true,
  points``, grade_id ``check-<id>``, as in the learner copies of ``notebooks/``); every other
  cell is read-only (``locked: true``), so ``nbgrader autograde`` restores it as released.
- **Partial credit**: nbgrader scores an autograder test by its output: an error, or any
  text on stderr, gives 0 points; a number as the cell's value (an ``execute_result``)
  gives that many points (``nbgrader.utils.determine_grade``); anything else gives full
  points. nbgrader ignores the ``PARTIAL: x`` line the course's grader reads, so the
  exported check of a partial-credit check (:data:`PARTIAL_CREDIT_CHECKS`, e.g.
  ``check_challenge``) ends with one more line whose value is the points earned:
  ``round(fraction * points, 2)``. Only the export gets that line; ``solutions/`` and
  ``notebooks/`` are unchanged.

The cell conventions are parsed by :mod:`course_lib.course.exercises`, the generator of
``notebooks/``; an exercise that breaks them raises its ``ExerciseFormatError``.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import sys
from pathlib import Path

import nbformat

from ..paths import REPO_ROOT
from .exercises import ExerciseFormatError, cell_roles, clear_outputs, exercises_in, tidy

# nbgrader's cell-metadata schema (nbgrader.nbgraderformat.SCHEMA_VERSION of the pinned
# nbgrader 0.9.x; tests/test_nbgrader_roundtrip.py compares the two).
SCHEMA_VERSION = 3

# Checks that award a fraction of their points: function name -> key of the returned dict
# that holds the fraction earned (0..1). Their exported cell ends with the points earned.
PARTIAL_CREDIT_CHECKS = {"check_challenge": "score"}

NBGRADER_CONFIG = '''\
# nbgrader configuration of the course "Deep Compression, hands-on", written by
#   python -m course_lib.course.nbgrader_export
# One assignment per chapter, named like its notebook: source/07_huffman_coding/07_huffman_coding.ipynb.
# The notebooks run on the python3 kernel of the course's environment (ipykernel).
c = get_config()  # noqa: F821

# Training cells (and the capstone's check) run for minutes, not nbgrader's default 30 s.
c.Execute.timeout = {timeout}
'''


def _meta(grade_id: str, *, solution: bool = False, locked: bool = False, points: int | None = None) -> dict:
    meta = {
        "grade": points is not None,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return meta


def _partial_credit_source(source: str, points: int, where: str) -> str:
    """``source`` of a check cell, plus a last line whose value is the points earned, if it needs one."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ExerciseFormatError(f"{where}: the check cell is not valid Python: {exc}") from exc

    def called(node) -> str | None:
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            return name if name in PARTIAL_CREDIT_CHECKS else None
        return None

    found = [(stmt, called(stmt.value)) for stmt in tree.body
             if isinstance(stmt, (ast.Assign, ast.Expr)) and called(stmt.value)]
    if not found:
        if any(called(n) for n in ast.walk(tree)):
            raise ExerciseFormatError(
                f"{where}: a partial-credit check must be called at the top level of its cell "
                f"(`outcome = {'|'.join(PARTIAL_CREDIT_CHECKS)}(...)`) for the nbgrader export.")
        return source
    if len(found) > 1:
        raise ExerciseFormatError(f"{where}: one check cell calls {len(found)} partial-credit checks.")
    stmt, func = found[0]
    lines = source.split("\n")
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        var = stmt.targets[0].id
    elif isinstance(stmt, ast.Expr):  # a bare call: keep its result
        var = "_check_outcome"
        line = lines[stmt.lineno - 1]
        lines[stmt.lineno - 1] = line[: stmt.col_offset] + f"{var} = " + line[stmt.col_offset:]
    else:
        raise ExerciseFormatError(f"{where}: assign the result of {func}(...) to one name for the nbgrader export.")
    key = PARTIAL_CREDIT_CHECKS[func]
    while lines and not lines[-1].strip():
        lines.pop()
    lines += [
        "",
        f"# nbgrader: the value of this cell is the points earned (a fraction of {points}).",
        f"round(min(1.0, max(0.0, float({var}[{key!r}]))) * {points}, 2)",
    ]
    return "\n".join(lines)


def nbgrader_source(solution_nb, name: str = "", *, lock_other_cells: bool = True):
    """The nbgrader source version of a solution notebook (a new object; ``solution_nb`` is untouched).

    Exercise cells become autograded answers, check cells autograder tests (with the
    check's points), and every other cell read-only when ``lock_other_cells``.
    Outputs are cleared, the kernel is python3.
    """
    exercises_in(solution_nb, name)  # validate first: markers, one check per exercise
    nb = tidy(copy.deepcopy(solution_nb))
    nb.metadata.pop("widgets", None)
    nb.metadata["celltoolbar"] = "Create Assignment"  # what nbgrader's own editor leaves (removed on release)
    used: set[str] = set()
    for i, cell in enumerate(nb.cells):
        where = f"{name} cell {i}"
        ex_ids, ck = cell_roles(cell)
        clear_outputs(cell)
        cell.metadata.pop("nbgrader", None)
        if ex_ids:
            meta = _meta(ex_ids[0], solution=True)
        elif ck:
            gid, pts = ck[0]
            cell.source = _partial_credit_source(cell.source, pts, where)
            meta = _meta(f"check-{gid}", locked=True, points=pts)
        elif lock_other_cells:
            meta = _meta(f"cell-{cell.get('id') or i}", locked=True)
        else:
            continue
        if meta["grade_id"] in used:
            raise ExerciseFormatError(f"{where}: nbgrader grade_id {meta['grade_id']!r} is used twice.")
        used.add(meta["grade_id"])
        cell.metadata["nbgrader"] = meta
    return nb


def assignment_name(path: str | Path) -> str:
    """The nbgrader assignment of a chapter: its notebook's name, e.g. ``07_huffman_coding``."""
    return Path(path).stem


def select(solutions_dir: Path, wanted: list[str] | None) -> list[Path]:
    """The solution notebooks named by ``wanted`` (``06``, ``07_huffman_coding`` or a file name); all without it."""
    available = sorted(solutions_dir.glob("[0-9][0-9]_*.ipynb"))
    if not wanted:
        return available
    chosen = []
    for w in wanted:
        stem = Path(w).stem
        hits = [p for p in available if p.stem == stem or p.stem.split("_", 1)[0] == stem]
        if len(hits) != 1:
            names = ", ".join(p.stem for p in available)
            raise SystemExit(f"error: {w!r} names {'no' if not hits else 'more than one'} notebook of "
                             f"{solutions_dir} (have: {names})")
        if hits[0] not in chosen:
            chosen.append(hits[0])
    return chosen


def export(out: Path, sources: list[Path], timeout: int = 900) -> list[Path]:
    """Write ``out/source/<assignment>/<assignment>.ipynb`` for each of ``sources``, and ``out/nbgrader_config.py``."""
    written = []
    for src in sources:
        nb = nbgrader_source(nbformat.read(src, as_version=4), src.name)
        nbformat.validate(nb)
        dest = out / "source" / assignment_name(src) / src.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(dest)
    (out / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(timeout=int(timeout)), encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write an nbgrader course folder (source/ and nbgrader_config.py) from solutions/.")
    parser.add_argument("--out", type=Path, required=True, help="the nbgrader course folder to write into")
    parser.add_argument("--notebooks", nargs="*", metavar="NN",
                        help="chapters to export, by number or name (default: all)")
    parser.add_argument("--solutions", type=Path, default=REPO_ROOT / "solutions")
    parser.add_argument("--timeout", type=int, default=900, help="nbgrader's per-cell timeout in seconds (default 900)")
    args = parser.parse_args(argv)
    try:
        written = export(args.out, select(args.solutions, args.notebooks), timeout=args.timeout)
    except ExerciseFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    print(f"wrote {args.out / 'nbgrader_config.py'}\n"
          f"next: cd {args.out} && nbgrader generate_assignment ASSIGNMENT (or \"*\" for all of them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
