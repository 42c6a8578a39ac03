import shutil
from pathlib import Path

import pytest
import torch

from course_lib import data as data_mod
from course_lib.data import (ENV_VAR, MNIST_FILES, MNISTCorruptError, MNISTNotFoundError, data_root,
                             ensure_mnist, iterate_batches)


def test_data_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env"))
    assert data_root(tmp_path / "arg") == (tmp_path / "arg").resolve()
    assert data_root() == (tmp_path / "env").resolve()
    monkeypatch.delenv(ENV_VAR)
    assert data_root().name == "data"


def test_missing_data_offline_names_folder_files_and_variable(monkeypatch, tmp_path):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", offline)
    with pytest.raises(MNISTNotFoundError) as info:
        ensure_mnist(tmp_path, download=True)
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert ENV_VAR in message
    assert "download failed" in message
    for name in MNIST_FILES:
        assert name in message


def test_missing_data_without_download(tmp_path):
    with pytest.raises(MNISTNotFoundError, match=ENV_VAR):
        ensure_mnist(tmp_path, download=False)


def _copy_raw(tmp_path) -> Path:
    raw = data_root() / "MNIST" / "raw"
    if not all((raw / n).is_file() for n in MNIST_FILES):
        pytest.skip("MNIST not available")
    dest = tmp_path / "MNIST" / "raw"
    dest.mkdir(parents=True)
    for name in MNIST_FILES:
        shutil.copy(raw / name, dest / name)
    return dest


def test_truncated_file_is_reported(tmp_path, mnist):
    dest = _copy_raw(tmp_path)
    target = dest / "t10k-labels-idx1-ubyte"
    target.write_bytes(target.read_bytes()[:-10])
    with pytest.raises(MNISTCorruptError, match="t10k-labels-idx1-ubyte.*Delete it"):
        ensure_mnist(tmp_path, download=False)


def test_corrupted_bytes_are_reported(tmp_path, mnist):
    dest = _copy_raw(tmp_path)
    target = dest / "t10k-labels-idx1-ubyte"
    blob = bytearray(target.read_bytes())
    blob[100] = (blob[100] + 1) % 10
    target.write_bytes(bytes(blob))
    with pytest.raises(MNISTCorruptError, match="md5"):
        ensure_mnist(tmp_path, download=False)


def test_loaded_splits(mnist):
    assert mnist.train_x.shape == (55_000, 1, 28, 28)
    assert mnist.val_x.shape == (5_000, 1, 28, 28)
    assert mnist.test_x.shape == (10_000, 1, 28, 28)
    assert mnist.train_y.shape == (55_000,) and mnist.test_y.shape == (10_000,)
    assert mnist.train_x.dtype == torch.float32
    assert abs(mnist.train_x.mean().item()) < 0.01
    assert abs(mnist.train_x.std().item() - 1.0) < 0.01
    assert torch.bincount(mnist.test_y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_batches_cover_everything_once_in_a_seeded_order():
    x = torch.arange(10).float().unsqueeze(1)
    y = torch.arange(10)
    batches = list(iterate_batches(x, y, batch_size=4, seed=3))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    seen = torch.cat([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10))
    assert torch.equal(torch.cat([b[0] for b in batches]).squeeze(1).long(), seen)
    again = torch.cat([b[1] for b in iterate_batches(x, y, batch_size=4, seed=3)])
    other = torch.cat([b[1] for b in iterate_batches(x, y, batch_size=4, seed=4)])
    assert torch.equal(seen, again) and not torch.equal(seen, other)
    ordered = torch.cat([b[1] for b in iterate_batches(x, y, batch_size=4, shuffle=False)])
    assert ordered.tolist() == list(range(10))


def test_batches_reject_bad_input():
    with pytest.raises(ValueError, match="must match"):
        next(iterate_batches(torch.zeros(3, 1), torch.zeros(4), 2))
    with pytest.raises(ValueError, match="batch_size"):
        next(iterate_batches(torch.zeros(3, 1), torch.zeros(3), 0))


def test_validation_split_is_fixed_disjoint_and_covers_every_digit(mnist):
    from torchvision.datasets import MNIST

    from course_lib.data import MNIST_MEAN, MNIST_STD, data_root, validation_indices

    idx = validation_indices()
    assert idx.numel() == 5000 and torch.equal(idx, validation_indices())  # the same every call
    assert idx.unique().numel() == 5000 and int(idx.min()) >= 0 and int(idx.max()) < 60_000
    raw = MNIST(str(data_root()), train=True, download=False)
    all_x = raw.data.unsqueeze(1).float().div(255.0).sub(MNIST_MEAN).div(MNIST_STD)
    assert torch.equal(mnist.val_x.cpu(), all_x[idx]) and torch.equal(mnist.val_y.cpu(), raw.targets[idx])
    keep = torch.ones(60_000, dtype=torch.bool)
    keep[idx] = False
    assert torch.equal(mnist.train_y.cpu(), raw.targets[keep])  # the rest, in the original order
    counts = torch.bincount(mnist.val_y.cpu(), minlength=10)
    assert int(counts.min()) > 400  # every digit is there in roughly its share
    with pytest.raises(ValueError, match="validation size"):
        validation_indices(size=0)
