"""The capstone's checks: the challenge's score (full marks only for beating the course's own
file), the settings it refuses, the split it scores on (validation while the learner iterates,
test when graded), a quick run, scored runs with the pipeline mocked, and the file-ratio
exercise's check against typical wrong answers."""

import json
import math
import os
from pathlib import Path

import pytest
import torch

from course_lib.course.checks import capstone as cc
from course_lib.course.checks.core import CheckFailed, CheckInputError, failure_message as fails_with
from course_lib.paths import REPO_ROOT
from course_lib.recipes import RECIPES
from course_lib.results import load_results
from course_lib.size_accounting import file_ratio

F32 = 4 * 266_610  # float32 bytes of LeNet-300-100


def course():
    return cc.course_file()


# --------------------------------------------------------------------------- the score


def test_the_bar_is_the_course_file_of_results_json():
    entry = load_results()["models"]["lenet300100"]
    c = course()
    assert (c["ratio"], c["error"], c["file_bytes"]) == (entry["ratio"], entry["test_error"], entry["file_bytes"])
    assert c["float32_bytes"] == F32


def test_score_below_at_and_above_the_papers_figures():
    c = course()
    assert cc.challenge_score(40.0, 1.58) == cc.PAPER_SHARE  # the paper's figures: no longer full marks
    assert cc.challenge_score(1000.0, 90.0) == 0.0  # an all-zero model: tiny file, useless
    assert cc.challenge_score(5.0, 0.8) == 0.0  # accurate, but barely compressed
    assert cc.challenge_score(20.0, 1.5) == pytest.approx(cc.PAPER_SHARE * 0.5, abs=0.01)  # halfway in log(ratio)
    assert cc.challenge_score(40.0, 2.79) == pytest.approx(cc.PAPER_SHARE * 0.5, abs=0.01)  # halfway in error
    assert cc.challenge_score(40.0, float("nan")) == 0.0
    assert cc.size_part(0.0) == 0.0
    # the course's own file scores MATCH_SHARE, not full marks; a little better is still not enough
    assert cc.challenge_score(c["ratio"], c["error"]) == cc.MATCH_SHARE
    assert cc.challenge_score(c["ratio"] * 1.005, c["error"]) == cc.MATCH_SHARE
    assert not cc.beats_course(c["ratio"] * 1.005, c["error"])
    # beating it on file bytes x error by the margin: full marks, by a smaller file or a lower error
    assert cc.challenge_score(c["ratio"] * 1.02, c["error"]) == 1.0
    assert cc.challenge_score(c["ratio"], c["error"] * 0.98) == 1.0
    assert cc.challenge_score(c["ratio"] * 1.3, c["error"] * 1.1) == 1.0  # smaller file, a little worse error
    assert cc.challenge_score(c["ratio"] * 1.1, c["error"] * 1.2) < 1.0  # the error grew more than the file shrank
    # halfway (in log) from the paper's size x error to the course's: halfway from PAPER_SHARE to MATCH_SHARE
    mid = math.sqrt(cc.size_x_error(40, 1.58, F32) * cc.size_x_error(c["ratio"], c["error"], F32))
    ratio = F32 * 1.58 / mid  # the ratio that has this size x error at 1.58%
    assert cc.challenge_score(ratio, 1.58) == pytest.approx((cc.PAPER_SHARE + cc.MATCH_SHARE) / 2, abs=0.01)
    # monotone: smaller files and lower errors never score less
    ratios = [5, 10, 15, 25, 39, 40, 60, 74, 80, 200]
    assert all(cc.challenge_score(a, 1.2) <= cc.challenge_score(b, 1.2) for a, b in zip(ratios, ratios[1:]))
    errors = [0.5, 1.0, 1.17, 1.3, 1.58, 2.0, 3.0, 4.0, 9.0]
    assert all(cc.challenge_score(60, a) >= cc.challenge_score(60, b) for a, b in zip(errors, errors[1:]))


def test_the_bar_moves_with_results_json(monkeypatch):
    """The course's figures are read from results.json, never typed in the check."""
    fake = json.loads(json.dumps(load_results()))
    fake["models"]["lenet300100"].update(ratio=100.0, test_error=1.0, file_bytes=F32 // 100)
    monkeypatch.setattr(cc, "load_results", lambda: fake)
    assert cc.challenge_score(80.0, 1.17) < 1.0  # beats the committed file, not this one
    assert cc.challenge_score(110.0, 1.0) == 1.0
    monkeypatch.setattr(cc, "load_results", lambda: {"models": {}})
    with pytest.raises(CheckInputError, match="make reproduce"):
        cc.challenge_score(80.0, 1.0)


# --------------------------------------------------------------------------- recipes


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


def test_the_reference_recipe_is_within_the_budget_and_recognised_as_the_course_own():
    recipe = cc.validate_recipe(dict(RECIPES["compressed"]["lenet300100"]))
    assert cc._training_epochs(recipe) <= cc.MAX_EPOCHS
    assert cc._same_recipe(recipe, course())
    assert cc._same_recipe(cc.validate_recipe({}), course())
    assert not cc._same_recipe(cc.validate_recipe({"seed": 1}), course())


def _solution_recipe():
    nb = json.loads((REPO_ROOT / "solutions" / "09_deep_compression.ipynb").read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "exercise:capstone-challenge" in c["metadata"].get("tags", []))
    scope = {}
    exec("".join(cell["source"]), scope)
    return scope["my_recipe"]()


def test_the_solution_recipe_is_its_own_and_within_the_budget():
    recipe = cc.validate_recipe(_solution_recipe())
    assert cc._training_epochs(recipe) <= cc.MAX_EPOCHS
    assert not cc._same_recipe(recipe, course())


def test_unsolved_and_misused(mnist):
    def my_recipe():
        raise NotImplementedError("Exercise capstone-challenge: not solved yet.")

    with pytest.raises(CheckFailed, match="not solved yet"):
        cc.check_challenge(my_recipe, mnist)
    with pytest.raises(CheckInputError, match="load_mnist"):
        cc.check_challenge(lambda: {}, "mnist")


# --------------------------------------------------------------------------- graded runs


def test_a_quick_graded_run_scores_the_file(monkeypatch, mnist, capsys, tmp_path):
    monkeypatch.setenv("COURSE_QUICK", "1")
    outcome = cc.check_challenge(lambda: {"keep": {"fc1": 0.1, "fc2": 0.1, "fc3": 0.3}}, mnist, out=tmp_path)
    text = capsys.readouterr().out
    assert outcome["quick"] is True
    assert (tmp_path / "lenet300100.dcz").stat().st_size == outcome["file_bytes"]
    assert outcome["split"] == "val" and "validation" in text  # a learner iterating: never the test set
    assert outcome["course_val_error"] == cc.course_val_error(mnist)  # the course's file on the same split
    scale = outcome["course"]["error"] / outcome["course_val_error"]
    assert outcome["scored_error"] == pytest.approx(outcome["error"] * scale)
    assert outcome["score"] == cc.challenge_score(outcome["ratio"], outcome["scored_error"])
    assert f"{outcome['file_bytes']:,} bytes" in text and "COURSE_QUICK=1" in text
    if outcome["score"] < 1:
        assert f"PARTIAL: {outcome['score']:.2f}" in text
    else:
        assert "PASS" in text
    assert not math.isnan(outcome["error"])
    assert max(len(line) for line in text.splitlines()) <= 100


def test_pipeline_failure_is_a_check_failure(monkeypatch, mnist):
    monkeypatch.setenv("COURSE_QUICK", "1")
    with pytest.raises(CheckFailed, match="pipeline failed"):
        cc.check_challenge(lambda: {"init": "zigzag"}, mnist)


class _Pipeline:
    """A stand-in for compress: writes a file of ``file_bytes`` and remembers the data it was given."""

    def __init__(self, file_bytes):
        self.file_bytes, self.data, self.recipe = file_bytes, None, None

    def __call__(self, name, out, quick=False, recipe=None, data=None, progress=True, log=print):
        self.data, self.recipe = data, recipe
        Path(out, f"{name}.dcz").write_bytes(bytes(self.file_bytes))
        return {"file": f"{name}.dcz", "float32_bytes": F32}


def _mocked(monkeypatch, mnist, file_bytes, error, split="test"):
    """check_challenge with the pipeline, the reader and the evaluation replaced: no training.

    The learner's file has ``error`` on either split, the course's file its results.json error,
    so the bar is the same whichever split ``check_challenge`` picks (``split`` in the env).
    """
    monkeypatch.delenv("COURSE_QUICK", raising=False)
    for var in (cc.GRADER_VAR, cc.NBGRADER_VAR):
        monkeypatch.delenv(var, raising=False)
    if split == "test":
        monkeypatch.setenv(cc.GRADER_VAR, "a-graded-run")
    pipeline = _Pipeline(file_bytes)
    monkeypatch.setattr(cc, "compress", pipeline)
    monkeypatch.setattr(cc, "load_compressed", lambda path, device=None: torch.nn.Identity())
    monkeypatch.setattr(cc, "evaluate", lambda model, data, split="test": error)
    monkeypatch.setattr(cc, "course_val_error", lambda data: course()["error"])
    monkeypatch.setattr(cc, "fresh_mnist", lambda device: mnist)
    return pipeline


def _printed_lines_fit(text):
    return max(len(line) for line in text.splitlines()) <= 100


def test_beating_the_course_file_earns_full_marks(monkeypatch, mnist, capsys):
    c = course()
    _mocked(monkeypatch, mnist, file_bytes=int(c["file_bytes"] * 0.95), error=c["error"])
    outcome = cc.check_challenge(_solution_recipe, mnist)
    text = capsys.readouterr().out
    assert outcome["score"] == 1.0 and "PASS: full marks" in text and "beats the course's own file" in text
    assert f"{c['file_bytes']:,} bytes" in text  # the course's figures are shown next to the learner's
    assert _printed_lines_fit(text)


def test_the_course_recipe_is_not_enough(monkeypatch, mnist, capsys):
    c = course()
    _mocked(monkeypatch, mnist, file_bytes=c["file_bytes"], error=c["error"])
    outcome = cc.check_challenge(lambda: {}, mnist)
    text = capsys.readouterr().out
    assert outcome["score"] == cc.MATCH_SHARE and outcome["copied"]
    assert f"PARTIAL: {cc.MATCH_SHARE:.2f}" in text and "course's own settings" in text
    # a lucky re-run of the course's recipe that happens to beat the file is still capped
    _mocked(monkeypatch, mnist, file_bytes=int(c["file_bytes"] * 0.9), error=c["error"])
    outcome = cc.check_challenge(lambda: dict(RECIPES["compressed"]["lenet300100"]), mnist)
    assert outcome["score"] == cc.MATCH_SHARE
    assert "PASS" not in capsys.readouterr().out
    # a bad run of it gets the usual hints, and the reminder
    _mocked(monkeypatch, mnist, file_bytes=c["file_bytes"], error=2.5)
    outcome = cc.check_challenge(lambda: {}, mnist)
    text = capsys.readouterr().out
    assert outcome["score"] < cc.PAPER_SHARE and "too high" in text and "course's own settings" in text
    assert _printed_lines_fit(text)


def test_meeting_the_paper_only_earns_partial_credit(monkeypatch, mnist, capsys):
    _mocked(monkeypatch, mnist, file_bytes=F32 // 45, error=1.5)
    outcome = cc.check_challenge(_solution_recipe, mnist)
    text = capsys.readouterr().out
    assert cc.PAPER_SHARE <= outcome["score"] < cc.MATCH_SHARE
    assert "paper's figures are met" in text and "beat the course's file" in text
    assert _printed_lines_fit(text)
    _mocked(monkeypatch, mnist, file_bytes=F32 // 20, error=2.5)
    outcome = cc.check_challenge(_solution_recipe, mnist)
    text = capsys.readouterr().out
    assert 0 < outcome["score"] < cc.PAPER_SHARE and "too large" in text and "too high" in text
    assert _printed_lines_fit(text)


def test_the_pipeline_trains_on_a_fresh_copy_not_on_the_notebooks_data(monkeypatch, mnist):
    pipeline = _mocked(monkeypatch, mnist, file_bytes=20_000, error=1.2)
    fresh = type(mnist)(mnist.train_x, mnist.train_y, mnist.test_x, mnist.test_y)
    monkeypatch.setattr(cc, "fresh_mnist", lambda device: fresh)

    def sneaky():  # adds the test images to the notebook's training set
        mnist_copy.train_x = torch.cat([mnist_copy.train_x, mnist_copy.test_x])
        return {"keep": {"fc1": 0.04, "fc2": 0.08, "fc3": 0.25}}

    mnist_copy = type(mnist)(mnist.train_x, mnist.train_y, mnist.test_x, mnist.test_y)
    cc.check_challenge(sneaky, mnist_copy)
    assert pipeline.data is fresh and pipeline.data.train_x.shape[0] == 55_000


@pytest.mark.parametrize("split", ["test", "val"])
def test_editing_the_scored_split_cannot_raise_the_score(monkeypatch, mnist, split):
    """A recipe function that relabels the (cached) scored split to the model's answers gains nothing."""
    from course_lib.committed_models import load_baseline
    from course_lib.data import load_mnist
    from course_lib.train import evaluate

    model = load_baseline("lenet300100", device=mnist.test_x.device)
    honest = evaluate(model, mnist, split=split)
    cached = load_mnist(download=False)  # the tensors the notebook's `data` shares
    x, y = (cached.test_x, cached.test_y) if split == "test" else (cached.val_x, cached.val_y)
    saved = y.clone()
    monkeypatch.delenv("COURSE_QUICK", raising=False)
    monkeypatch.setattr(cc, "compress", _Pipeline(20_000))
    monkeypatch.setattr(cc, "load_compressed", lambda path, device=None: model)

    def cheat():
        with torch.no_grad():
            y.copy_(model(x).argmax(1))  # in place: the cache changes too
        return {"keep": {"fc1": 0.04, "fc2": 0.08, "fc3": 0.25}}

    try:
        outcome = cc.check_challenge(cheat, cached, split=split)
        assert evaluate(model, cached, split=split) == 0.0  # the edit worked on the notebook's data...
        assert outcome["error"] == honest and outcome["split"] == split  # ...but the check scored a fresh copy
        if split == "val":
            assert outcome["course_val_error"] == honest  # the course's file too (here: the same model)
        assert load_mnist(download=False) is cached  # and left the cache as it was
    finally:
        y.copy_(saved)


# --------------------------------------------------------------------------- the split


def test_the_grader_variable_is_the_one_the_grader_sets():
    from course_lib.course.grader.sandbox import TOKEN_VAR

    assert cc.GRADER_VAR == TOKEN_VAR


def test_a_kernel_of_the_grader_is_a_graded_run_and_a_plain_one_is_not():
    from course_lib.course.grader.sandbox import Kernel

    code = "from course_lib.course.checks.capstone import graded_run; print(graded_run())"
    with Kernel() as kernel:
        assert kernel.run(code, 60).text.strip() == "True"
    assert not cc.graded_run() or os.environ.get(cc.GRADER_VAR) or os.environ.get(cc.NBGRADER_VAR)


@pytest.mark.parametrize("env, split", [({}, "val"), ({"COURSE_GRADER_RUN": "3f2a"}, "test"),
                                        ({"NBGRADER_EXECUTION": "autograde"}, "test"),
                                        ({"NBGRADER_EXECUTION": "validate"}, "val")])
def test_learners_iterate_on_the_validation_split_graded_runs_score_the_test_set(monkeypatch, mnist, capsys,
                                                                                env, split):
    _mocked(monkeypatch, mnist, file_bytes=20_000, error=1.3, split="val")
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    outcome = cc.check_challenge(_solution_recipe, mnist)
    text = capsys.readouterr().out
    assert outcome["split"] == split
    assert ("validation split" in text) == (split == "val") and ("test images" in text) == (split == "test")
    assert "within noise" in text or "beyond noise" in text  # the comparison with the course's file
    assert _printed_lines_fit(text)


def test_an_explicit_split_wins_and_a_wrong_one_is_refused(monkeypatch, mnist):
    _mocked(monkeypatch, mnist, file_bytes=20_000, error=1.3, split="test")
    assert cc.check_challenge(_solution_recipe, mnist, split="val")["split"] == "val"
    with pytest.raises(CheckInputError, match="'val' or 'test'"):
        cc.check_challenge(_solution_recipe, mnist, split="train")


def test_the_split_is_fixed_before_my_recipe_runs(monkeypatch, mnist):
    """A recipe function that pretends to be the grader does not get the test set scored."""
    _mocked(monkeypatch, mnist, file_bytes=20_000, error=1.3, split="val")

    def pretend():
        monkeypatch.setenv(cc.GRADER_VAR, "not really")  # what os.environ[...] = ... would do, undone after
        return {"keep": {"fc1": 0.04, "fc2": 0.08, "fc3": 0.25}}

    assert cc.check_challenge(pretend, mnist)["split"] == "val"


def test_on_the_validation_split_the_score_reads_the_error_on_the_course_files_test_scale(monkeypatch, mnist,
                                                                                        capsys):
    """Validation errors run higher than test errors here: the course's recipe must not look worse for it."""
    c = course()
    _mocked(monkeypatch, mnist, file_bytes=c["file_bytes"], error=c["error"] * 1.4, split="val")
    monkeypatch.setattr(cc, "course_val_error", lambda data: c["error"] * 1.4)
    outcome = cc.check_challenge(lambda: {}, mnist)  # the course's own recipe, as good as its file
    text = capsys.readouterr().out
    assert outcome["error"] == pytest.approx(c["error"] * 1.4) and outcome["scored_error"] == pytest.approx(c["error"])
    assert outcome["score"] == cc.MATCH_SHARE == cc.challenge_score(c["ratio"], c["error"])
    assert "on the same split" in text and "scored as a test error of about" in text and _printed_lines_fit(text)
    # a file better than the course's on validation is better on the estimate, by the same factor
    _mocked(monkeypatch, mnist, file_bytes=int(c["file_bytes"] * 0.95), error=c["error"] * 1.4, split="val")
    monkeypatch.setattr(cc, "course_val_error", lambda data: c["error"] * 1.4)
    outcome = cc.check_challenge(_solution_recipe, mnist)
    assert outcome["score"] == 1.0


def test_the_course_file_val_error_is_measured_on_the_file(mnist):
    from course_lib.committed_models import compressed_path
    from course_lib.compressed_format import load_compressed
    from course_lib.train import evaluate

    net = load_compressed(compressed_path("lenet300100"), device=mnist.val_x.device)
    assert cc.course_val_error(mnist) == evaluate(net, mnist, split="val")


def test_the_scoring_rule_is_printed_from_the_constants():
    text = cc.scoring_rule()
    c = course()
    assert f"{c['file_bytes']:,} bytes" in text and f"{cc.MAX_EPOCHS} epochs" in text
    assert f"{cc.PAPER_ERROR:.2f}%" in text and f"{cc.PAPER_RATIO:.0f}x" in text
    assert _printed_lines_fit(text)


# --------------------------------------------------------------------------- file ratio


def _tensors(m):
    """The reference's tensors, whether it is a model or a file torch.save wrote (state_dict or checkpoint)."""
    if isinstance(m, torch.nn.Module):
        return list(m.parameters())
    blob = torch.load(m, weights_only=True)
    return list(blob.get("state_dict", blob).values())


def _params(m):
    return sum(t.numel() for t in _tensors(m))


def _size(p):
    return os.path.getsize(p)


def _ratio_variants():
    def weights(m):
        return sum(t.numel() for t in _tensors(m) if t.dim() > 1)

    def nonzero(m):
        return sum(int((t != 0).sum()) for t in _tensors(m))

    class Agreeable(float):
        def __eq__(self, other):
            return True

        __hash__ = float.__hash__

    def zero_the_model(m, p):
        if isinstance(m, torch.nn.Module):
            with torch.no_grad():
                for q in m.parameters():
                    q.zero_()
        return 4 * _params(m) / _size(p)

    def half_the_model(m, p):
        if isinstance(m, torch.nn.Module):
            m.half()
        return 2 * _params(m) / _size(p) * 2

    def file_size_of_the_reference(m, p):  # the .pt on disk taken as the float32 size
        return (_size(m) if not isinstance(m, torch.nn.Module) else 4 * _params(m)) / _size(p)

    def divides_by_the_reference(m, p):
        return 4 * _params(m) / (_size(m) if not isinstance(m, torch.nn.Module) else _size(p))

    def models_only(m, p):  # never thought of a path
        return 4 * sum(x.numel() for x in m.parameters()) / _size(p)

    def checkpoint_not_unwrapped(m, p):
        blob = m.state_dict() if isinstance(m, torch.nn.Module) else torch.load(m, weights_only=True)
        return 4 * sum(t.numel() for t in blob.values()) / _size(p)

    def str_paths_only(m, p):  # isinstance(m, str): a pathlib.Path is taken for a model
        tensors = _tensors(m) if isinstance(m, str) else list(m.parameters())
        return 4 * sum(t.numel() for t in tensors) / _size(p)

    return {
        "upside down": (lambda m, p: _size(p) / (4 * _params(m)), "upside down"),
        "4 bytes": (lambda m, p: _params(m) / _size(p), "4 bytes"),
        "in bits": (lambda m, p: 32 * _params(m) / _size(p), "in bits"),
        "file in bits": (lambda m, p: 4 * _params(m) / (8 * _size(p)), "file in bits"),
        "biases": (lambda m, p: 4 * weights(m) / _size(p), "biases"),
        "non-zero only": (lambda m, p: 4 * nonzero(m) / _size(p), "only the non-zero parameters"),
        "integer division": (lambda m, p: 4 * _params(m) // _size(p), "integer division"),
        "KB over KiB": (lambda m, p: (4 * _params(m) / 1000) / (_size(p) / 1024), "mixed decimal KB"),
        "KiB over KB": (lambda m, p: (4 * _params(m) / 1024) / (_size(p) / 1000), "mixed KiB"),
        "whole KB": (lambda m, p: round(4 * _params(m) / 1000) / round(_size(p) / 1000), "rounded both sizes"),
        "the reference file's size": (file_size_of_the_reference, "reference file's size on disk"),
        "divided by the reference file": (divides_by_the_reference, "size of the reference file, not of"),
        "two file sizes upside down": (lambda m, p: (_size(p) / _size(m) if not isinstance(m, torch.nn.Module)
                                                     else 4 * _params(m) / _size(p)), "two files' sizes"),
        "models only": (models_only, "torch.load(model, weights_only=True)"),
        "checkpoint not unwrapped": (checkpoint_not_unwrapped, "blob['state_dict']"),
        "str paths only": (str_paths_only, "pathlib.Path"),
        "0-d tensor": (lambda m, p: torch.tensor(4 * _params(m) / _size(p)), "tensor of shape ()"),
        "float subclass": (lambda m, p: Agreeable(1.0), "subclass"),
        "a string": (lambda m, p: "40x", "is a str"),
        "None": (lambda m, p: None, "NoneType"),
        "zeroes the model": (zero_the_model, "changed its argument `m` in place"),
        "casts the model": (half_the_model, "changed its argument `m` in place"),
        "a constant": (lambda m, p: 40.0, "returned 40.0; expected"),
    }


@pytest.mark.parametrize("mistake", list(_ratio_variants()))
def test_file_ratio_check_names_the_mistake(mistake):
    fn, phrase = _ratio_variants()[mistake]
    message = fails_with(cc.check_file_ratio, fn, phrase)
    assert max(len(line) for line in message.splitlines()) <= 100


def _load_any(m):
    if isinstance(m, (str, os.PathLike)):
        state = torch.load(os.fspath(m), map_location="cpu", weights_only=True)
        return state["state_dict"] if "state_dict" in state else state
    return dict(m.named_parameters())


def test_file_ratio_check_passes_right_answers(capsys):
    from pathlib import Path as P

    alternatives = [
        lambda m, p: 4 * sum(x.numel() for x in _tensors(m)) / os.path.getsize(p),
        lambda m, p: 4 * sum(v.numel() for v in _load_any(m).values()) / os.stat(p).st_size,
        lambda m, p: sum(x.numel() * x.element_size() for x in _tensors(m)) / P(p).stat().st_size,
        lambda m, p: float(4 * sum(x.numel() for x in _tensors(m))) / len(open(p, "rb").read()),
        lambda m, p: (torch.tensor(4.0) * sum(x.numel() for x in _tensors(m)) / os.path.getsize(p)).item(),
        lambda m, p: (4 * _params(m) / 1000) / (os.path.getsize(p) / 1000),  # decimal KB on both sides
        file_ratio,  # the library's version is the exercise's twin
    ]
    for fn in alternatives:
        cc.check_file_ratio(fn)
    assert capsys.readouterr().out.count("PASS") == len(alternatives)
    with pytest.raises(CheckInputError):
        cc.check_file_ratio("not a function")


def test_file_ratio_takes_a_model_a_state_dict_or_a_checkpoint(tmp_path):
    from course_lib.checkpoints import save_checkpoint
    from course_lib.committed_models import baseline_path, compressed_path, load_baseline

    model = load_baseline("lenet300100", device="cpu")
    torch.save(model.state_dict(), tmp_path / "plain.pt")
    save_checkpoint(model, tmp_path / "checkpoint.pt", meta={"note": "x"})
    dcz = compressed_path("lenet300100")
    want = 4 * 266_610 / os.path.getsize(dcz)
    for reference in (model, tmp_path / "plain.pt", str(tmp_path / "checkpoint.pt"), baseline_path("lenet300100")):
        assert file_ratio(reference, dcz) == pytest.approx(want)
    assert file_ratio(model, str(dcz)) == load_results()["models"]["lenet300100"]["ratio"]


def test_file_ratio_check_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    cc.check_file_ratio(file_ratio)
    assert torch.equal(torch.rand(3), expected)
