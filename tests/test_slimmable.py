"""Slimmable LeNet-5 (course_lib.slimmable): widths share weights, slices are views, training steps work."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.models import LeNet5, count_parameters
from course_lib.slimmable import (WIDTHS, SlimmableLeNet5, activation_statistics, at_width, check_width,
                                  evaluate_widths, extract_width, sandwich_widths, slice_weights, slim_units,
                                  slimmable_step, train_slimmable, width_parameters)


@pytest.mark.parametrize("width", [0, -0.5, 1.01, 2, "half", None, True, float("nan")])
def test_widths_outside_0_1_are_refused(width):
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        check_width(width)
    with pytest.raises(ValueError):
        SlimmableLeNet5(width)


def test_units_round_half_up_and_never_vanish():
    assert [slim_units(50, w) for w in WIDTHS] == [13, 25, 38, 50]
    assert [slim_units(20, w) for w in WIDTHS] == [5, 10, 15, 20]
    assert slim_units(3, 0.01) == 1


def test_slices_are_views_that_pass_gradients_back():
    w = torch.randn(6, 5, requires_grad=True)
    b = torch.randn(6, requires_grad=True)
    ws, bs = slice_weights(w, b, 2, 3)
    assert ws.shape == (3, 2) and bs.shape == (3,) and ws.data_ptr() == w.data_ptr()
    (ws.sum() + bs.sum()).backward()
    assert w.grad[:3, :2].eq(1).all() and w.grad[3:].eq(0).all() and w.grad[:, 2:].eq(0).all()
    assert slice_weights(w, None, 5, 6)[1] is None
    with pytest.raises(ValueError):
        slice_weights(w, b, 6, 3)


def test_full_width_is_lenet5_and_each_width_is_a_slice():
    torch.manual_seed(0)
    slim = SlimmableLeNet5().eval()
    plain = LeNet5().eval()
    plain.load_state_dict(slim.state_dict())
    x = torch.randn(4, 1, 28, 28)
    assert torch.allclose(slim(x), plain(x), atol=1e-6)
    for w in WIDTHS:
        small = extract_width(slim, w)
        with at_width(slim, w):
            assert torch.allclose(slim(x), small(x), atol=1e-5)
        assert count_parameters(small) == width_parameters(w)
    assert slim.width == 1.0
    assert width_parameters(1.0) == count_parameters(plain)


def test_sandwich_puts_widest_first_then_narrowest():
    gen = torch.Generator().manual_seed(0)
    widths = sandwich_widths(3, generator=gen)
    assert widths[:2] == [1.0, 0.25] and len(widths) == 5 and all(0.25 <= w <= 1.0 for w in widths)


def test_a_step_trains_every_width_and_distils_from_the_widest():
    torch.manual_seed(1)
    model = SlimmableLeNet5()
    x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    losses = slimmable_step(model, x, y, opt, [1.0, 0.25, 0.6])
    assert set(losses) == {1.0, 0.25, 0.6} and model.width == 1.0
    assert losses[1.0] == pytest.approx(F.cross_entropy(LeNet5Like(before)(x), y).item(), rel=1e-5)
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == set(before)
    with pytest.raises(ValueError, match="widest"):
        slimmable_step(model, x, y, opt, [0.5, 1.0])


def LeNet5Like(state):
    m = LeNet5()
    m.load_state_dict(state)
    return m


def test_narrow_widths_see_different_statistics():
    torch.manual_seed(2)
    rows = activation_statistics(SlimmableLeNet5(), torch.randn(32, 1, 28, 28))
    assert [r["width"] for r in rows] == list(WIDTHS)
    assert len({round(r["std"], 6) for r in rows}) == len(rows)


def test_training_records_every_width(mnist):
    torch.manual_seed(3)
    model = SlimmableLeNet5().to(mnist.train_x.device)
    history = train_slimmable(model, mnist, epochs=1, train_subset=256, progress=False, eval_widths=(0.25, 1.0))
    assert list(history.val_error[0]) == [0.25, 1.0]
    errors = evaluate_widths(model, mnist, (0.5,), split="val")
    assert 0 <= errors[0.5] <= 100 and not model.training
