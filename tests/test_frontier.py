"""``make frontier``: the committed ladder of recipes, the validation-side picks, the tables and the plot.

Every committed frontier file is read back and evaluated (all 10,000 test images, and the
5,000 validation images); its bytes, ratio and both errors must be the ones the results file
recorded. The picks are recomputed from the rows and must be the rung ``make reproduce``
committed. The rules themselves are tested on made-up rows, including rows without any
test error (a rule that reads one fails).
"""

import json
import os

import pytest

from course_lib import committed_models, frontier, paper, recipes
from course_lib import results as res
from course_lib.commands import frontier as frontier_cmd
from course_lib.compressed_format import load_compressed
from course_lib.models import build_model, count_parameters
from course_lib.train import evaluate

NAMES = list(recipes.MODEL_NAMES)


@pytest.fixture(scope="module")
def committed():
    path = frontier.FRONTIER_DIR / frontier.FRONTIER_RESULTS
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make frontier` and commit its outputs.")
    return frontier.load_frontier()


def _rows(committed, name):
    if name not in committed["models"]:
        pytest.fail(f"the frontier results have no {name}: run `make frontier ARGS='--model {name}'`.")
    return committed["models"][name]


# --------------------------------------------------------------------------- the committed files


@pytest.mark.parametrize("name", NAMES)
def test_every_recipe_of_the_ladder_was_run_at_full_budget(name, committed):
    model = _rows(committed, name)
    assert committed["quick"] is False
    assert sorted(model["recipes"]) == sorted(recipes.FRONTIER[name])
    for label, row in model["recipes"].items():
        assert row["recipe"] == recipes.recipe_for(name, **recipes.FRONTIER[name][label]["recipe"]), (
            f"{name}:{label} was made with another recipe; re-run make frontier ARGS='--only {name}:{label}'")


@pytest.mark.parametrize("name", NAMES)
def test_each_file_holds_the_recorded_bytes_and_errors(name, committed, mnist):
    model = _rows(committed, name)
    float32 = 4 * count_parameters(build_model(name))
    for label, row in model["recipes"].items():
        path = frontier.frontier_path(name, label)
        assert path.is_file(), f"{path} is missing"
        size = os.path.getsize(path)
        assert size == row["file_bytes"] and float32 == row["float32_bytes"]
        assert row["ratio"] == pytest.approx(float32 / size, rel=1e-12)
        assert sum(row["bytes_by_kind"].values()) == size
        net = load_compressed(path, device=mnist.test_x.device)
        assert evaluate(net, mnist) == pytest.approx(row["test_error"], abs=0.011)
        assert evaluate(net, mnist, split="val") == pytest.approx(row["val_error"], abs=0.021)  # 1 image = 0.02%


@pytest.mark.parametrize("name", NAMES)
def test_the_ladder_goes_from_gentle_to_aggressive(name, committed):
    rows = [_rows(committed, name)["recipes"][label] for label in recipes.FRONTIER[name]]
    ratios = [r["ratio"] for r in rows]
    assert ratios == sorted(ratios), f"{name}: the ladder's ratios are not increasing: {ratios}"
    assert ratios[0] < paper.DC_TABLE1[name]["ratio"] * 1.5 and ratios[-1] > frontier.GOAL_RATIO


@pytest.mark.parametrize("name", NAMES)
def test_make_reproduce_commits_the_rung_the_validation_rule_picks(name, committed):
    goal = frontier.picks(_rows(committed, name))["goal"]
    assert goal is not None, f"{name}: no rung of the ladder reaches {frontier.GOAL_RATIO}x"
    assert goal["label"] == recipes.COMPRESSED_CHOICE[name]
    compressed = res.load_results()["models"][name]
    assert compressed["recipe"] == goal["recipe"]
    # the same recipe on the same machine writes the same bytes (tests/test_reproduce.py runs it twice)
    assert compressed["file_bytes"] == goal["file_bytes"]
    assert compressed["test_error"] == goal["test_error"]


@pytest.mark.parametrize("name", NAMES)
def test_baselines_recorded_are_the_committed_ones(name, committed, mnist):
    base = _rows(committed, name)["baseline"]
    model = committed_models.load_baseline(name, device=mnist.test_x.device)
    assert evaluate(model, mnist) == pytest.approx(base["test_error"], abs=0.011)
    assert evaluate(model, mnist, split="val") == pytest.approx(base["val_error"], abs=0.021)


# --------------------------------------------------------------------------- the rules


def _row(label, ratio, val, **extra):
    return {"label": label, "ratio": ratio, "val_error": val, **extra}


def test_pick_at_ratio_takes_the_lowest_validation_error_at_the_ratio():
    rows = [_row("a", 40, 1.0), _row("b", 99.9, 1.1), _row("c", 100, 1.5), _row("d", 130, 1.4), _row("e", 160, 2.5)]
    assert frontier.pick_at_ratio(rows, 100)["label"] == "d"  # 99.9x does not count, c is worse than d
    assert frontier.pick_at_ratio(rows, 200) is None
    tie = [_row("x", 100, 1.4), _row("y", 120, 1.4)]
    assert frontier.pick_at_ratio(tie, 100)["label"] == "y"  # a tie goes to the smaller file
    assert frontier.pick_at_ratio({r["label"]: r for r in rows}, 100)["label"] == "d"  # a dict of rows too


def test_pick_no_loss_takes_the_largest_ratio_within_the_margin():
    rows = [_row("a", 30, 1.10), _row("b", 45, 1.24), _row("c", 60, 1.25), _row("d", 90, 1.60)]
    assert frontier.pick_no_loss(rows, 1.14)["label"] == "b"  # 1.24 - 1.14 = 0.10 counts (floats included)
    assert frontier.pick_no_loss(rows, 0.5) is None
    assert frontier.pick_no_loss(rows, 1.14, margin=0.4)["label"] == "c"


def test_the_rules_never_read_a_test_error():
    class NoTest(dict):
        def __getitem__(self, key):
            if key == "test_error":
                raise AssertionError("a pick read the test error")
            return super().__getitem__(key)

    rows = [NoTest(_row("a", 50, 1.0)), NoTest(_row("b", 120, 1.3))]
    assert frontier.pick_at_ratio(rows)["label"] == "b"
    assert frontier.pick_no_loss(rows, 1.0)["label"] == "a"


def test_pareto_drops_points_beaten_on_both_counts():
    rows = [_row("a", 40, 0, test_error=1.0), _row("b", 60, 0, test_error=1.2), _row("c", 50, 0, test_error=1.3),
            _row("d", 100, 0, test_error=1.2)]
    assert [r["label"] for r in frontier.pareto(rows)] == ["a", "d"]


# --------------------------------------------------------------------------- tables, plot, published points


def test_tables_show_every_rung_and_where_the_bytes_go(committed):
    for name in NAMES:
        table = frontier.render_frontier_table(committed, name)
        for label, row in _rows(committed, name)["recipes"].items():
            assert f"`{label}`" in table and f"{row['file_bytes']:,} B" in table
        text = frontier.render_picks(committed, name)
        goal = frontier.picks(_rows(committed, name))["goal"]
        assert f"`{goal['label']}`" in text and f"{goal['ratio']:.1f}x" in text
        bytes_table = frontier.render_bytes_table({name: goal})
        for n in goal["bytes_by_kind"].values():
            assert f"| {n:,} |" in bytes_table
        assert f"**{goal['file_bytes']:,}**" in bytes_table


def test_the_bytes_table_refuses_bytes_in_no_part():
    row = {"file_bytes": 100, "bytes_by_kind": {"weight_stream": 60, "gap_stream": 30}}
    with pytest.raises(ValueError, match="10 bytes"):
        frontier.render_bytes_table({"lenet5": row})
    row["bytes_by_kind"]["header"] = 10
    assert "| header, shapes, checksum | 10 | 10.0% |" in frontier.render_bytes_table({"lenet5": row})


def test_published_points_say_what_their_ratio_counts():
    for entry in paper.PUBLISHED_LENET:
        assert entry["counts"] in paper.RATIO_COUNTS and entry["source"]
        assert set(entry["results"]) <= set(NAMES)
    for name in NAMES:
        points = frontier.published_points(name)
        assert points, name
        for p in points:
            assert p["ratio"] > 1 and 0 < p["error"] < 5
    dc = [p for p in frontier.published_points("lenet5") if p["method"].startswith("Deep Compression")]
    assert dc and dc[0]["ratio"] == paper.DC_TABLE1["lenet5"]["ratio"]


def test_the_plot_draws_both_nets(committed):
    import matplotlib

    matplotlib.use("Agg")
    fig = frontier.plot_frontier(committed)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == [paper.DISPLAY_NAMES[n] for n in NAMES]
    assert all(ax.get_xscale() == "log" for ax in axes)
    ours = axes[1].lines[0]
    assert len(ours.get_xdata()) == len(recipes.FRONTIER["lenet5"])


# --------------------------------------------------------------------------- the command


def test_quick_command_writes_a_file_and_a_row(tmp_path, mnist):
    lines = []
    results = frontier_cmd.run(["lenet300100"], tmp_path, only=["lenet300100:a"], quick=True, log=lines.append,
                               data=mnist)
    row = results["models"]["lenet300100"]["recipes"]["a"]
    path = frontier.frontier_path("lenet300100", "a", tmp_path)
    assert path.is_file() and os.path.getsize(path) == row["file_bytes"]
    on_disk = json.loads((tmp_path / frontier.FRONTIER_RESULTS).read_text())
    assert on_disk["quick"] is True and on_disk["models"]["lenet300100"]["recipes"]["a"]["file_bytes"] == row["file_bytes"]
    assert any("validation" in l for l in lines)


@pytest.mark.parametrize("bad", [["lenet5:zz"], ["lenet300100"], ["resnet:a"]])
def test_unknown_recipes_are_refused_by_name(bad, tmp_path, capsys):
    assert frontier_cmd.main(["--only", *bad, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Unknown recipe" in err and "lenet5:a" in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_a_damaged_results_file_is_reported(tmp_path):
    (tmp_path / frontier.FRONTIER_RESULTS).write_text("{not json")
    with pytest.raises(ValueError, match="make frontier"):
        frontier.load_frontier(tmp_path)
