import pytest
import torch

from course_lib.data import MNISTData
from course_lib.models import LeNet300100, LeNet5
from course_lib.train import evaluate, random_shift, set_seed, train


def _small(mnist, n=2000) -> MNISTData:
    return MNISTData(mnist.train_x[:n], mnist.train_y[:n], mnist.test_x, mnist.test_y, mnist.val_x, mnist.val_y)


def test_training_repeats_exactly_with_the_same_seed(mnist):
    weights = []
    for _ in range(2):
        set_seed(1)
        model = LeNet300100()
        train(model, _small(mnist), epochs=1, seed=5, progress=False, evaluate_every_epoch=False)
        weights.append(model.fc1.weight.detach().clone())
    assert torch.equal(weights[0], weights[1])


def test_training_learns_and_history_is_filled(mnist):
    set_seed(0)
    model = LeNet300100()
    before = evaluate(model, mnist)
    history = train(model, _small(mnist, 10_000), epochs=2, progress=False)
    assert history.epoch == [1, 2]
    assert len(history.val_error) == 2 and len(history.train_loss) == 2
    assert history.train_loss[1] < history.train_loss[0]
    assert history.val_error[-1] < 10.0 < before


def test_training_curves_never_look_at_the_test_set(mnist):
    """The per-epoch figure is the validation error; without a validation split none is taken."""
    set_seed(0)
    model = LeNet300100()
    history = train(model, _small(mnist, 2000), epochs=1, progress=False)
    assert history.val_error == [evaluate(model, mnist, split="val")]
    no_val = MNISTData(mnist.train_x[:500], mnist.train_y[:500], mnist.test_x, mnist.test_y)
    assert train(model, no_val, epochs=1, progress=False).val_error == []
    with pytest.raises(ValueError, match="validation"):
        evaluate(model, no_val, split="val")
    with pytest.raises(ValueError, match="split"):
        evaluate(model, mnist, split="train")


def test_after_step_runs_after_every_optimizer_step(mnist):
    calls = []

    def hook(model):
        calls.append(model.fc1.weight.grad is not None)
        with torch.no_grad():
            model.fc1.weight[:, :10] = 0

    model = LeNet300100()
    train(model, _small(mnist, 1000), epochs=1, batch_size=100, after_step=hook, progress=False,
          evaluate_every_epoch=False)
    assert len(calls) == 10 and all(calls)
    assert (model.fc1.weight[:, :10] == 0).all()


def test_evaluate_uses_the_whole_test_set(mnist):
    class AlwaysOne(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            out = torch.zeros(x.shape[0], 10)
            out[:, 1] = 1
            return out

    # 1,135 of the 10,000 test images are ones.
    assert evaluate(AlwaysOne(), mnist) == pytest.approx(100 * (10_000 - 1_135) / 10_000)


def test_random_shift_moves_images_within_two_pixels():
    x = torch.full((4, 1, 28, 28), -0.4242)
    x[:, 0, 14, 14] = 5.0
    out = random_shift(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    for img in out[:, 0]:
        r, c = (img == 5.0).nonzero()[0].tolist()
        assert abs(r - 14) <= 2 and abs(c - 14) <= 2


def test_bad_arguments():
    with pytest.raises(ValueError, match="epochs"):
        train(LeNet5(), None, epochs=-1)
