"""The committed files of ``make structure`` (notebook 08): parameter counts, the error at each
width and of each scaled CNN, the grid search's choice, and the recipes they were made with.

No figure is typed here: every measured number is read from ``results.json`` and compared with
what the committed weights give now, within a tolerance of one or two test images.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from course_lib.committed_models import (STRUCTURE_DIR, compressed_path, load_scaled, load_slimmable, scaled_path,
                                         slimmable_meta, slimmable_path, structure_results, structure_results_path)
from course_lib.models import build_model, count_parameters
from course_lib.recipes import STRUCTURE_PARTS, structure_recipe
from course_lib.scaling import ScalableCNN, compound_candidates, count_flops
from course_lib.slimmable import at_width, extract_width, slim_units, width_parameters
from course_lib.structure_runs import scaling_candidates, width_units
from course_lib.structured import resized_model, unit_counts
from course_lib.train import evaluate, standard_error

ONE_IMAGE = 0.0101  # percentage points: one test image out of 10,000, and a little rounding


def _require(path):
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make structure` and commit course_lib/artifacts/structure/.")


@pytest.fixture(scope="module")
def results():
    _require(structure_results_path())
    return structure_results()


def test_every_part_was_run_in_full_with_the_current_recipe(results):
    for part in STRUCTURE_PARTS:
        assert part in results, f"results.json has no {part!r} entry: run make structure --part {part}"
        assert results[part]["quick"] is False, f"the {part} entry comes from a --quick run"
        current = json.loads(json.dumps(structure_recipe(part)))
        assert results[part]["recipe"] == current, f"{part} was made with another recipe; re-run make structure"


def test_the_committed_files_stay_small():
    total = sum(p.stat().st_size for p in STRUCTURE_DIR.iterdir() if p.is_file())
    assert total < 4_000_000, f"course_lib/artifacts/structure/ holds {total:,} bytes"


def test_slimmable_parameter_counts_and_units_at_each_width(results):
    _require(slimmable_path())
    model = load_slimmable(device="cpu")
    entry = results["slimmable"]
    assert [float(w) for w in entry["widths"]] == entry["recipe"]["widths"]
    for w, row in entry["widths"].items():
        w = float(w)
        small = extract_width(model, w)
        assert row["parameters"] == count_parameters(small) == width_parameters(w)
        assert row["units"] == unit_counts(small)
        assert row["units"]["conv2"] == slim_units(50, w) and row["units"]["fc2"] == 10
    assert entry["widths"]["1.0"]["parameters"] == count_parameters(build_model("lenet5"))
    assert {k: v for k, v in slimmable_meta()["widths"].items()} == entry["widths"]


def test_slimmable_error_at_each_width_is_what_was_recorded(results, mnist):
    model = load_slimmable(device=mnist.test_x.device)
    errors = {}
    for w, row in results["slimmable"]["widths"].items():
        with at_width(model, float(w)):
            errors[float(w)] = evaluate(model, mnist)
            assert errors[float(w)] == pytest.approx(row["test_error"], abs=ONE_IMAGE), w
            assert evaluate(model, mnist, split="val") == pytest.approx(row["val_error"], abs=2 * ONE_IMAGE), w
    # a trained LeNet-5, at every width; the narrowest is not better than the widest beyond noise
    assert max(errors.values()) < 5.0
    assert errors[min(errors)] >= errors[max(errors)] - 2 * standard_error(errors[max(errors)])


def test_narrow_nets_trained_alone_have_the_slimmable_shapes(results):
    entry = results["alone"]
    for w, row in entry["lenet5"].items():
        assert row["parameters"] == width_parameters(float(w))
        if w in results["slimmable"]["widths"]:
            assert row["parameters"] == results["slimmable"]["widths"][w]["parameters"]
    assert set(results["slimmable"]["widths"]) <= set(entry["lenet5"]), "every slimmable width is also trained alone"
    for name in ("lenet5", "lenet300100"):
        assert [float(w) for w in entry[name]] == entry["recipe"][f"{name}_widths"]
        for w, row in entry[name].items():
            assert row["parameters"] == count_parameters(resized_model(name, width_units(name, float(w))))
            assert 0 < row["test_error"] < 10 and 0 < row["val_error"] < 10


def test_structured_rows_have_the_shapes_of_their_amounts(results):
    entry = results["structured"]
    for name in ("lenet300100", "lenet5"):
        rows = entry[name]["rows"]
        assert [r["amount"] for r in rows] == entry["recipe"][f"{name}_amounts"]
        full = unit_counts(build_model(name))
        for r in rows:
            hidden = {k: v for k, v in r["units"].items() if k != list(full)[-1]}
            assert hidden == {k: full[k] - round(r["amount"] * full[k]) for k in hidden}
            assert r["parameters"] == count_parameters(resized_model(name, hidden))
            assert 0 < r["test_error"] < 20


def test_scaled_cnns_parameters_flops_and_errors(results, mnist):
    _require(scaled_path())
    models = load_scaled(device=mnist.test_x.device)
    seen = set()
    for kind, members in results["scaling"]["families"].items():
        assert [m["phi"] for m in members] == results["scaling"]["recipe"]["phis"]
        for m in members:
            model = models[m["name"]]
            assert isinstance(model, ScalableCNN) and model.config == m["config"]
            assert count_parameters(model) == m["parameters"] and count_flops(model) == m["flops"]
            assert [model.blocks, list(model.channels), model.resolution] == [m["blocks"], m["channels"], m["resolution"]]
            if m["name"] not in seen:
                assert evaluate(model, mnist) == pytest.approx(m["test_error"], abs=ONE_IMAGE), m["name"]
                seen.add(m["name"])
            assert 0 < m["test_error"] < 10
    assert seen == set(models)


def test_grid_search_chose_on_validation_under_the_constraint(results):
    scaling = results["scaling"]
    recipe = scaling["recipe"]
    candidates = scaling_candidates(recipe)
    assert set(candidates) <= set(compound_candidates(recipe["alphas"], recipe["betas"], recipe["gammas"],
                                                      recipe["target"], recipe["tolerance"]))
    assert all(sum(v > 1 for v in c) >= recipe["min_scaled"] for c in candidates)
    assert [tuple(c) for c in scaling["candidates"]] == candidates and len(scaling["grid"]) == len(candidates)
    best = min(scaling["grid"], key=lambda r: r["val_error"])
    assert scaling["best"] == [best["alpha"], best["beta"], best["gamma"]]
    assert all("test_error" not in row for row in scaling["grid"]), "the grid must not look at the test set"
    compound = scaling["families"]["compound"]
    assert all(m["coefficients"] == scaling["best"] for m in compound)


def test_latency_figures_describe_the_committed_dcz_files(results):
    """``make structure --part latency`` times the committed ``.dcz`` files; when ``make reproduce``
    replaces one, the figures describe a file that is gone and must be measured again."""
    entry = results.get("latency")
    assert entry, "results.json has no latency entry: run make structure ARGS='--part latency'"
    for name in ("lenet300100", "lenet5"):
        blob = compressed_path(name).read_bytes()
        timed = entry.get("files", {}).get(name)
        assert timed == {"bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}, (
            f"the latency of {name} was measured on another .dcz file ({timed}): "
            "run make structure ARGS='--part latency'")
        models = {row["model"] for row in entry["rows"] if row["model"].startswith(name + " ")}
        assert len(models) == 3 and {row["batch"] for row in entry["rows"]} == {1, 256}
        assert entry["decode_seconds"][name] > 0
