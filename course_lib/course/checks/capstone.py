"""Checks of notebook 09: the compression ratio of a file, and the final challenge.

**The challenge.** The learner writes ``my_recipe()``, returning settings for
:func:`course_lib.pipeline.compress` on LeNet-300-100 (keep rates, bits, epochs,
learning rates, ...). :func:`check_challenge` runs the whole pipeline with them,
writes the ``.dcz`` file, reads it back, and scores **the file**: its size on disk
and the error of the model read from it.

Which error: while the learner iterates in the notebook, the **validation** error (the
5,000 held-out training images of ``load_mnist``), next to the course's own file measured
on the same split. The score then reads an estimated test error: the validation error times
the course file's test / validation ratio (the two splits differ in difficulty, and the
paper's figures and the course's bar are test figures), so a re-run of the course's recipe
scores on validation what it scores on test. The test set is touched once, when the notebook
is graded (:func:`graded_run`: ``course-grade`` runs the kernel with ``COURSE_GRADER_RUN``
set, ``nbgrader autograde`` with ``NBGRADER_EXECUTION=autograde``), against the course's test
error from ``results.json``. ``split=`` overrides the choice (for instructors and tests).
The split is fixed before ``my_recipe()`` runs.

The bar is the course's own committed file (``make reproduce``, read from
``course_lib/artifacts/compressed/results.json`` by :func:`course_file`, never typed
here): copying the course's recipe is not enough for full marks. The score (a fraction
of the check's points, printed as ``PARTIAL: x`` for the grader):

- below the paper's figures ([DC] Table 1): ``PAPER_SHARE x size part x error part``,
  where the size part is ``log(ratio / ZERO_RATIO) / log(paper ratio / ZERO_RATIO)`` and
  the error part ``(ZERO_ERROR - error) / (ZERO_ERROR - paper error)``, both clipped to
  [0, 1]; a tiny file with a useless model scores 0, and so does an accurate model that is
  not compressed;
- at the paper's figures or better, on both counts: from ``PAPER_SHARE`` (0.7) up to
  ``MATCH_SHARE`` (0.9) as the file's *size x error* (file bytes times error, the
  smaller the better) goes from the paper's to the course's file, on a log scale;
- full marks only for **beating** the course's file: size x error at least
  ``BEAT_MARGIN`` (1%) below it, with a recipe that is not the course's own (a re-run of
  the course's recipe is capped at ``MATCH_SHARE``, whatever the noise of training).

The error is measured on a fresh copy of MNIST (:func:`fresh_mnist`), and the pipeline
trains on a fresh copy of the training set: the ``data`` handed to the check only says
on which device to work, so a recipe function that edits the notebook's ``data`` (or the
tensors it shares with ``load_mnist()``'s cache) cannot raise its score, on either split.

Training budget: at most :data:`MAX_EPOCHS` epochs over the training set in total
(prune rounds plus centroid fine-tuning), so grading a notebook takes minutes.
Under ``COURSE_QUICK=1`` (the test suite) the budget is the reduced one of
``make reproduce ARGS=--quick`` whatever the recipe says, and the score
is printed but only means that the pipeline ran.

**The file ratio** (:func:`check_file_ratio`): ``file_ratio(model, path)`` with the
reference given as a model, as a saved state_dict and as a course checkpoint, and
compressed files of several sizes; it names the typical mistakes (bits for bytes, the
ratio upside down, biases or pruned zeros left out, the size of the wrong file, KB and
KiB mixed, whole-KB rounding, ``//``).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ... import data as data_module
from ...budget import is_quick
from ...checkpoints import save_checkpoint
from ...committed_models import compressed_path
from ...compressed_format import load_compressed
from ...models import build_model
from ...paper import DC_TABLE1
from ...pipeline import compress
from ...results import error_change, load_results
from ...train import evaluate
from ...recipes import QUICK, RECIPES, recipe_for
from .core import (CheckFailed, CheckInputError, as_float, call, call_unchanged, fail, mismatch, partial, passed,
                   wrap_message)



MODEL = "lenet300100"
PAPER_ERROR = DC_TABLE1[MODEL]["compressed_error"]  # [DC] Table 1, LeNet-300-100 compressed
PAPER_RATIO = float(DC_TABLE1[MODEL]["ratio"])
ZERO_RATIO = 10.0  # no size credit at or below this ratio
ZERO_ERROR = 4.0  # no error credit at or above this error (%)
PAPER_SHARE = 0.7  # the score of a file that meets [DC] Table 1 on size and error
MATCH_SHARE = 0.9  # the score of a file as good as the course's own (size x error)
BEAT_MARGIN = 0.01  # full marks: size x error at least this fraction below the course's file
MAX_EPOCHS = 30
BUDGET_KEYS = ("prune_steps", "prune_epochs", "finetune_epochs", "train_subset")
SPLITS = {"val": "the validation split (5,000 held-out images)", "test": "the 10,000 test images"}
GRADER_VAR = "COURSE_GRADER_RUN"  # set in the kernel by course-grade (grader.sandbox.TOKEN_VAR)
NBGRADER_VAR = "NBGRADER_EXECUTION"  # "autograde" while nbgrader autogrades ("validate" is the learner's)


def graded_run() -> bool:
    """Is this kernel being graded (``course-grade`` or ``nbgrader autograde``), not a learner iterating?"""
    return bool(os.environ.get(GRADER_VAR)) or os.environ.get(NBGRADER_VAR) == "autograde"


def scoring_rule() -> str:
    """The challenge's scoring rule in words, with the figures it uses (printed by notebook 09)."""
    course = course_file()
    return "\n".join([
        f"[DC] Table 1 (LeNet-300-100): {PAPER_RATIO:.0f}x at {PAPER_ERROR:.2f}% error",
        f"the course's file (results.json): {course['file_bytes']:,} bytes, {course['ratio']:.1f}x at "
        f"{course['error']:.2f}% test error",
        f"below the paper's figures: up to {PAPER_SHARE} = size part x error part, where the size part goes",
        f"  from 0 at {ZERO_RATIO:.0f}x to 1 at {PAPER_RATIO:.0f}x (log scale) and the error part from 0 at "
        f"{ZERO_ERROR:.0f}% to 1 at {PAPER_ERROR:.2f}%",
        f"at the paper's figures or better: {PAPER_SHARE} rising to {MATCH_SHARE} as file bytes x error falls "
        "to the course's",
        f"full marks: file bytes x error at least {BEAT_MARGIN:.0%} below the course's file, with your own settings",
        f"budget: {MAX_EPOCHS} epochs in all (sum of prune_epochs + finetune_epochs)",
        "error: on the validation split while you iterate, on the test set (once) when graded",
    ])


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


def course_val_error(mnist: data_module.MNISTData) -> float:
    """The validation error of the course's committed file (``make reproduce``), read back from disk."""
    return evaluate(load_compressed(compressed_path(MODEL), device=mnist.val_x.device), mnist, split="val")


def check_challenge(my_recipe: Callable[[], dict], data, out: str | os.PathLike | None = None,
                    log: Callable[[str], None] | None = None, split: str | None = None) -> dict[str, Any]:
    """Run the pipeline with ``my_recipe()``, score the file it writes, and print the score.

    ``data`` is the MNIST of :func:`course_lib.data.load_mnist`; only its device is used:
    the pipeline trains, and the file is scored, on a fresh copy (:func:`fresh_mnist`).
    ``split`` is the split the file's error is measured on: ``"val"`` while the learner
    iterates (scored as an estimated test error, see the module's docstring), ``"test"`` in
    a graded run (:func:`graded_run`), unless given. ``out`` is where the ``.dcz`` file
    goes (a temporary folder by default). Returns ``{"ratio", "error" (on ``split``),
    "scored_error", "split", "file_bytes", "score", "course", ...}``. Raises :class:`CheckFailed`
    when the settings are invalid or the pipeline fails; prints ``PARTIAL: x`` when the
    score is below 1 (full marks only for beating the course's file).
    """
    if not hasattr(data, "test_x") or not hasattr(data, "train_x"):
        raise CheckInputError(f"Pass the MNIST data of load_mnist() as the second argument, not {type(data).__name__}.")
    split = split if split is not None else ("test" if graded_run() else "val")  # fixed before my_recipe runs
    if split not in SPLITS:
        raise CheckInputError(f"split must be 'val' or 'test', got {split!r}.")
    course = course_file()
    settings = call(my_recipe, exercise="capstone-challenge")
    recipe = validate_recipe(settings)
    copied = _same_recipe(recipe, course)
    quick = is_quick()
    if quick:
        recipe.update({k: QUICK[k] for k in BUDGET_KEYS})
    device = data.test_x.device
    mnist = fresh_mnist(device)  # never the tensors my_recipe (or any notebook code) could reach
    course_val, scale = None, 1.0
    if split == "val":  # the course's file on the same split, measured again, sets the scale
        course_val = course_val_error(mnist)
        scale = course["error"] / course_val if course_val > 0 else 1.0
    n_images = len(mnist.val_y if split == "val" else mnist.test_y)
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
        error = evaluate(model, mnist, split=split)
    finally:
        if tmp is not None:
            tmp.cleanup()
    ratio = result["float32_bytes"] / file_bytes
    scored = error * scale  # the error the score reads: the test error, or its estimate from validation
    score = challenge_score(ratio, scored, course)
    if copied and score >= 1.0:
        score = MATCH_SHARE
    f32 = result["float32_bytes"]
    mine, bar = size_x_error(ratio, scored, f32), size_x_error(course["ratio"], course["error"], f32)
    kind = "validation" if split == "val" else "test"
    print(f"scored on {SPLITS[split]}" + (" (a graded run)" if split == "test" else
                                           "; the grader scores the test set, once"))
    print(f"your file: {file_bytes:,} bytes, ratio {ratio:.1f}x; {kind} error read back {error:.2f}%; "
          f"{_training_epochs(recipe)} epochs")
    if split == "val":
        print(f"the course's file: {course_val:.2f}% on the same split ({course['error']:.2f}% on the test set)")
        print(f"your validation error vs the course file's: {error_change(course_val, error, n_images)}")
        print(f"scored as a test error of about {scored:.2f}% ({error:.2f}% x {course['error']:.2f} / "
              f"{course_val:.2f}, the course file's test / validation)")
    else:
        print(f"your test error vs the course file's: {error_change(course['error'], error, n_images)}")
    print(f"file bytes x error %: yours {mine:,.0f}; the course's file {bar:,.0f} "
          f"({course['file_bytes']:,} bytes, {course['ratio']:.1f}x at {course['error']:.2f}%)")
    print(f"[DC] Table 1: {PAPER_RATIO:.0f}x at {PAPER_ERROR:.2f}% (your size part {size_part(ratio):.2f}, "
          f"error part {error_part(scored):.2f})")
    if quick:
        print("COURSE_QUICK=1: trained with the reduced test budget, so this score only shows the pipeline runs.")
    outcome = {"ratio": ratio, "error": error, "scored_error": scored, "split": split, "file_bytes": file_bytes,
               "score": score, "size_part": size_part(ratio), "error_part": error_part(scored),
               "size_x_error": mine, "course": course, "course_val_error": course_val, "copied": copied,
               "recipe": recipe, "quick": quick}
    if score >= 1.0:
        passed(wrap_message(f"full marks: {ratio:.1f}x at {scored:.2f}% beats the course's own file "
                            f"({course['ratio']:.1f}x at {course['error']:.2f}%) by {1 - mine / bar:.1%} on file "
                            "bytes x error.", 100 - len("PASS: ")))
        return outcome
    copy_note = (f" These are the course's own settings: {MATCH_SHARE} at most. Change them to beat its file."
                 if copied else "")
    if copied and size_part(ratio) * error_part(scored) >= 1:
        partial(score, wrap_message("these are the course's own settings: as good as its file at best. "
                                    "Change them to beat it (full marks).", _PARTIAL_WIDTH))
        return outcome
    if size_part(ratio) * error_part(scored) >= 1:
        partial(score, wrap_message(f"the paper's figures are met. For full marks beat the course's file by "
                                    f"{BEAT_MARGIN:.0%}: file bytes x error below {(1 - BEAT_MARGIN) * bar:,.0f} "
                                    f"(yours {mine:,.0f}), with a smaller file at this error or a lower error at "
                                    "this size.", _PARTIAL_WIDTH))
        return outcome
    hints = []
    if size_part(ratio) < 1:
        hints.append("the file is too large: keep fewer weights in fc1 (the biggest layer) or use fewer bits")
    if error_part(scored) < 1:
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


def _reference_files(model: torch.nn.Module, folder: Path) -> dict[str, Path]:
    """The model saved twice: as a plain state_dict (``torch.save``) and as a course checkpoint."""
    plain = folder / "reference_state_dict.pt"
    torch.save(model.state_dict(), plain)
    meta = {"note": "a course checkpoint: the model's name, its state_dict and metadata",
            "history": {"val_error": [round(2.0 / (1 + i), 4) for i in range(40)]}}
    checkpoint = save_checkpoint(model, folder / "reference_checkpoint.pt", meta=meta)
    return {"plain": plain, "checkpoint": checkpoint}


def _ratio_mistakes(params: int, weights: int, nonzero: int, size: int, ref_size: int | None):
    """What each typical mistake returns, with its diagnosis (most specific first)."""
    f32 = 4 * params
    out = [
        (size / f32, "the ratio is upside down: divide the float32 bytes of the model by the file's bytes."),
        (params / size, "you divided the number of parameters by the file's bytes: each float32 parameter "
                        "takes 4 bytes."),
        (32 * params / size, "you counted the model in bits (32 per parameter) but the file in bytes: use 4 "
                             "bytes per parameter."),
        (f32 / (8 * size), "you counted the file in bits: os.path.getsize gives bytes already."),
        (4 * nonzero / size, f"you counted only the non-zero parameters ({nonzero:,} of {params:,}). The "
                             "ratio compares with the dense float32 model, which stores every parameter, pruned "
                             "zeros included: p.numel(), not count_nonzero."),
        (4 * weights / size, "you left out the biases: count every parameter, model.parameters() yields "
                             "weights and biases."),
        ((f32 / 1000) / (size / 1024), "you mixed decimal KB (1,000 bytes, what [DC] Table 1 uses) with KiB "
                                       "(1,024 bytes): use one unit for both sizes, or plain bytes."),
        ((f32 / 1024) / (size / 1000), "you mixed KiB (1,024 bytes) with decimal KB (1,000 bytes, what [DC] "
                                       "Table 1 uses): use one unit for both sizes, or plain bytes."),
        (round(f32 / 1000) / max(1, round(size / 1000)),
         "you rounded both sizes to whole KB first, as [DC] Table 1 prints them: divide the exact bytes."),
    ]
    if ref_size is not None:
        out = [
            (ref_size / size, f"you used the reference file's size on disk ({ref_size:,} bytes) as the float32 "
                              f"size ({f32:,} bytes): the file also holds its container (tensor names, pickle and "
                              "zip structure, a checkpoint's metadata). Count 4 bytes per parameter."),
            (f32 / ref_size, "you divided by the size of the reference file, not of the compressed file "
                             "`path`: os.path.getsize(path)."),
            (size / ref_size, "you divided the two files' sizes, upside down: the float32 size is 4 bytes per "
                              "parameter of the reference, over os.path.getsize(path)."),
        ] + out
    return out


_PATH_HINT = ("`model` may be a model or the path (a str or a pathlib.Path) of a file torch.save wrote: a "
              "state_dict, or a course checkpoint whose tensors are in blob['state_dict']. "
              "isinstance(model, torch.nn.Module) tells them apart; read a file with torch.load(model, "
              "weights_only=True).")


def check_file_ratio(file_ratio: Callable) -> None:
    """``file_ratio(model, path)``: the float32 bytes of the reference over ``os.path.getsize(path)``.

    The reference ``model`` is given as a pruned model (zeros count too: the ratio compares
    with the dense float32 model), as the path (a str) of its saved state_dict and as the
    path (a ``Path``) of a course checkpoint; the compressed files have several sizes. The
    answer must be a plain Python number, and the model must stay as it was.
    """
    model = _pruned_model()
    params = sum(p.numel() for p in model.parameters())
    nonzero = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    with tempfile.TemporaryDirectory() as tmp:
        refs = _reference_files(model, Path(tmp))
        cases = [(model, "model", 1000), (model, "model", 26_661), (model, "model", 4 * params),
                 (str(refs["plain"]), "'<a saved state_dict>.pt'", 26_661),
                 (refs["checkpoint"], "Path('<a course checkpoint>.pt')", 14_455)]
        for reference, shown_ref, size in cases:
            path = Path(tmp) / f"model_{size}.dcz"
            path.write_bytes(bytes(size))
            compressed = str(path) if size == 26_661 else path  # a str and a Path, both
            shown = f"file_ratio({shown_ref}, <a file of {size:,} bytes>)"
            is_file = not isinstance(reference, torch.nn.Module)
            try:
                got = call_unchanged(file_ratio, reference, compressed, exercise="file-ratio")
            except CheckFailed as exc:
                if not is_file or exc.__cause__ is None:
                    raise
                raise CheckFailed(re.sub(r"^FAIL:\s*", "", str(exc)) + "\n" + _PATH_HINT) from exc.__cause__
            raw, got = got, as_float(got, shown)
            want = 4 * params / size
            if math.isclose(got, want, rel_tol=1e-6):  # float32 arithmetic is right too
                continue
            if isinstance(raw, (int, np.integer)) and got == (4 * params) // size:
                fail(f"{shown} = {got:.0f}: that is integer division (//), which drops the fraction. Use /.")
            ref_size = os.path.getsize(reference) if is_file else None
            for value, message in _ratio_mistakes(params, weights, nonzero, size, ref_size):
                if math.isclose(got, value, rel_tol=1e-9):
                    fail(f"{shown} = {got:.4g}: {message}")
            fail(mismatch("file_ratio", f"{shown_ref}, <a file of {size:,} bytes>", want, got)
                 + " Use 4 * (number of parameters) / os.path.getsize(path)."
                 + (f" {_PATH_HINT}" if is_file else ""))
    passed("file_ratio: 4 bytes per parameter (model or saved file) over the compressed file's bytes.")
