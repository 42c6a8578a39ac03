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


def _hand_written(text: str) -> str:
    """The README without its generated blocks."""
    for name in readme.BLOCKS:
        body = readme.block_body(text, name)
        if body is not None:
            text = text.replace(body, "")
    return text


def test_results_block_gives_both_comparisons_with_noise_verdicts():
    from course_lib.paper import DISPLAY_NAMES
    from course_lib.results import load_results

    block = readme.block_body(TEXT, "results")
    assert "loss vs our baseline" in block and "[DC] reference -> compressed" in block
    for name in load_results()["models"]:
        assert f"**{DISPLAY_NAMES[name]}.** Against [DC] Table 1" in block and "Against our own baseline" in block
    assert block.count("noise)") >= 2 * len(load_results()["models"])


def test_hand_written_text_types_none_of_the_papers_figures():
    """The paper's Table 1 figures reach the README only through the generated blocks."""
    from course_lib.paper import DC_TABLE1

    text = _hand_written(TEXT)
    for row in DC_TABLE1.values():
        for figure in (f"{row['reference_error']:.2f}%", f"{row['compressed_error']:.2f}%", f"{row['ratio']}x"):
            assert figure not in text, f"README.md types the paper's {figure} by hand"


def test_hand_written_text_describes_the_validation_split():
    text = _hand_written(TEXT)
    assert "validation split" in text and "55,000" in text and "5,000" in text
