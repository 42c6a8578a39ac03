"""``python -m course_lib.commands.reproduce``: a quick-budget end-to-end run, the tables, the README block."""

import json
import os

import pytest
import torch

from course_lib import paper, pipeline, recipes, size_accounting
from course_lib import results as res
from course_lib.commands import reproduce as rp
from course_lib.course import readme as readme_gen
from course_lib.compressed_format import load_compressed, read_compressed
from course_lib.train import evaluate


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, mnist):
    out = tmp_path_factory.mktemp("reproduce")
    lines = []
    results = rp.run(["lenet300100"], out, quick=True, progress=False, log=lines.append, data=mnist)
    return out, results, lines


def test_quick_run_writes_the_file_results_and_table(quick_run, mnist):
    out, results, lines = quick_run
    r = results["models"]["lenet300100"]
    path = out / "lenet300100.dcz"
    assert path.is_file() and (out / res.RESULTS_FILE).is_file() and (out / res.COMPARISON_FILE).is_file()
    assert r["file_bytes"] == os.path.getsize(path)
    assert r["ratio"] == pytest.approx(r["float32_bytes"] / os.path.getsize(path))
    assert r["float32_bytes"] == 4 * 266_610 and r["quick"] is True
    # the file is what was evaluated: read back, same error
    model = load_compressed(path, device=mnist.test_x.device)
    assert evaluate(model, mnist) == r["test_error"] == r["errors"]["decoded from file"]
    assert [s["stage"] for s in r["stages"]] == ["baseline", "pruned", "quantized", "finetuned", "float16",
                                                "decoded from file"]
    # the keep rates of the recipe, to a weight
    for layer in r["layers"]:
        assert layer["kept_fraction"] == pytest.approx(r["recipe"]["keep"][layer["name"]], abs=1e-3)
    # progress is reported stage by stage
    assert any("prune + retrain" in l for l in lines) and any("ratio" in l for l in lines)
    # results.json on disk is what run() returned
    assert json.loads((out / res.RESULTS_FILE).read_text())["models"]["lenet300100"]["file_bytes"] == r["file_bytes"]


def test_stage_bytes_end_at_the_file_size(quick_run):
    out, results, _ = quick_run
    report = read_compressed(out / "lenet300100.dcz").report
    stages = size_accounting.stage_bytes(report)
    assert list(stages) == ["dense float32", "pruned (P)", "quantized (P+Q)", "Huffman (P+Q+H)"]
    totals = [size_accounting.stage_total(s) for s in stages.values()]
    assert totals[0] == 4 * 266_610
    assert totals[-1] == report.file_bytes
    assert totals[0] > totals[1] > totals[2] > totals[3]


def test_paper_comparison_quotes_the_paper_and_our_numbers(quick_run):
    out, results, _ = quick_run
    text = (out / res.COMPARISON_FILE).read_text()
    assert text == res.render_paper_comparison(results)
    r = results["models"]["lenet300100"]
    assert "Table 2" in text and "2.49% (40x)" in text  # the paper's, as printed
    assert f"{r['ratio']:.1f}x" in text and "fc1 (ip1)" in text
    assert "Oddities" in text


def test_results_block_renders_and_replaces_only_the_block(quick_run, tmp_path):
    _, results, _ = quick_run
    table = res.render_results_table(results)
    r = results["models"]["lenet300100"]
    assert "LeNet-300-100" in table and f"{r['ratio']:.1f}x" in table and f"{r['file_bytes']:,} B" in table
    readme = tmp_path / "README.md"
    readme.write_text(f"# Course\n\nintro\n<!-- results:begin -->\nold table\n<!-- results:end -->\n\nmore text\n")
    assert readme_gen.update_results_block(results, readme) is True
    text = readme.read_text()
    assert text.startswith("# Course\n\nintro\n") and text.endswith("\n\nmore text\n")
    assert readme_gen.block_body(text, "results") == table.rstrip("\n") and "old table" not in text
    assert readme_gen.update_results_block(results, readme) is False  # idempotent


def test_readme_without_markers_is_a_clear_error(tmp_path, quick_run):
    _, results, _ = quick_run
    readme = tmp_path / "README.md"
    readme.write_text("# no markers here\n")
    with pytest.raises(ValueError, match="results:begin"):
        readme_gen.update_results_block(results, readme)
    assert readme_gen.block_body("# no markers here\n", "results") is None


def test_update_readme_command_without_results(tmp_path, capsys):
    assert rp.main(["--update-readme", "--out", str(tmp_path)]) == 1
    assert "run python -m course_lib.commands.reproduce first" in capsys.readouterr().err


def test_recipe_errors_are_clear():
    with pytest.raises(ValueError, match="Unknown model"):
        recipes.recipe_for("alexnet")
    with pytest.raises(ValueError, match="Unknown recipe keys"):
        recipes.recipe_for("lenet5", prune_rate=0.1)
    with pytest.raises(ValueError, match="one entry per prune step"):
        recipes.recipe_for("lenet300100", prune_steps=2, prune_epochs=[1])
    with pytest.raises(ValueError, match="Unknown model"):
        rp.run(["vgg16"], "/nonexistent")
    quick = recipes.recipe_for("lenet5", quick=True)
    assert quick["prune_steps"] == 1 and quick["train_subset"] == recipes.QUICK["train_subset"]
    assert recipes.RECIPES["compressed"]["lenet5"]["prune_steps"] != 1  # recipe_for copies, never edits


def test_paper_tables_are_the_reference_facts():
    assert paper.PAPER_TABLES["lenet300100"]["rows"]["total"][-1] == "2.49% (40x)"
    assert paper.PAPER_TABLES["lenet5"]["rows"]["total"][-1] == "2.55% (39x)"
    assert {n: r["compressed_error"] for n, r in paper.DC_TABLE1.items()} == {"lenet300100": 1.58, "lenet5": 0.74}
    assert {n: r["ratio"] for n, r in paper.DC_TABLE1.items()} == {"lenet300100": 40, "lenet5": 39}


@pytest.mark.slow
def test_quick_run_of_lenet5(tmp_path, mnist):
    torch.manual_seed(0)
    results = rp.run(["lenet5"], tmp_path, quick=True, progress=False, log=lambda s: None, data=mnist)
    r = results["models"]["lenet5"]
    assert (tmp_path / "lenet5.dcz").stat().st_size == r["file_bytes"]
    assert r["ratio"] > 20
    assert {l["name"] for l in r["layers"]} == {"conv1", "conv2", "fc1", "fc2"}


@pytest.mark.slow
def test_from_scratch_trains_the_baseline_first(tmp_path, mnist):
    lines = []
    r = pipeline.compress("lenet300100", tmp_path, quick=True, from_scratch=True, data=mnist, progress=False, log=lines.append)
    assert r["from_scratch"] is True
    assert "training from scratch" in lines[0]
    assert r["errors"]["baseline"] < 5.0  # one epoch of the baseline recipe
    assert (tmp_path / "lenet300100.dcz").stat().st_size == r["file_bytes"]


def test_command_line_quick_run(tmp_path, capsys):
    assert rp.main(["--quick", "--model", "lenet300100", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "ratio" in out and (tmp_path / res.RESULTS_FILE).is_file()
    assert res.load_results(tmp_path)["command"].endswith("--quick")


@pytest.mark.parametrize("name", ["lenet300100", "lenet5"])
def test_the_pipeline_run_twice_writes_byte_identical_files(tmp_path, mnist, name):
    """Same recipe, same machine, same seed: the same bytes (seeded SGD, deterministic k-means,
    canonical Huffman codes, no timestamps in the file). A difference would mean some stage
    depends on something other than its inputs."""
    blobs = []
    for run in ("a", "b"):
        out = tmp_path / run
        pipeline.compress(name, out, quick=True, data=mnist, progress=False, log=lambda s: None)
        blobs.append((out / f"{name}.dcz").read_bytes())
    assert blobs[0] == blobs[1]
