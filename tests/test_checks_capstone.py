"""The capstone challenge's check: the score, the settings it refuses, and a quick graded run."""

import math

import pytest
import torch

from course_lib.course.checks import capstone as cc
from course_lib.course.checks.core import CheckFailed, CheckInputError
from course_lib.recipes import RECIPES
from course_lib.size_accounting import file_ratio


def test_score_is_full_at_the_papers_targets_and_zero_for_useless_files():
    assert cc.challenge_score(40.0, 1.58) == 1.0
    assert cc.challenge_score(75.0, 1.0) == 1.0
    assert cc.challenge_score(1000.0, 90.0) == 0.0  # an all-zero model: tiny file, useless
    assert cc.challenge_score(5.0, 0.8) == 0.0  # accurate, but barely compressed
    assert cc.challenge_score(20.0, 1.5) == pytest.approx(0.5, abs=0.01)  # halfway in log(ratio)
    assert cc.challenge_score(40.0, 2.79) == pytest.approx(0.5, abs=0.01)  # halfway in error
    assert cc.challenge_score(40.0, float("nan")) == 0.0
    assert cc.size_part(0.0) == 0.0
    # monotone: smaller files and lower errors never score less
    ratios = [5, 10, 15, 25, 39, 40, 60]
    assert all(cc.size_part(a) <= cc.size_part(b) for a, b in zip(ratios, ratios[1:]))
    errors = [0.5, 1.58, 2.0, 3.0, 4.0, 9.0]
    assert all(cc.error_part(a) >= cc.error_part(b) for a, b in zip(errors, errors[1:]))


@pytest.mark.parametrize(
    "settings, message",
    [
        ([("keep", 0.1)], "must return a dict"),
        ({"prune_rate": 0.9}, "Unknown recipe keys"),
        ({"keep": {"fc1": 0.05, "fc2": 0.08}}, "each layer"),
        ({"keep": {"fc1": 0.0, "fc2": 0.08, "fc3": 0.25}}, r"fraction in \(0, 1\]"),
        ({"keep": {"fc1": 5, "fc2": 0.08, "fc3": 0.25}}, r"fraction in \(0, 1\]"),
        ({"bits": {"fc1": 9, "fc2": 5, "fc3": 5}}, "from 1 to 8"),
        ({"bits": {"fc1": 4.5, "fc2": 5, "fc3": 5}}, "from 1 to 8"),
        ({"prune_steps": 2, "prune_epochs": [20, 20]}, "budget is 30"),
        ({"prune_steps": 2, "prune_epochs": [1]}, "one entry per prune step"),
    ],
)
def test_invalid_settings_are_named(settings, message):
    with pytest.raises(CheckFailed, match=message):
        cc.validate_recipe(settings)


def test_the_reference_recipe_is_within_the_budget():
    recipe = cc.validate_recipe(dict(RECIPES["compressed"]["lenet300100"]))
    assert cc._training_epochs(recipe) <= cc.MAX_EPOCHS


def test_unsolved_and_misused(mnist):
    def my_recipe():
        raise NotImplementedError("Exercise capstone-challenge: not solved yet.")

    with pytest.raises(CheckFailed, match="not solved yet"):
        cc.check_challenge(my_recipe, mnist)
    with pytest.raises(CheckInputError, match="load_mnist"):
        cc.check_challenge(lambda: {}, "mnist")


def test_a_quick_graded_run_scores_the_file(monkeypatch, mnist, capsys, tmp_path):
    monkeypatch.setenv("COURSE_QUICK", "1")
    outcome = cc.check_challenge(lambda: {"keep": {"fc1": 0.1, "fc2": 0.1, "fc3": 0.3}}, mnist, out=tmp_path)
    text = capsys.readouterr().out
    assert outcome["quick"] is True
    assert (tmp_path / "lenet300100.dcz").stat().st_size == outcome["file_bytes"]
    assert outcome["score"] == cc.challenge_score(outcome["ratio"], outcome["error"])
    assert f"{outcome['file_bytes']:,} bytes" in text and "COURSE_QUICK=1" in text
    if outcome["score"] < 1:
        assert f"PARTIAL: {outcome['score']:.2f}" in text
    else:
        assert "PASS" in text
    assert not math.isnan(outcome["error"])


def test_pipeline_failure_is_a_check_failure(monkeypatch, mnist):
    monkeypatch.setenv("COURSE_QUICK", "1")
    with pytest.raises(CheckFailed, match="pipeline failed"):
        cc.check_challenge(lambda: {"init": "zigzag"}, mnist)


def _ratio_variants():
    import os

    def params(m):
        return sum(p.numel() for p in m.parameters())

    def weights(m):
        return sum(x.weight.numel() for x in m.modules() if isinstance(x, (torch.nn.Linear, torch.nn.Conv2d)))

    return {
        "upside down": lambda m, p: os.path.getsize(p) / (4 * params(m)),
        "4 bytes": lambda m, p: params(m) / os.path.getsize(p),
        "in bits": lambda m, p: 32 * params(m) / os.path.getsize(p),
        "file in bits": lambda m, p: 4 * params(m) / (8 * os.path.getsize(p)),
        "biases": lambda m, p: 4 * weights(m) / os.path.getsize(p),
        "returned": lambda m, p: "40x",
        "for a file of": lambda m, p: 40.0,
    }


@pytest.mark.parametrize("mistake", list(_ratio_variants()))
def test_file_ratio_check_names_the_mistake(mistake):
    fn = _ratio_variants()[mistake]
    expected = "must return a number" if mistake == "returned" else mistake
    with pytest.raises(CheckFailed, match=expected):
        cc.check_file_ratio(fn)


def test_file_ratio_check_passes_the_right_answer(capsys):
    import os

    cc.check_file_ratio(lambda m, p: 4 * sum(x.numel() for x in m.parameters()) / os.path.getsize(p))
    cc.check_file_ratio(file_ratio)  # the library's version is the exercise's twin
    assert capsys.readouterr().out.count("PASS") == 2
    with pytest.raises(CheckInputError):
        cc.check_file_ratio("not a function")
