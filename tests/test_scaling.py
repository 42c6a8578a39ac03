"""Compound scaling (course_lib.scaling): FLOPs counts, the constraint, the family's shapes."""

from __future__ import annotations

import math

import pytest
import torch

from course_lib.models import LeNet5, LeNet300100
from course_lib.scaling import (BASE, SINGLE_DIMENSION, ScalableCNN, compound_candidates, compound_multipliers,
                                count_flops, flops_factor, grid_search, scaled_cnn)


def test_flops_of_the_lenets():
    assert count_flops(LeNet300100()) == 784 * 300 + 300 * 100 + 100 * 10
    assert count_flops(LeNet5()) == 24 * 24 * 20 * 25 + 8 * 8 * 50 * 20 * 25 + 800 * 500 + 500 * 10


def test_candidates_satisfy_the_constraint():
    grid = ([0.9, 1.0, 1.2, 2.0], [1.0, 1.1, 1.2], [1.0, 1.15, 1.2])
    found = compound_candidates(*grid)
    assert (2.0, 1.0, 1.0) in found and (1.2, 1.1, 1.15) in found
    assert all(min(c) >= 1 and abs(flops_factor(*c) - 2) <= 0.1 for c in found)
    assert compound_candidates([1.5], [1.0], [1.0], tolerance=0.5) == [(1.5, 1.0, 1.0)]  # inclusive
    with pytest.raises(ValueError):
        compound_candidates([1.0], [1.0], [1.0], tolerance=-1)


def test_multipliers_and_members():
    assert compound_multipliers(2, 1.2, 1.1, 1.15) == pytest.approx((1.44, 1.21, 1.3225))
    base = scaled_cnn(0)
    assert (base.blocks, base.channels, base.resolution) == (BASE["blocks"], tuple(BASE["channels"]), BASE["resolution"])
    wide = scaled_cnn(2, *SINGLE_DIMENSION["width"])
    assert wide.channels == (16, 32) and wide.blocks == base.blocks
    deep = scaled_cnn(1, *SINGLE_DIMENSION["depth"])
    assert deep.blocks == 2 * base.blocks and deep.channels == base.channels
    assert scaled_cnn(1, 1.0, 1.0, 1.4).resolution == 22
    # FLOPs about double per step of phi when one dimension grows alone (rounding aside)
    for kind in ("width", "depth"):
        f0, f1 = count_flops(scaled_cnn(0)), count_flops(scaled_cnn(1, *SINGLE_DIMENSION[kind]))
        assert 1.8 < f1 / f0 < 2.6, kind
    x = torch.randn(3, 1, 28, 28)
    assert scaled_cnn(1, 1.2, 1.1, 1.15).eval()(x).shape == (3, 10)


@pytest.mark.parametrize("kwargs", [dict(depth=0), dict(width=-1), dict(resolution=2), dict(resolution=20.5),
                                    dict(depth=math.inf)])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        ScalableCNN(**kwargs)
    with pytest.raises(ValueError, match="phi"):
        compound_multipliers(-1, 1.2, 1.1, 1.1)


def test_grid_search_picks_by_validation_error(mnist):
    best, rows = grid_search([(1.0, 1.0, 1.4), (2.0, 1.0, 1.0)], mnist, epochs=1, train_subset=256, progress=False)
    assert len(rows) == 2 and best in [(r["alpha"], r["beta"], r["gamma"]) for r in rows]
    chosen = min(rows, key=lambda r: r["val_error"])
    assert best == (chosen["alpha"], chosen["beta"], chosen["gamma"])
    with pytest.raises(ValueError, match="no candidates"):
        grid_search([], mnist, epochs=1)
