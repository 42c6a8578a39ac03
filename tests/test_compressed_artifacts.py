"""The committed outputs of ``python -m course_lib.commands.reproduce``: each ``.dcz`` file, its error and ratio.

Every file is read back and evaluated on all 10,000 MNIST test images; its error and its
ratio (float32 parameter bytes / bytes on disk) must equal what ``results.json`` recorded,
and meet [DC] Table 1's ratio (and the course's goal of 50x) at an error no worse than the
paper's beyond noise.
"""

import os

import pytest

from course_lib import committed_models, pipeline, recipes
from course_lib import results as res
from course_lib.course import readme as readme_gen
from course_lib.paper import DC_TABLE1
from course_lib.compressed_format import load_compressed, read_compressed
from course_lib.models import build_model, count_parameters
from course_lib.paths import REPO_ROOT
from course_lib.train import evaluate

NAMES = list(recipes.MODEL_NAMES)


@pytest.fixture(scope="module")
def results():
    path = committed_models.COMPRESSED_DIR / res.RESULTS_FILE
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `python -m course_lib.commands.reproduce` and commit its outputs.")
    return res.load_results()


def _entry(results, name):
    if name not in results["models"]:
        pytest.fail(f"results.json has no {name}: run `python -m course_lib.commands.reproduce --model {name}`.")
    return results["models"][name]


@pytest.mark.parametrize("name", NAMES)
def test_file_error_and_ratio_are_the_recorded_ones_and_beat_the_paper(name, results, mnist):
    r = _entry(results, name)
    path = committed_models.COMPRESSED_DIR / r["file"]
    assert path.is_file(), f"{path} is missing"
    size = os.path.getsize(path)
    model = load_compressed(path, device=mnist.test_x.device)
    error = evaluate(model, mnist)
    float32 = 4 * count_parameters(build_model(name))
    ratio = float32 / size
    print(f"{name}: {size:,} bytes, ratio {ratio:.1f}x, test error {error:.2f}% "
          f"([DC]: {DC_TABLE1[name]['ratio']}x at {DC_TABLE1[name]['compressed_error']:.2f}%), produced in {r['seconds']:.0f} s")
    # what results.json recorded is what the file holds
    assert size == r["file_bytes"]
    assert float32 == r["float32_bytes"]
    assert ratio == pytest.approx(r["ratio"], rel=1e-12)
    assert error == pytest.approx(r["test_error"], abs=0.011)  # one test image is 0.01%
    # [DC] Table 1's ratio and the course's goal; the error no worse than the paper's beyond noise
    # (the rung was chosen on validation, so the test error falls where it falls: the README says where)
    paper_error = DC_TABLE1[name]["compressed_error"]
    assert error <= paper_error or res.within_noise(error, paper_error)
    assert ratio >= DC_TABLE1[name]["ratio"]
    assert ratio >= pipeline.GOAL_RATIO


@pytest.mark.parametrize("name", NAMES)
def test_results_come_from_a_full_run(name, results):
    r = _entry(results, name)
    assert r["quick"] is False, "the committed files must come from the full command, not --quick"
    assert r["recipe"] == recipes.recipe_for(name), "the committed file was made with another recipe; re-run reproduce"
    assert r["errors"]["decoded from file"] == r["test_error"]
    assert r["stages"][-1]["bytes"] == r["file_bytes"]


@pytest.mark.parametrize("name", NAMES)
def test_per_layer_accounting_matches_the_file(name, results):
    r = _entry(results, name)
    report = read_compressed(committed_models.COMPRESSED_DIR / r["file"]).report
    assert [l["name"] for l in r["layers"]] == [l.name for l in report.layers]
    for recorded, layer in zip(r["layers"], report.layers):
        assert recorded["kept"] == layer.kept and recorded["bytes"] == layer.bytes
        assert recorded["kept_fraction"] == pytest.approx(r["recipe"]["keep"][layer.name], abs=1e-3)
    assert sum(report.totals().values()) == r["file_bytes"]


def test_whole_run_within_the_time_budget_is_recorded(results):
    assert set(results["models"]) == set(NAMES)
    assert results["total_seconds"] == pytest.approx(sum(r["seconds"] for r in results["models"].values()), abs=0.2)
    print(f"both models: {results['total_seconds']:.0f} s (budget 900 s on 2 cores)")


def test_comparison_table_is_generated_from_the_results(results):
    text = (committed_models.COMPRESSED_DIR / res.COMPARISON_FILE).read_text(encoding="utf-8")
    assert text == res.render_paper_comparison(results), "paper_comparison.md is stale: re-run reproduce"


def test_readme_results_block_is_generated_from_the_results(results):
    readme = REPO_ROOT / "README.md"
    if not readme.is_file() or readme_gen.block_body(readme.read_text(encoding="utf-8"), "results") is None:
        pytest.skip("README.md has no results block")
    assert readme_gen.block_body(readme.read_text(encoding="utf-8"), "results") == readme_gen.render_results(results), (
        "README.md's results block is stale: run `python -m course_lib.commands.reproduce --update-readme`."
    )
