"""The recipes: every setting of every stage, in one schema shared by every command.

A recipe is a plain dict with exactly the keys of :data:`DEFAULTS`, grouped by the stage
of :mod:`course_lib.pipeline` that reads them:

- baseline training (:func:`course_lib.pipeline.train_baseline`): ``baseline_epochs``,
  ``baseline_lr``;
- prune + retrain ([LW] §3.4, [DC] §2; :func:`course_lib.pipeline.prune_stage`): ``keep``
  (fraction of weights kept per layer), ``prune_steps`` (rounds), ``schedule`` (how the
  rounds step towards ``keep``: ``"cubic"`` [ZG] or ``"linear"``), ``prune_epochs`` (one
  entry per round), and the retraining SGD settings ``lr``, ``momentum``, ``weight_decay``,
  ``batch_size``, ``augment`` (random 2-pixel shifts), which baseline training shares;
- k-means weight sharing ([DC] §3; :func:`course_lib.pipeline.quantize_stage`): ``bits``
  per layer and the centroid ``init``;
- centroid fine-tuning ([DC] §3.3, Eq. 3; :func:`course_lib.pipeline.finetune_stage`):
  ``finetune_epochs``, ``finetune_lr``, ``finetune_bias_lr``, ``finetune_augment``;
- encoding ([DC] §2, §4; :func:`course_lib.pipeline.encode_stage`): ``index_bits`` (sparse
  gap width per layer, ``None`` = cheapest measured);
- all stages: ``train_subset`` (train on the first N images only; ``None`` = all 60,000)
  and ``seed``.

:data:`FRONTIER` holds the ladder of recipes ``make frontier`` runs per model, gentle to
aggressive, and :data:`COMPRESSED_CHOICE` the rung ``make reproduce`` commits.

:data:`RECIPES` holds one recipe per project command (``"baseline"``, ``"pruned"``,
``"quantized"``, ``"compressed"``) and model. A command reads the keys of its stages;
:func:`recipe_for` returns a checked copy with overrides applied.
"""

from __future__ import annotations

import copy
from typing import Any

from .paper import DC_KEEP_RATES, DC_WEIGHT_BITS, EN_FLOPS_PER_PHI

MODEL_NAMES = ("lenet300100", "lenet5")
PURPOSES = ("baseline", "pruned", "quantized", "compressed")

DEFAULTS: dict[str, Any] = dict(
    baseline_epochs=1, baseline_lr=0.05,
    keep=None, prune_steps=1, schedule="cubic", prune_epochs=[1],
    lr=0.005, momentum=0.9, weight_decay=5e-4, batch_size=128, augment=True,
    bits=None, init="linear",
    finetune_epochs=1, finetune_lr=1e-3, finetune_bias_lr=1e-3, finetune_augment=False,
    index_bits=None, train_subset=None, seed=0,
)

# The baselines: SGD with momentum, cosine decay and random shifts. Notebook 01 reports
# their test errors beside the paper's reference errors ([DC] Table 1).
_BASELINE = {
    "lenet300100": dict(baseline_epochs=40),
    "lenet5": dict(baseline_epochs=15),
}

# `make pruned` and `make quantized`: the papers' own targets ([LW]/[DC] keep rates,
# [DC] Tables 2-3 bit-widths); the retraining lr is 1/10 of the baseline's.
_PRUNED = {
    "lenet300100": dict(keep=DC_KEEP_RATES["lenet300100"], prune_steps=4, prune_epochs=[4, 4, 4, 12]),
    "lenet5": dict(keep=DC_KEEP_RATES["lenet5"], prune_steps=3, prune_epochs=[3, 3, 6]),
}
_QUANTIZED = {
    # Centroid learning rates: the lowest validation error of
    # `python -m course_lib.commands.make_quantized --scan-lr 1e-4 1e-3 1e-2 3e-2` at these settings
    # (1e-2 for LeNet-300-100, 1e-3 for LeNet-5; each runner-up within noise).
    "lenet300100": dict(bits=DC_WEIGHT_BITS["lenet300100"], finetune_epochs=4, finetune_lr=1e-2,
                        finetune_bias_lr=1e-2, finetune_augment=True),
    "lenet5": dict(bits=DC_WEIGHT_BITS["lenet5"], finetune_epochs=2, finetune_lr=1e-3,
                   finetune_bias_lr=1e-3, finetune_augment=True),
}

# `make frontier` (notebook 09): a ladder of recipes per model, gentle to aggressive. Each step
# down the ladder keeps fewer weights, where a sensitivity scan (notebook 02) shows a layer is
# large and insensitive (fc1 first), and gives fewer bits to the large layers ([DC] Tables 2-3
# use 5-8); the prune rounds follow the cubic schedule [ZG] with a long last round ([LW] §3.4).
# Which rung `make reproduce` commits is chosen on the validation split by the rule of
# `course_lib.frontier.pick_at_ratio` (COMPRESSED_CHOICE below); the test set only reports.
_LONG_300 = dict(prune_steps=4, prune_epochs=[4, 4, 4, 12], finetune_epochs=4)
_LONG_5 = dict(prune_steps=4, prune_epochs=[3, 3, 3, 9], finetune_epochs=4)
FRONTIER: dict[str, dict[str, dict[str, Any]]] = {
    "lenet300100": {
        "a": dict(description="keeps 10%, 6 bits everywhere",
                  recipe=dict(keep={"fc1": 0.1, "fc2": 0.1, "fc3": 0.3}, bits={"fc1": 6, "fc2": 6, "fc3": 6}, **_LONG_300)),
        "b": dict(description="[LW] keep rates, 5 bits everywhere",
                  recipe=dict(keep=DC_KEEP_RATES["lenet300100"], bits={"fc1": 5, "fc2": 5, "fc3": 5}, **_LONG_300)),
        "c": dict(description="fc1 keeps 5%, 4-5 bits",
                  recipe=dict(keep={"fc1": 0.05, "fc2": 0.07, "fc3": 0.25}, bits={"fc1": 4, "fc2": 5, "fc3": 5}, **_LONG_300)),
        "d": dict(description="fc1 keeps 3.5%, 3 bits in fc1",
                  recipe=dict(keep={"fc1": 0.035, "fc2": 0.06, "fc3": 0.2}, bits={"fc1": 3, "fc2": 4, "fc3": 4}, **_LONG_300)),
        "e": dict(description="fc1 keeps 3%, fc2 5%",
                  recipe=dict(keep={"fc1": 0.03, "fc2": 0.05, "fc3": 0.2}, bits={"fc1": 3, "fc2": 4, "fc3": 4}, **_LONG_300)),
        "f": dict(description="fc1 keeps 2.5%, 3 bits in fc2 too",
                  recipe=dict(keep={"fc1": 0.025, "fc2": 0.04, "fc3": 0.15}, bits={"fc1": 3, "fc2": 3, "fc3": 4}, **_LONG_300)),
    },
    "lenet5": {
        "a": dict(description="[LW] keep rates, [DC] bits (8 in conv1)",
                  recipe=dict(keep=DC_KEEP_RATES["lenet5"], bits={"conv1": 8, "conv2": 5, "fc1": 5, "fc2": 5}, **_LONG_5)),
        "b": dict(description="fc1 keeps 5%, 4-6 bits",
                  recipe=dict(keep={"conv1": 0.66, "conv2": 0.12, "fc1": 0.05, "fc2": 0.15},
                              bits={"conv1": 6, "conv2": 5, "fc1": 4, "fc2": 5}, **_LONG_5)),
        "c": dict(description="fc1 keeps 3%, 3 bits in fc1",
                  recipe=dict(keep={"conv1": 0.6, "conv2": 0.09, "fc1": 0.03, "fc2": 0.1},
                              bits={"conv1": 5, "conv2": 4, "fc1": 3, "fc2": 4}, **_LONG_5)),
        "d": dict(description="fc1 keeps 2.5%, conv2 8%",
                  recipe=dict(keep={"conv1": 0.6, "conv2": 0.08, "fc1": 0.025, "fc2": 0.1},
                              bits={"conv1": 5, "conv2": 4, "fc1": 3, "fc2": 4}, **_LONG_5)),
        "e": dict(description="fc1 keeps 2%, 4 bits in conv1",
                  recipe=dict(keep={"conv1": 0.5, "conv2": 0.07, "fc1": 0.02, "fc2": 0.08},
                              bits={"conv1": 4, "conv2": 4, "fc1": 3, "fc2": 4}, **_LONG_5)),
    },
}

# `make reproduce`: the whole pipeline, with the frontier's rung that `pick_at_ratio` chose on
# the validation split (the lowest validation error at 100x or more). `make frontier` says
# when its results pick another rung; tests/test_frontier.py checks they agree.
COMPRESSED_CHOICE = {"lenet300100": "d", "lenet5": "d"}
_COMPRESSED = {name: FRONTIER[name][label]["recipe"] for name, label in COMPRESSED_CHOICE.items()}

RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    purpose: {name: DEFAULTS | _BASELINE[name] | settings[name] for name in MODEL_NAMES}
    for purpose, settings in (("baseline", {n: {} for n in MODEL_NAMES}), ("pruned", _PRUNED),
                              ("quantized", _QUANTIZED), ("compressed", _COMPRESSED))
}

# The quick budget (``--quick``, ``COURSE_QUICK=1``): one prune round, one epoch each, on a
# slice of the training set.
QUICK = dict(baseline_epochs=1, prune_steps=1, prune_epochs=[1], finetune_epochs=1, train_subset=6000)


def recipe_for(name: str, quick: bool = False, purpose: str = "compressed", **overrides) -> dict[str, Any]:
    """A checked copy of the recipe of ``purpose`` for model ``name``, with the quick budget
    (if ``quick``) and then ``overrides`` applied.

    Raises ``ValueError`` naming the problem for an unknown model, purpose or key, and when
    ``prune_epochs`` does not hold one entry per prune step.
    """
    if name not in MODEL_NAMES:
        raise ValueError(f"Unknown model {name!r}; choose one of {list(MODEL_NAMES)}.")
    if purpose not in RECIPES:
        raise ValueError(f"Unknown recipe purpose {purpose!r}; choose one of {list(PURPOSES)}.")
    recipe = copy.deepcopy(RECIPES[purpose][name])
    if quick:
        recipe.update(QUICK)
    unknown = sorted(set(overrides) - set(recipe))
    if unknown:
        raise ValueError(f"Unknown recipe keys {unknown}; the keys are {sorted(recipe)}.")
    recipe.update(copy.deepcopy(overrides))
    if len(recipe["prune_epochs"]) != recipe["prune_steps"]:
        raise ValueError(
            f"prune_epochs needs one entry per prune step: got {recipe['prune_epochs']} for {recipe['prune_steps']} steps."
        )
    return recipe


# --------------------------------------------------------------------------- `make structure` (notebook 08)
# The chapter on structure and scaling trains networks of other shapes (narrow, slimmable,
# scaled CNNs), so its settings are a schema of their own, by part of the command. Every part
# trains with the course's SGD (momentum 0.9, weight decay 5e-4, batch 128, cosine decay,
# random 2-pixel shifts) from a fixed seed; nothing is chosen on the test set.
STRUCTURE_PARTS = ("slimmable", "alone", "structured", "scaling")
STRUCTURE: dict[str, dict[str, Any]] = {
    # [SL]/[US]: LeNet-5 at four widths, sandwich rule (widest, narrowest, 2 random), in-place distillation.
    # lr: 2-epoch runs, mean validation error over the widths: 0.05 and 0.1 within noise, 0.2 diverges.
    "slimmable": dict(epochs=12, lr=0.05, widths=[0.25, 0.5, 0.75, 1.0], n_random=2, distill=True,
                      augment=True, train_subset=None, seed=0),
    # The same widths trained alone, with the slimmable recipe (same epochs, shifts, seed; the lr of
    # the course's baselines), two tinier LeNet-5s and narrow LeNet-300-100s ("train small").
    "alone": dict(epochs=12, lr=0.05, lenet5_widths=[0.05, 0.1, 0.25, 0.5, 0.75, 1.0], lenet300100_widths=[0.1, 0.25, 0.5],
                  augment=True, train_subset=None, seed=0),
    # Structured pruning of the committed baselines: the same fraction of units from every hidden
    # layer, then retraining at 1/10 of the baseline learning rate ([LW] §3.4).
    "structured": dict(epochs=4, lr=0.005, lenet300100_amounts=[0.5, 0.75, 0.9], lenet5_amounts=[0.5, 0.75],
                       augment=True, train_subset=None, seed=0),
    # [EN]: a grid at phi = 1 under alpha * beta^2 * gamma^2 ~= 2, chosen on the validation split;
    # then phi = 0, 1, 2 for the chosen coefficients, for depth alone and for width alone. The grid
    # keeps the points that scale at least `min_scaled` dimensions: scaling one alone is what the
    # compound family is compared with.
    "scaling": dict(alphas=[1.0, 1.2, 1.4, 2.0], betas=[1.0, 1.1, 1.2, 1.4], gammas=[1.0, 1.1, 1.2, 1.4],
                    target=float(EN_FLOPS_PER_PHI), tolerance=0.1, min_scaled=2, grid_epochs=2, grid_subset=None,
                    phis=[0, 1, 2], epochs=5,
                    lr=0.05, augment=True, train_subset=None, seed=0),
}
# `make structure ARGS=--quick`: one epoch each on a slice (checks that the command runs, not results).
STRUCTURE_QUICK = dict(epochs=1, grid_epochs=1, train_subset=3000, grid_subset=3000)


def structure_recipe(part: str, quick: bool = False, **overrides) -> dict[str, Any]:
    """A checked copy of the settings of ``part`` of ``make structure``, with the quick budget
    (if ``quick``) and then ``overrides`` applied; unknown parts and keys raise ``ValueError``."""
    if part not in STRUCTURE:
        raise ValueError(f"Unknown part {part!r} of make structure; choose one of {list(STRUCTURE_PARTS)}.")
    recipe = copy.deepcopy(STRUCTURE[part])
    if quick:
        recipe.update({k: v for k, v in STRUCTURE_QUICK.items() if k in recipe})
    unknown = sorted(set(overrides) - set(recipe))
    if unknown:
        raise ValueError(f"Unknown keys {unknown} for part {part!r}; the keys are {sorted(recipe)}.")
    recipe.update(copy.deepcopy(overrides))
    return recipe
