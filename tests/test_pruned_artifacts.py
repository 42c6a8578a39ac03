"""The committed pruned checkpoints (``make pruned``): the paper's keep rates, and the accuracy."""

import pytest

from course_lib.committed_models import load_pruned, pruned_meta, pruned_path
from course_lib.paper import DC_KEEP_RATES, DC_TABLE1, LW_PRUNING
from course_lib.pruning import sparsity_report
from course_lib.train import evaluate

NAMES = ["lenet300100", "lenet5"]


def _require(name):
    if not pruned_path(name).is_file():
        pytest.fail(f"{pruned_path(name)} is missing: run `python -m course_lib.commands.make_pruned --model {name}` and commit it.")


@pytest.mark.parametrize("name", NAMES)
def test_keep_rates_are_the_papers(name):
    _require(name)
    model = load_pruned(name, device="cpu")
    rows = {r["layer"]: r for r in sparsity_report(model)}
    assert set(rows) == set(DC_KEEP_RATES[name])
    for layer, keep in DC_KEEP_RATES[name].items():
        r = rows[layer]
        # the paper's rate, to the weight: round(sparsity * numel) pruned, never more than one tie extra
        want = r["numel"] - round((1 - keep) * r["numel"])
        assert want - 1 <= r["kept"] <= want, (layer, r)


@pytest.mark.parametrize("name", NAMES)
def test_biases_are_not_pruned_and_meta_matches(name):
    _require(name)
    model = load_pruned(name, device="cpu")
    meta = pruned_meta(name)
    assert all((m.bias != 0).any() for m in [model.get_submodule(k) for k in DC_KEEP_RATES[name]])
    for layer, rate in meta["keep_rates"].items():
        kept = (model.get_submodule(layer).weight != 0).float().mean().item()
        assert kept == pytest.approx(rate, abs=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_test_error_on_all_10k_images_beats_the_papers_reference(name, mnist):
    _require(name)
    model = load_pruned(name, device=mnist.test_x.device)
    error = evaluate(model, mnist)
    print(f"{name}: pruned test error {error:.2f}% (paper's reference {DC_TABLE1[name]['reference_error']:.2f}%, "
          f"paper's pruned {LW_PRUNING[name]['pruned_error']:.2f}%)")
    assert error <= DC_TABLE1[name]["reference_error"]
    assert error == pytest.approx(pruned_meta(name)["test_error"], abs=0.02)
