"""The committed reference models reach the paper's reference errors ([DC] Table 1)."""

import pytest
import torch

from course_lib.checkpoints import load_checkpoint, save_checkpoint
from course_lib.committed_models import baseline_path, load_baseline
from course_lib.models import LeNet300100
from course_lib.paper import DC_TABLE1
from course_lib.train import evaluate


@pytest.mark.parametrize("name", ["lenet300100", "lenet5"])
def test_baseline_reaches_the_paper_reference_error(name, mnist):
    blob = torch.load(baseline_path(name), map_location="cpu", weights_only=True)
    assert blob["model"] == name
    model = load_baseline(name)
    error = evaluate(model, mnist)
    assert error <= DC_TABLE1[name]["reference_error"]
    # The error stored when the checkpoint was written is the one we measure now.
    assert blob["meta"]["test_error"] == pytest.approx(error, abs=1e-9)


def test_checkpoint_round_trip(tmp_path):
    model = LeNet300100()
    path = save_checkpoint(model, tmp_path / "m.pt", {"note": "x"})
    loaded, meta = load_checkpoint(path, device="cpu")
    assert meta == {"note": "x"}
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)


def test_bad_checkpoints_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable course checkpoint"):
        load_checkpoint(junk)
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a course checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
