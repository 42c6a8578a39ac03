"""Check of notebook 09's final challenge: your own Deep Compression recipe, scored by the grader.

The learner writes ``my_recipe()``, returning settings for
:func:`course_lib.pipeline.compress` on LeNet-300-100 (keep rates, bits, epochs,
learning rates, ...). :func:`check_challenge` runs the whole pipeline with them,
writes the ``.dcz`` file, reads it back, and scores **the file**: its size on disk
and the test error of the model read from it, on all 10,000 test images.

The bar is the course's own committed file (``make reproduce``, read from
``course_lib/artifacts/compressed/results.json`` by :func:`course_file`, never typed
here): copying the course's recipe is not enough for full marks. The score (a fraction
of the check's points, printed as ``PARTIAL: x`` for the grader):

- below the paper's figures ([DC] Table 1, 40x at 1.58%): ``PAPER_SHARE x size part x
  error part``, where the size part is ``log(ratio / 10) / log(40 / 10)`` and the error
  part ``(4.0 - error) / (4.0 - 1.58)``, both clipped to [0, 1]; a tiny file with a
  useless model scores 0, and so does an accurate model that is not compressed;
- at the paper's figures or better, on both counts: from ``PAPER_SHARE`` (0.7) up to
  ``MATCH_SHARE`` (0.9) as the file's *size x error* (file bytes times test error, the
  smaller the better) goes from the paper's to the course's file, on a log scale;
- full marks only for **beating** the course's file: size x error at least
  ``BEAT_MARGIN`` (1%) below it, with a recipe that is not the course's own (a re-run of
  the course's recipe is capped at ``MATCH_SHARE``, whatever the noise of training).

The error is measured on a fresh copy of the test set (:func:`fresh_mnist`), and the
pipeline trains on a fresh copy of the training set: the ``data`` handed to the check
only says on which device to work, so a recipe function that edits the notebook's
``data`` (or the tensors it shares with ``load_mnist()``'s cache) cannot raise its score.

Training budget: at most :data:`MAX_EPOCHS` epochs over the training set in total
(prune rounds plus centroid fine-tuning), so grading a notebook takes minutes.
Under ``COURSE_QUICK=1`` (the test suite) the budget is the reduced one of
``make reproduce ARGS=--quick`` whatever the recipe says, and the score
is printed but only means that the pipeline ran.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

from ... import data as data_module
from ...budget import is_quick
from ...compressed_format import load_compressed
from ...models import build_model
from ...paper import DC_TABLE1
from ...pipeline import compress
from ...results import load_results
from ...train import evaluate
from ...recipes import QUICK, RECIPES, recipe_for
from .core import (CheckFailed, CheckInputError, as_float, call, call_unchanged, fail, mismatch, partial, passed,
                   wrap_message)



MODEL = "lenet300100"
PAPER_ERROR = DC_TABLE1[MODEL]["compressed_error"]  # [DC] Table 1, LeNet-300-100 compressed
PAPER_RATIO = float(DC_TABLE1[MODEL]["ratio"])
ZERO_RATIO = 10.0  # no size credit at or below this ratio
ZERO_ERROR = 4.0  # no error credit at or above this test error (%)
PAPER_SHARE = 0.7  # the score of a file that meets [DC] Table 1 on size and error
MATCH_SHARE = 0.9  # the score of a file as good as the course's own (size x error)
BEAT_MARGIN = 0.01  # full marks: size x error at least this fraction below the course's file
MAX_EPOCHS = 30
BUDGET_KEYS = ("prune_steps", "prune_epochs", "finetune_epochs", "train_subset")


def course_file() -> dict[str, Any]:
    """The course's own committed LeNet-300-100 file, from ``results.json``: ratio, error, bytes, recipe."""
    entry = load_results().get("models", {}).get(MODEL)
    if not entry:
        raise CheckInputError("course_lib/artifacts/compressed/results.json has no LeNet-300-100 entry, so the "
                              "challenge has no bar to beat: run `make reproduce` (or restore the file from git).")
    return {"ratio": float(entry["ratio"]), "error": float(entry["test_error"]),
            "file_bytes": int(entry["file_bytes"]), "float32_bytes": int(entry["float32_bytes"]),
            "recipe": dict(entry.get("recipe", {}))}


def size_part(ratio: float) -> float:
    """0 at 10x, 1 at the paper's 40x and above, linear in log(ratio) in between."""
    if not ratio > 0:
        return 0.0
    return min(1.0, max(0.0, math.log(ratio / ZERO_RATIO) / math.log(PAPER_RATIO / ZERO_RATIO)))


def error_part(error: float) -> float:
    """1 at the paper's 1.58% and below, 0 at 4% and above, linear in between."""
    if math.isnan(error):
        return 0.0
    return min(1.0, max(0.0, (ZERO_ERROR - error) / (ZERO_ERROR - PAPER_ERROR)))


def size_x_error(ratio: float, error: float, float32_bytes: float) -> float:
    """File bytes times test error (%): the smaller, the better on both counts at once."""
    return float32_bytes / ratio * error


def beats_course(ratio: float, error: float, course: dict[str, Any] | None = None) -> bool:
    """Is size x error at least :data:`BEAT_MARGIN` below the course's committed file?"""
    course = course_file() if course is None else course
    if not ratio > 0 or math.isnan(error):
        return False
    bar = size_x_error(course["ratio"], course["error"], course["float32_bytes"])
    return size_x_error(ratio, error, course["float32_bytes"]) <= (1 - BEAT_MARGIN) * bar


def challenge_score(ratio: float, error: float, course: dict[str, Any] | None = None) -> float:
    """The fraction of the challenge's points a file earns (2 decimals); see the module's docstring."""
    course = course_file() if course is None else course
    paper = size_part(ratio) * error_part(error)
    if paper < 1:
        return round(PAPER_SHARE * paper, 2)
    if beats_course(ratio, error, course):
        return 1.0
    f32 = course["float32_bytes"]
    start = size_x_error(PAPER_RATIO, PAPER_ERROR, f32)
    bar = size_x_error(course["ratio"], course["error"], f32)
    mine = size_x_error(ratio, error, f32)
    progress = math.log(start / mine) / math.log(start / bar) if mine > 0 else 1.0
    return round(PAPER_SHARE + (MATCH_SHARE - PAPER_SHARE) * min(1.0, max(0.0, progress)), 2)


def _training_epochs(recipe: dict[str, Any]) -> int:
    return int(sum(recipe["prune_epochs"])) + int(recipe["finetune_epochs"])


def validate_recipe(settings: Any) -> dict[str, Any]:
    """The full recipe built from the learner's settings; a clear ``CheckFailed`` when they are wrong."""
    if not isinstance(settings, dict):
        fail(f"my_recipe() must return a dict of settings, e.g. {{'keep': {{'fc1': 0.05, ...}}}}; "
             f"it returned {type(settings).__name__}.")
    try:
        recipe = recipe_for(MODEL, **settings)
    except ValueError as exc:
        fail(f"these settings are not a recipe: {exc}")
    layers = set(RECIPES["compressed"][MODEL]["keep"])
    for key in ("keep", "bits"):
        if not isinstance(recipe[key], dict) or set(recipe[key]) != layers:
            fail(f"'{key}' must give a value for each layer {sorted(layers)}, got {recipe[key]!r}.")
    for layer, keep in recipe["keep"].items():
        if not isinstance(keep, (int, float)) or not 0 < keep <= 1:
            fail(f"keep[{layer!r}] must be a fraction in (0, 1] (0.05 keeps 5% of the weights), got {keep!r}.")
    for layer, bits in recipe["bits"].items():
        if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 8:
            fail(f"bits[{layer!r}] must be an int from 1 to 8 (the file stores at most 256 shared weights), got {bits!r}.")
    epochs = _training_epochs(recipe)
    if epochs > MAX_EPOCHS:
        fail(f"the recipe trains {epochs} epochs (prune_epochs {recipe['prune_epochs']} + finetune_epochs "
             f"{recipe['finetune_epochs']}); the challenge's budget is {MAX_EPOCHS}. Spend fewer.")
    return recipe


def _same_recipe(recipe: dict[str, Any], course: dict[str, Any]) -> bool:
    """Is the learner's recipe the course's committed one (the settings that change the file)?"""
    theirs = course["recipe"]
    keys = [k for k in recipe if k not in ("baseline_epochs", "baseline_lr")]
    return bool(theirs) and all(k in theirs and recipe[k] == theirs[k] for k in keys)


def fresh_mnist(device: torch.device | str) -> data_module.MNISTData:
    """MNIST read again from its (md5-checked) files, whatever happened to the tensors handed out before.

    ``load_mnist()`` caches its tensors per process, and the notebook's ``data`` shares them,
    so code that edits ``data.test_x`` in place edits the cache too. This copy is read
    again from the files (``load_mnist(fresh=True)``) and leaves the cache as it was.
    """
    return data_module.load_mnist(device=device, download=False, fresh=True)


_PARTIAL_WIDTH = 100 - len("PARTIAL CREDIT 0.00: ")  # what is left of the first line


def check_challenge(my_recipe: Callable[[], dict], data, out: str | os.PathLike | None = None,
                    log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the pipeline with ``my_recipe()``, score the file it writes, and print the score.

    ``data`` is the MNIST of :func:`course_lib.data.load_mnist`; only its device is used:
    the pipeline trains, and the file is scored, on a fresh copy (:func:`fresh_mnist`).
    ``out`` is where the ``.dcz`` file goes (a temporary folder by default). Returns
    ``{"ratio", "error", "file_bytes", "score", "course", ...}``. Raises
    :class:`CheckFailed` when the settings are invalid or the pipeline fails; prints
    ``PARTIAL: x`` when the score is below 1 (full marks only for beating the course's file).
    """
    if not hasattr(data, "test_x") or not hasattr(data, "train_x"):
        raise CheckInputError(f"Pass the MNIST data of load_mnist() as the second argument, not {type(data).__name__}.")
    course = course_file()
    settings = call(my_recipe, exercise="capstone-challenge")
    recipe = validate_recipe(settings)
    copied = _same_recipe(recipe, course)
    quick = is_quick()
    if quick:
        recipe.update({k: QUICK[k] for k in BUDGET_KEYS})
    device = data.test_x.device
    mnist = fresh_mnist(device)  # never the tensors my_recipe (or any notebook code) could reach
    tmp = None
    if out is None:
        tmp = tempfile.TemporaryDirectory()
        out = tmp.name
    try:
        try:
            result = compress(MODEL, out, quick=quick, recipe=recipe, data=mnist, progress=False,
                              log=log or (lambda s: None))
        except CheckFailed:
            raise
        except Exception as exc:  # the learner's settings broke the pipeline
            fail(f"the pipeline failed with your settings: {type(exc).__name__}: {exc}")
        path = Path(out) / result["file"]
        file_bytes = os.path.getsize(path)
        model = load_compressed(path, device=device)
        error = evaluate(model, mnist)
    finally:
        if tmp is not None:
            tmp.cleanup()
    ratio = result["float32_bytes"] / file_bytes
    score = challenge_score(ratio, error, course)
    if copied and score >= 1.0:
        score = MATCH_SHARE
    f32 = result["float32_bytes"]
    mine, bar = size_x_error(ratio, error, f32), size_x_error(course["ratio"], course["error"], f32)
    print(f"your file: {file_bytes:,} bytes, ratio {ratio:.1f}x; test error read back {error:.2f}%; "
          f"{_training_epochs(recipe)} epochs")
    print(f"file bytes x error %: yours {mine:,.0f}; the course's file {bar:,.0f} "
          f"({course['file_bytes']:,} bytes, {course['ratio']:.1f}x at {course['error']:.2f}%)")
    print(f"[DC] Table 1: {PAPER_RATIO:.0f}x at {PAPER_ERROR:.2f}% (your size part {size_part(ratio):.2f}, "
          f"error part {error_part(error):.2f})")
    if quick:
        print("COURSE_QUICK=1: trained with the reduced test budget, so this score only shows the pipeline runs.")
    outcome = {"ratio": ratio, "error": error, "file_bytes": file_bytes, "score": score,
               "size_part": size_part(ratio), "error_part": error_part(error), "size_x_error": mine,
               "course": course, "copied": copied, "recipe": recipe, "quick": quick}
    if score >= 1.0:
        passed(wrap_message(f"full marks: {ratio:.1f}x at {error:.2f}% beats the course's own file "
                            f"({course['ratio']:.1f}x at {course['error']:.2f}%) by {1 - mine / bar:.1%} on file "
                            "bytes x error.", 100 - len("PASS: ")))
        return outcome
    copy_note = (f" These are the course's own settings: {MATCH_SHARE} at most. Change them to beat its file."
                 if copied else "")
    if copied and size_part(ratio) * error_part(error) >= 1:
        partial(score, wrap_message("these are the course's own settings: as good as its file at best. "
                                    "Change them to beat it (full marks).", _PARTIAL_WIDTH))
        return outcome
    if size_part(ratio) * error_part(error) >= 1:
        partial(score, wrap_message(f"the paper's figures are met. For full marks beat the course's file by "
                                    f"{BEAT_MARGIN:.0%}: file bytes x error below {(1 - BEAT_MARGIN) * bar:,.0f} "
                                    f"(yours {mine:,.0f}), with a smaller file at this error or a lower error at "
                                    "this size.", _PARTIAL_WIDTH))
        return outcome
    hints = []
    if size_part(ratio) < 1:
        hints.append("the file is too large: keep fewer weights in fc1 (the biggest layer) or use fewer bits")
    if error_part(error) < 1:
        hints.append("the error is too high: retrain longer after pruning, prune in more rounds, or keep more weights")
    partial(score, wrap_message("; ".join(hints) + f". Meeting the paper's figures earns {PAPER_SHARE:.1f}, "
                                "beating the course's file full marks." + copy_note, _PARTIAL_WIDTH))
    return outcome


# ---------------------------------------------------------------------------
# Exercise: the compression ratio of a file on disk
# ---------------------------------------------------------------------------


def _pruned_model() -> torch.nn.Module:
    """LeNet-300-100 with about 90% of its weights pruned to exactly 0 and a few zero biases.

    A model with zeros tells "every parameter" from "the non-zero ones"; the float32 size of
    the model counts them all, as the dense model stores every one. The global RNG is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(8)
        model = build_model(MODEL)
        with torch.no_grad():
            for layer in model.modules():
                if isinstance(layer, torch.nn.Linear):
                    layer.weight.mul_(torch.rand(layer.weight.shape) < 0.1)
                    layer.bias[:3] = 0.0
    return model


def check_file_ratio(file_ratio: Callable) -> None:
    """``file_ratio(model, path)``: float32 bytes of every parameter of ``model`` over ``os.path.getsize(path)``.

    The model is a pruned one (zeros count too: the ratio compares with the dense float32
    model); the answer must be a plain Python number, and the model must stay as it was.
    """
    model = _pruned_model()
    params = sum(p.numel() for p in model.parameters())
    nonzero = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    with tempfile.TemporaryDirectory() as tmp:
        for size in (1000, 26_661, 4 * params):
            path = Path(tmp) / f"model_{size}.dcz"
            path.write_bytes(bytes(size))
            shown = f"file_ratio(model, <a file of {size:,} bytes>)"
            got = call_unchanged(file_ratio, model, path, exercise="file-ratio")
            got = as_float(got, shown)
            want = 4 * params / size
            if math.isclose(got, want, rel_tol=1e-6):  # float32 arithmetic is right too
                continue
            if math.isclose(got, size / (4 * params), rel_tol=1e-9):
                fail(f"{shown} = {got:.4g}: the ratio is upside down: divide the float32 bytes of the model by "
                     "the file's bytes.")
            if math.isclose(got, params / size, rel_tol=1e-9):
                fail(f"{shown} = {got:.4g}: you divided the number of parameters by the file's bytes: each "
                     "float32 parameter takes 4 bytes.")
            if math.isclose(got, 32 * params / size, rel_tol=1e-9):
                fail(f"{shown} = {got:.4g}: you counted the model in bits (32 per parameter) but the file in "
                     "bytes: use 4 bytes per parameter.")
            if math.isclose(got, 4 * params / (8 * size), rel_tol=1e-9):
                fail(f"{shown} = {got:.4g}: you counted the file in bits: os.path.getsize gives bytes already.")
            if math.isclose(got, 4 * nonzero / size, rel_tol=1e-9):
                fail(f"{shown} = {got:.4g}: you counted only the non-zero parameters ({nonzero:,} of {params:,}). "
                     "The ratio compares with the dense float32 model, which stores every parameter, pruned "
                     "zeros included: p.numel(), not count_nonzero.")
            if math.isclose(got, 4 * weights / size, rel_tol=1e-9):
                fail(f"{shown} = {got:.4g}: you left out the biases: count every parameter, model.parameters() "
                     "yields weights and biases.")
            if got == (4 * params) // size:
                fail(f"{shown} = {got!r}: that is integer division (//), which drops the fraction. Use /.")
            fail(mismatch("file_ratio", f"model, <a file of {size:,} bytes>", want, got)
                 + " Use 4 * (number of parameters) / os.path.getsize(path).")
    passed("file_ratio: float32 bytes of every parameter (zeros too) over the file's bytes on disk.")
