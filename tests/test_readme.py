"""The README gives the two commands, and its generated blocks are current."""

import subprocess

from course_lib.course import readme
from course_lib.paths import REPO_ROOT

TEXT = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_gives_the_two_commands_and_ci_uses_the_test_one():
    assert "make lab" in TEXT and "make test" in TEXT
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "COURSE_DATA_DIR" in ci


def test_generated_blocks_are_current():
    assert readme.render_readme(TEXT) == TEXT, "README.md is stale: run `python -m course_lib.course.readme`"


def test_results_block_matches_results_file():
    from course_lib.results import load_results

    results = load_results()
    assert readme.block_body(TEXT, "results") == readme.render_results(results), (
        "README.md's results block differs from results.json: run `python -m course_lib.commands.reproduce --update-readme`"
    )


def test_syllabus_lists_every_solution_notebook():
    block = TEXT.split("<!-- syllabus:begin -->", 1)[1].split("<!-- syllabus:end -->", 1)[0]
    for nb in sorted((REPO_ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")):
        assert nb.stem in block


def test_replace_block_needs_both_markers():
    import pytest

    with pytest.raises(ValueError, match="syllabus"):
        readme.replace_block("no markers here", "syllabus", "x")


def test_ci_script_is_executable_bash():
    path = REPO_ROOT / ".ci" / "run"
    assert path.stat().st_mode & 0o111
    subprocess.run(["bash", "-n", str(path)], check=True)
