"""Check of notebook 08's final challenge: your own Deep Compression recipe, scored by the grader.

The learner writes ``my_recipe()``, returning settings for
:func:`course_lib.pipeline.compress` on LeNet-300-100 (keep rates, bits, epochs,
learning rates, ...). :func:`check_challenge` runs the whole pipeline with them,
writes the ``.dcz`` file, reads it back, and scores **the file**: its size on disk
and the test error of the model read from it, on all 10,000 test images.

Score (a fraction of the check's points, printed as ``PARTIAL: x`` for the grader):

- size part: ``log(ratio / 10) / log(40 / 10)`` clipped to [0, 1]; 10x earns nothing,
  the paper's 40x ([DC] Table 1) earns all of it;
- error part: ``(4.0 - error) / (4.0 - 1.58)`` clipped to [0, 1]; the paper's 1.58%
  earns all of it, 4% nothing;
- score = size part x error part: a tiny file with a useless model scores 0, and so
  does an accurate model that is not compressed.

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

from ...budget import is_quick
from ...compressed_format import load_compressed
from ...models import build_model
from ...paper import DC_TABLE1
from ...pipeline import GOAL_RATIO, compress
from ...train import evaluate
from ...recipes import QUICK, RECIPES, recipe_for
from .core import CheckFailed, CheckInputError, call, fail, partial, passed

MODEL = "lenet300100"
PAPER_ERROR = DC_TABLE1[MODEL]["compressed_error"]  # [DC] Table 1, LeNet-300-100 compressed
PAPER_RATIO = float(DC_TABLE1[MODEL]["ratio"])
ZERO_RATIO = 10.0  # no size credit at or below this ratio
ZERO_ERROR = 4.0  # no error credit at or above this test error (%)
MAX_EPOCHS = 30
BUDGET_KEYS = ("prune_steps", "prune_epochs", "finetune_epochs", "train_subset")


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


def challenge_score(ratio: float, error: float) -> float:
    """The fraction of the challenge's points a file earns: ``size_part * error_part``, 2 decimals."""
    return round(size_part(ratio) * error_part(error), 2)


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


def check_challenge(my_recipe: Callable[[], dict], data, out: str | os.PathLike | None = None,
                    log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the pipeline with ``my_recipe()``, score the file it writes, and print the score.

    ``data`` is the MNIST of :func:`course_lib.data.load_mnist`. ``out`` is where the
    ``.dcz`` file goes (a temporary folder by default). Returns ``{"ratio", "error",
    "file_bytes", "score", ...}``. Raises :class:`CheckFailed` when the settings are
    invalid or the pipeline fails; prints ``PARTIAL: x`` when the score is below 1.
    """
    if not hasattr(data, "test_x") or not hasattr(data, "train_x"):
        raise CheckInputError(f"Pass the MNIST data of load_mnist() as the second argument, not {type(data).__name__}.")
    settings = call(my_recipe, exercise="capstone-challenge")
    recipe = validate_recipe(settings)
    quick = is_quick()
    if quick:
        recipe.update({k: QUICK[k] for k in BUDGET_KEYS})
    tmp = None
    if out is None:
        tmp = tempfile.TemporaryDirectory()
        out = tmp.name
    try:
        try:
            result = compress(MODEL, out, quick=quick, recipe=recipe, data=data, progress=False,
                              log=log or (lambda s: None))
        except CheckFailed:
            raise
        except Exception as exc:  # the learner's settings broke the pipeline
            fail(f"the pipeline failed with your settings: {type(exc).__name__}: {exc}")
        path = Path(out) / result["file"]
        file_bytes = os.path.getsize(path)
        model = load_compressed(path, device=data.test_x.device)
        error = evaluate(model, data)
    finally:
        if tmp is not None:
            tmp.cleanup()
    ratio = result["float32_bytes"] / file_bytes
    score = challenge_score(ratio, error)
    print(f"your file: {file_bytes:,} bytes, ratio {ratio:.1f}x (size part {size_part(ratio):.2f}); "
          f"test error read back {error:.2f}% (error part {error_part(error):.2f}); "
          f"{_training_epochs(recipe)} epochs of training")
    print(f"[DC] Table 1: {PAPER_RATIO:.0f}x at {PAPER_ERROR:.2f}%; the course's goal: {GOAL_RATIO:.0f}x at the same error")
    if quick:
        print("COURSE_QUICK=1: trained with the reduced test budget, so this score only shows the pipeline runs.")
    outcome = {"ratio": ratio, "error": error, "file_bytes": file_bytes, "score": score,
               "size_part": size_part(ratio), "error_part": error_part(error), "recipe": recipe, "quick": quick}
    if score >= 1.0:
        beat = ratio >= GOAL_RATIO
        passed(f"full marks: {ratio:.1f}x at {error:.2f}% meets the paper's {PAPER_RATIO:.0f}x at {PAPER_ERROR:.2f}%"
               + (f", and beats the course's {GOAL_RATIO:.0f}x goal." if beat else "."))
        return outcome
    hints = []
    if size_part(ratio) < 1:
        hints.append("the file is too large: keep fewer weights in fc1 (the biggest layer) or use fewer bits")
    if error_part(error) < 1:
        hints.append("the error is too high: retrain longer after pruning, prune in more rounds, or keep more weights")
    partial(score, "; ".join(hints) + ".")
    return outcome


# ---------------------------------------------------------------------------
# Exercise: the compression ratio of a file on disk
# ---------------------------------------------------------------------------


def check_file_ratio(file_ratio: Callable) -> None:
    """``file_ratio(model, path)``: float32 parameter bytes of ``model`` over ``os.path.getsize(path)``."""
    model = build_model("lenet300100")
    params = sum(p.numel() for p in model.parameters())
    with tempfile.TemporaryDirectory() as tmp:
        for size in (1000, 26_661, 4 * params):
            path = Path(tmp) / f"model_{size}.dcz"
            path.write_bytes(bytes(size))
            got = call(file_ratio, model, path, exercise="file-ratio")
            if isinstance(got, torch.Tensor) and got.numel() == 1:
                got = got.item()
            if not isinstance(got, (int, float)) or isinstance(got, bool):
                fail(f"file_ratio must return a number (a Python float), got {type(got).__name__}.")
            want = 4 * params / size
            if math.isclose(got, want, rel_tol=1e-9):
                continue
            if math.isclose(got, size / (4 * params), rel_tol=1e-9):
                fail("the ratio is upside down: divide the float32 bytes of the model by the file's bytes.")
            if math.isclose(got, params / size, rel_tol=1e-9):
                fail("you divided the number of parameters by the file's bytes: each float32 parameter takes 4 bytes.")
            if math.isclose(got, 32 * params / size, rel_tol=1e-9):
                fail("you counted the model in bits (32 per parameter) but the file in bytes: use 4 bytes per parameter.")
            if math.isclose(got, 4 * params / (8 * size), rel_tol=1e-9):
                fail("you counted the file in bits: os.path.getsize gives bytes already.")
            weights = sum(m.weight.numel() for m in model.modules() if hasattr(m, "weight") and m.weight is not None)
            if math.isclose(got, 4 * weights / size, rel_tol=1e-9):
                fail("you left out the biases: count every parameter, model.parameters() yields weights and biases.")
            fail(f"for a file of {size:,} bytes the ratio is {want:.3f}, you returned {got!r}. "
                 "Use 4 * (number of parameters) / os.path.getsize(path).")
    passed("file_ratio divides the float32 bytes of every parameter by the bytes of the file on disk.")
