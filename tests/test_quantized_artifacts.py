"""The committed pruned + weight-shared models (``python -m course_lib.commands.make_quantized``)."""

import json

import pytest
import torch

from course_lib.commands import make_quantized
from course_lib.committed_models import load_pruned, load_quantized, quantized_codebooks, quantized_meta, quantized_path
from course_lib.paper import DC_WEIGHT_BITS
from course_lib.models import prunable_layers
from course_lib.recipes import recipe_for
from course_lib.train import evaluate
from course_lib.weight_sharing import distinct_nonzero_values

NAMES = ["lenet300100", "lenet5"]
# "No loss against the pruned model", within the noise of 10,000 test images
# (one standard error of a 1% error rate is 0.1 percentage points).
NOISE = 0.1


@pytest.mark.parametrize("name", NAMES)
def test_quantized_error_matches_pruned(name, mnist):
    meta = quantized_meta(name)
    model = load_quantized(name)
    error = evaluate(model, mnist)
    assert meta["test_error"] == pytest.approx(error, abs=1e-9)
    pruned_error = evaluate(load_pruned(name), mnist)
    assert error <= pruned_error + NOISE, f"{name}: quantized {error:.2f}% vs pruned {pruned_error:.2f}%"


@pytest.mark.parametrize("name", NAMES)
def test_paper_bits_and_distinct_values(name):
    meta = quantized_meta(name)
    assert meta["bits"] == DC_WEIGHT_BITS[name]
    model = load_quantized(name, device="cpu")
    pruned = load_pruned(name, device="cpu")
    for layer_name, layer in prunable_layers(model).items():
        w = layer.weight
        n = distinct_nonzero_values(w)
        assert n <= 2 ** meta["bits"][layer_name]
        assert n == meta["distinct_values"][layer_name]
        kept = prunable_layers(pruned)[layer_name].weight != 0
        assert torch.equal(w != 0, kept), f"{layer_name}: the pruned positions must stay the pruned ones"


@pytest.mark.parametrize("name", NAMES)
def test_codebooks_recover_the_weights(name):
    model = load_quantized(name, device="cpu")
    codebooks = quantized_codebooks(name, model)
    for layer_name, layer in prunable_layers(model).items():
        cb = codebooks[layer_name]
        assert cb.k == 2 ** quantized_meta(name)["bits"][layer_name]
        assert torch.equal(cb.weight(), layer.weight)


def test_unknown_name():
    with pytest.raises(ValueError, match="must be one of"):
        quantized_path("alexnet")


@pytest.mark.parametrize("name", NAMES)
def test_committed_models_come_from_the_current_recipe(name):
    """The centroid learning rate is the recipe's validation choice (``make_quantized --scan-lr``);
    a recipe changed without re-running ``make quantized`` leaves committed models of another one."""
    current = json.loads(json.dumps(recipe_for(name, purpose="quantized")))
    assert quantized_meta(name)["recipe"] == current, f"{name}: re-run make quantized"


def test_the_lr_scan_reports_validation_errors_and_the_choice(monkeypatch, capsys):
    monkeypatch.setattr(make_quantized, "recipe_for", lambda name, purpose: recipe_for(name, quick=True, purpose=purpose))
    errors = make_quantized.scan_lr("lenet300100", [1e-3, 1e-2])
    assert set(errors) == {1e-3, 1e-2} and all(0 <= e <= 100 for e in errors.values())
    out = capsys.readouterr().out
    chosen = min(errors, key=errors.get)
    assert f"lowest validation error at finetune_lr {chosen:g}" in out
    assert "within noise" in out or "beyond noise" in out
