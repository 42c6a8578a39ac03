"""Every graded exercise is a library function: same name, same parameters (d2l style).

A notebook says "from here on, the library's version" right after an exercise's check; that
promise holds only if ``course_lib`` has a function of the exercise's name whose signature
starts with the exercise's. The rule this test enforces, for each ``exercise:<id>`` cell of
``solutions/*.ipynb``:

- the cell defines one top-level function, named like its id (``prune-model`` ->
  ``prune_model``), and its check cell calls ``check_<name>``;
- a library module ``course_lib.<module>`` has a function of that name. The module is the
  one the notebook imports the name from after the check (the "library's version from here
  on" import); failing that, the check module's ``ref`` module, or the module of the
  function the check module imported under that name;
- the library's parameters start with the exercise's parameters, same names, same order;
  the library may add **trailing** parameters, and only with defaults, so any call written
  for the exercise works unchanged with the library's version.

Exercises without a library twin are listed in ``EXCEPTIONS``, each with its reason.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import types
from dataclasses import dataclass

import nbformat
import pytest

from course_lib.course.exercises import CHECK_TAG, EXERCISE_TAG, exercises_in
from course_lib.paths import REPO_ROOT

SOLUTIONS = sorted((REPO_ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))

# Exercise id -> why it has no library twin. Keep this short: every entry is a broken promise
# unless the reason says why there is nothing to promise.
EXCEPTIONS = {
    "capstone-challenge": "the learner's own recipe (my_recipe() returns settings for the pipeline); no library twin",
}

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


@dataclass
class Case:
    notebook: str
    grade_id: str
    source: str  # the exercise cell (the solution)
    check_source: str  # its check cell
    later_sources: list[str]  # the code cells after the check, in order

    def __str__(self) -> str:
        return f"exercise {self.grade_id!r} of solutions/{self.notebook}"


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _cases() -> list[Case]:
    cases = []
    for path in SOLUTIONS:
        nb = nbformat.read(path, as_version=4)
        ids = [e.grade_id for e in exercises_in(nb, path.name)]  # validates the format first
        cells = nb.cells
        for gid in ids:
            ex = next(i for i, c in enumerate(cells) if f"exercise:{gid}" in _tags(c))
            ck = next(i for i, c in enumerate(cells)
                      if any((m := CHECK_TAG.match(t)) and m.group(1) == gid for t in _tags(c)))
            later = [c.source for c in cells[ck + 1:] if c.cell_type == "code"]
            cases.append(Case(path.name, gid, cells[ex].source, cells[ck].source, later))
    return cases


CASES = _cases()


def _parse(source: str, where: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as exc:  # cells with IPython magics are not plain Python
        pytest.fail(f"{where}: the cell is not plain Python ({exc}).")


def _defined_function(case: Case) -> ast.FunctionDef:
    functions = [n for n in _parse(case.source, str(case)).body if isinstance(n, ast.FunctionDef)]
    if len(functions) != 1:
        names = [f.name for f in functions]
        pytest.fail(f"{case}: the exercise cell must define exactly one top-level function, found {names or 'none'}.")
    return functions[0]


def _exercise_params(fn: ast.FunctionDef) -> list[str]:
    a = fn.args
    names = [p.arg for p in a.posonlyargs + a.args]
    if a.vararg:
        names.append("*" + a.vararg.arg)
    names += [p.arg for p in a.kwonlyargs]
    if a.kwarg:
        names.append("**" + a.kwarg.arg)
    return names


def _library_params(fn) -> list[inspect.Parameter]:
    return list(inspect.signature(fn).parameters.values())


def _shown(p: inspect.Parameter) -> str:
    return {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name


def _is_library(module_name: str) -> bool:
    return module_name.startswith("course_lib.") and not module_name.startswith("course_lib.course")


def _imported_from(source: str, name: str) -> list[str]:
    """Library modules a cell imports ``name`` from (``from course_lib.X import name``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node.module for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and _is_library(node.module)
            and any(alias.name == name and alias.asname in (None, name) for alias in node.names)]


def _check_module(case: Case) -> types.ModuleType | None:
    for node in ast.walk(_parse(case.check_source, f"{case}, its check cell")):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("course_lib.course.checks."):
            return importlib.import_module(node.module)
    return None


def _candidate_modules(case: Case, name: str) -> list[str]:
    """Where the library's twin should be, most authoritative first."""
    found: list[str] = []
    for source in case.later_sources:  # the notebook's "library's version from here on" import
        found += _imported_from(source, name)
    checks = _check_module(case)
    if checks is not None:
        ref = getattr(checks, "ref", None)
        if isinstance(ref, types.ModuleType) and _is_library(ref.__name__):
            found.append(ref.__name__)
        imported = getattr(checks, name, None)
        if callable(imported) and _is_library(getattr(imported, "__module__", "")):
            found.append(imported.__module__)
    return list(dict.fromkeys(found))


def _called_checks(case: Case) -> list[str]:
    return [node.func.id for node in ast.walk(_parse(case.check_source, f"{case}, its check cell"))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith("check_")]


def _signature_problems(exercise: list[str], library: list[inspect.Parameter], where: str) -> list[str]:
    problems = []
    lib_names = [_shown(p) for p in library]
    for i, ex_name in enumerate(exercise):
        if i >= len(lib_names):
            problems.append(f"the exercise's parameter {ex_name!r} (position {i + 1}) is missing from {where}")
        elif lib_names[i] != ex_name:
            problems.append(f"parameter {i + 1} is {ex_name!r} in the exercise but {lib_names[i]!r} in {where}")
    for p in library[len(exercise):]:
        if p.default is inspect.Parameter.empty and p.kind not in _VARIADIC:
            problems.append(f"{where} has the extra parameter {p.name!r} without a default: a call written for the "
                            "exercise would miss it (extra library parameters must come last and have defaults)")
    return problems


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.notebook[:2]}-{c.grade_id}")
def test_exercise_has_a_library_twin_of_the_same_name_and_signature(case):
    fn = _defined_function(case)
    params = _exercise_params(fn)
    written = f"{fn.name}({', '.join(params)})"
    if case.grade_id in EXCEPTIONS:
        pytest.skip(f"documented exception ({written}): {EXCEPTIONS[case.grade_id]}")
    assert fn.name.replace("_", "-") == case.grade_id, (
        f"{case} defines {written}: name the exercise id after the function, 'exercise:{fn.name.replace('_', '-')}'."
    )
    assert f"check_{fn.name}" in _called_checks(case), (
        f"{case} defines {written}, but its check cell calls {_called_checks(case) or 'no check_ function'}; "
        f"name the check check_{fn.name}."
    )
    modules = _candidate_modules(case, fn.name)
    twins = [(m, getattr(importlib.import_module(m), fn.name)) for m in modules
             if hasattr(importlib.import_module(m), fn.name)]
    looked = ", ".join(modules) if modules else (
        "no module: the notebook imports no library function of that name after the check, "
        "and the check module has no `ref` library module")
    assert twins, (
        f"{case} defines {written}, but no library module has a function {fn.name!r} (looked in {looked}). "
        "Add it to the library, or rename the exercise after its library twin."
    )
    module, twin = twins[0]
    assert inspect.isroutine(twin), f"{case}: {module}.{fn.name} is a {type(twin).__name__}, not a function."
    library = _library_params(twin)
    where = f"{module}.{fn.name}({', '.join(_shown(p) for p in library)})"
    problems = _signature_problems(params, library, where)
    assert not problems, f"{case} defines {written}, which differs from its library twin: " + "; ".join(problems) + "."


def test_exceptions_are_real_exercises_with_a_reason():
    ids = {c.grade_id for c in CASES}
    stale = sorted(set(EXCEPTIONS) - ids)
    assert not stale, f"EXCEPTIONS lists {stale}, which no solution notebook has: remove them."
    for gid, reason in EXCEPTIONS.items():
        assert reason.strip(), f"the exception {gid!r} needs a reason"


def test_the_rule_itself():
    """Extra library parameters are fine at the end with defaults; a rename or a required extra is not."""

    def lib(values, bits, init="linear", seed=0):
        pass

    params = _library_params(lib)
    assert _signature_problems(["values", "bits"], params, "lib") == []
    assert _signature_problems(["values", "bits", "init", "seed"], params, "lib") == []
    assert "'iters' in the exercise but 'init'" in _signature_problems(["values", "bits", "iters"], params, "lib")[0]
    assert "missing" in _signature_problems(["values", "bits", "init", "seed", "x"], params, "lib")[0]

    def required_extra(model, targets, steps, retrain, schedule):
        pass

    problems = _signature_problems(["model", "targets", "steps", "retrain"], _library_params(required_extra), "f")
    assert len(problems) == 1 and "'schedule' without a default" in problems[0]
    assert "'final_sparsities' in the exercise but 'targets'" in _signature_problems(
        ["model", "final_sparsities", "steps", "retrain"], _library_params(required_extra)[:4], "f")[0]


def test_every_exercise_was_read():
    assert len(CASES) == sum(len(exercises_in(nbformat.read(p, as_version=4), p.name)) for p in SOLUTIONS)
    assert all(EXERCISE_TAG.match(f"exercise:{c.grade_id}") for c in CASES)


def test_the_course_has_enough_graded_exercises():
    """The structure-and-scaling issue's floor: at least 30 graded exercises in the course, at
    least 4 of them in notebook 08; every solution notebook after 00 grades something."""
    counts = {path.stem: len(exercises_in(nbformat.read(path, as_version=4), path.name)) for path in SOLUTIONS}
    assert sum(counts.values()) >= 30, counts
    assert counts["08_structure_and_scaling"] >= 4, counts
    assert all(n >= 1 for n in counts.values()), counts
