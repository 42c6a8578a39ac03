"""Learner notebooks are generated from the solutions, and stay in step with them."""

import json
from pathlib import Path

import nbformat
import pytest

from course_lib.course.exercises import (ExerciseFormatError, exercises_in, generate, learner_notebook,
                                  stub_source)
from course_lib.paths import REPO_ROOT

SOLUTIONS = sorted((REPO_ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


def test_learner_notebooks_are_current():
    problems = generate(REPO_ROOT / "solutions", REPO_ROOT / "notebooks", check=True)
    assert problems == [], "Run `make notebooks` to regenerate notebooks/: " + "; ".join(problems)


def test_every_solution_has_a_learner_copy():
    names = {p.name for p in SOLUTIONS}
    assert names == {p.name for p in (REPO_ROOT / "notebooks").glob("*.ipynb")}
    assert {"00_welcome.ipynb", "01_mnist_and_lenets.ipynb"} <= names


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_notebook_structure(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "Learning objectives" in text, "each notebook opens with learning objectives"
    assert "## Summary" in text, "each notebook ends with a summary"
    exercises = exercises_in(nb, path.name)
    if path.name != "09_deep_compression.ipynb":
        assert exercises, "each chapter has graded exercises"
    learner = learner_notebook(nb, path.name)
    for cell in learner.cells:
        graded = "nbgrader" in cell.metadata
        assert ("raises-exception" in cell.metadata.get("tags", [])) == graded
        assert "### BEGIN SOLUTION" not in cell.source
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_learner_copy_has_nbgrader_metadata_and_stubs():
    nb = nbformat.read(REPO_ROOT / "notebooks" / "01_mnist_and_lenets.ipynb", as_version=4)
    meta = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata}
    assert meta["count-parameters"]["solution"] is True and meta["count-parameters"]["grade"] is False
    assert meta["check-count-parameters"]["points"] == 2 and meta["check-count-parameters"]["locked"] is True
    stub = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "count-parameters")
    assert 'raise NotImplementedError("count-parameters: not solved yet")' in stub
    assert all(len(line) <= 100 for line in stub.splitlines()), "the stub must fit the editor"
    assert "sum(p.numel()" not in stub


def test_stub_keeps_indentation_and_surrounding_code():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n"
    out = stub_source(src, "f")
    assert out.startswith("def f(x):\n    y = 1\n    # YOUR CODE HERE: replace the next line, run this cell, then the check\n"
                          "    raise NotImplementedError(")
    assert "return x + y" not in out


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    for source, tags in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    return nb


@pytest.mark.parametrize("cells, message", [
    ([("### BEGIN SOLUTION\nx = 1\n", ["exercise:a"]), ("check()", ["check:a:1"])], "never closed"),
    ([("### BEGIN SOLUTION\nx\n### END SOLUTION", ["exercise:a"])], "has no check cell"),
    ([("check(f)", ["check:a:1"])], "comes before"),
    ([("### BEGIN SOLUTION\nx\n### END SOLUTION", [])], "no 'exercise:<id>' tag"),
    ([("x = 1", ["exercise:a"])], "has no '### BEGIN SOLUTION'"),
])
def test_malformed_solutions_are_rejected(cells, message):
    with pytest.raises(ExerciseFormatError, match=message):
        learner_notebook(_nb(*cells), "test.ipynb")


def test_check_mode_reports_stale_and_extra(tmp_path):
    sol, out = tmp_path / "solutions", tmp_path / "notebooks"
    sol.mkdir()
    nbformat.write(_nb(("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", ["exercise:a"]), ("check()", ["check:a:1"])),
                   sol / "01_x.ipynb")
    assert generate(sol, out, check=True) == ["notebooks/01_x.ipynb is missing"]
    assert generate(sol, out) == []
    assert generate(sol, out, check=True) == []
    (out / "01_x.ipynb").write_text((out / "01_x.ipynb").read_text().replace("YOUR CODE", "MY CODE"))
    (out / "99_extra.ipynb").write_text("{}")
    assert generate(sol, out, check=True) == ["notebooks/01_x.ipynb is stale",
                                              "notebooks/99_extra.ipynb has no source in solutions/"]
