"""The compression frontier: a ladder of recipes per network, and how to choose among them
without looking at the test set (notebook 09, ``make frontier``).

A compression paper reports one point: a ratio at an error. Behind it sits a curve. Each
recipe of :data:`course_lib.recipes.FRONTIER` (gentle to aggressive: lower keep rates,
fewer bits, more and longer prune rounds) gives one point, error against ratio, measured
as everywhere in the course: float32 parameter bytes over the bytes of the ``.dcz`` file,
and the error of the model decoded from that file.

Choosing a point is a setting like any other, so it is made on the validation split
(:mod:`course_lib.data`), by a rule fixed before any test error is read:

- :func:`pick_at_ratio`: the recipe with the lowest validation error among those that reach a
  ratio (the course's goal, :data:`GOAL_RATIO`, decided in advance), the one ``make
  reproduce`` commits;
- :func:`pick_no_loss`: the largest ratio whose validation error is within
  :data:`NO_LOSS_MARGIN` points of the baseline's validation error ([DC]'s sense of "no loss
  of accuracy", judged where we may look).

The test set then reports, once, what the chosen files do. :func:`render_frontier_table`,
:func:`render_bytes_table` and :func:`plot_frontier` draw the results file the command
wrote, with the published points of :data:`course_lib.paper.PUBLISHED_LENET` beside ours.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .paper import DC_TABLE1, DISPLAY_NAMES, PUBLISHED_LENET, RATIO_COUNTS
from .paths import ARTIFACTS_DIR
from .recipes import MODEL_NAMES
from .results import read_results_json
from .train import error_change

FRONTIER_DIR = ARTIFACTS_DIR / "frontier"
FRONTIER_RESULTS = "results.json"

# Decided before the frontier was run (the issue that asked for it): 100x at the paper's
# error or better; "no loss" = within 0.1 points of our own baseline (about one standard
# error at 1% error on 10,000 images).
GOAL_RATIO = 100
NO_LOSS_MARGIN = 0.1

# What a byte of the file is, for the table of where the bytes go (kinds of the report of
# :func:`course_lib.compressed_format.save_compressed`).
BYTE_KIND_NAMES = {
    "weight_stream": "cluster indices (Huffman-coded)",
    "gap_stream": "sparse gaps (Huffman-coded)",
    "codebook": "codebooks (centroids)",
    "weight_table": "Huffman code lengths, indices",
    "gap_table": "Huffman code lengths, gaps",
    "bias": "biases",
    "header": "header, shapes, checksum",
}


def frontier_path(name: str, label: str, out_dir: str | os.PathLike = FRONTIER_DIR) -> Path:
    """The ``.dcz`` file ``make frontier`` keeps for recipe ``label`` of model ``name``."""
    return Path(out_dir) / f"{name}-{label}.dcz"


def load_frontier(out_dir: str | os.PathLike = FRONTIER_DIR) -> dict[str, Any]:
    """The frontier's ``results.json`` (an empty skeleton if there is none yet)."""
    return read_results_json(Path(out_dir) / FRONTIER_RESULTS, "make frontier")


def frontier_row(entry: dict[str, Any], label: str, description: str) -> dict[str, Any]:
    """What the results file keeps of one pipeline run (a :func:`course_lib.pipeline.compress` entry).

    The validation error is the model's as encoded (the float16 stage: the file is lossless,
    so the decoded model has the same); the test error is the decoded model's.
    """
    encoded = next(s for s in entry["stages"] if s["stage"] == "float16")
    return {
        "label": label,
        "description": description,
        "file": entry["file"],
        "file_bytes": entry["file_bytes"],
        "float32_bytes": entry["float32_bytes"],
        "ratio": entry["ratio"],
        "test_error": entry["test_error"],
        "val_error": encoded["val_error"],
        "kept_fraction": entry["totals"]["kept_fraction"],
        "bytes_by_kind": entry["totals"]["bytes_by_kind"],
        "layers": {l["name"]: {"kept": l["kept_fraction"], "bits": l["weight_bits"], "index_bits": l["index_bits"]}
                   for l in entry["layers"]},
        "recipe": entry["recipe"],
        "seconds": entry["seconds"],
    }


def _rows(rows: dict[str, dict] | list[dict]) -> list[dict]:
    return list(rows.values()) if isinstance(rows, dict) else list(rows)


def pick_at_ratio(rows: dict[str, dict] | list[dict], min_ratio: float = GOAL_RATIO) -> dict | None:
    """The row with the lowest validation error among rows of ratio >= ``min_ratio``
    (ties: the larger ratio); ``None`` if no row reaches it. Never reads ``test_error``."""
    reach = [r for r in _rows(rows) if r["ratio"] >= min_ratio]
    return min(reach, key=lambda r: (r["val_error"], -r["ratio"])) if reach else None


def pick_no_loss(rows: dict[str, dict] | list[dict], baseline_val_error: float,
                 margin: float = NO_LOSS_MARGIN) -> dict | None:
    """The row of largest ratio whose validation error is at most ``margin`` points above the
    baseline's validation error; ``None`` if there is none. Never reads ``test_error``."""
    ok = [r for r in _rows(rows) if r["val_error"] - baseline_val_error <= margin + 1e-9]
    return max(ok, key=lambda r: (r["ratio"], -r["val_error"])) if ok else None


def pareto(rows: dict[str, dict] | list[dict], error: str = "test_error") -> list[dict]:
    """The rows no other row beats on both ratio (higher) and ``error`` (lower), by ratio."""
    rows = _rows(rows)
    front = [r for r in rows
             if not any(o["ratio"] >= r["ratio"] and o[error] <= r[error] and (o["ratio"], o[error]) != (r["ratio"], r[error])
                        for o in rows)]
    return sorted(front, key=lambda r: r["ratio"])


def picks(model: dict[str, Any]) -> dict[str, dict | None]:
    """Both picks for one model of the results file: ``{"goal": ..., "no loss": ...}``."""
    return {"goal": pick_at_ratio(model["recipes"]),
            "no loss": pick_no_loss(model["recipes"], model["baseline"]["val_error"])}


def render_frontier_table(results: dict[str, Any], name: str) -> str:
    """Every recipe of ``name`` (markdown): ratio, bytes, validation and test error, and the picks."""
    model = results["models"][name]
    base = model["baseline"]
    chosen = picks(model)
    marks = {}
    for why, row in chosen.items():
        if row is not None:
            marks.setdefault(row["label"], []).append(why)
    lines = [f"**{DISPLAY_NAMES[name]}** (baseline: validation {base['val_error']:.2f}%, test {base['test_error']:.2f}%)", "",
             "| recipe | what changes | file | ratio | validation error | test error | picked |",
             "|---|---|---|---|---|---|---|"]
    for row in sorted(model["recipes"].values(), key=lambda r: r["ratio"]):
        lines.append(f"| `{row['label']}` | {row['description']} | {row['file_bytes']:,} B | {row['ratio']:.1f}x | "
                     f"{row['val_error']:.2f}% | {row['test_error']:.2f}% | {', '.join(marks.get(row['label'], []))} |")
    return "\n".join(lines) + "\n"


def render_picks(results: dict[str, Any], name: str) -> str:
    """What each rule chose for ``name`` and what the test set then says (markdown)."""
    model = results["models"][name]
    base = model["baseline"]
    paper = DC_TABLE1[name]
    chosen = picks(model)
    out = []
    goal = chosen["goal"]
    if goal is None:
        best = max(model["recipes"].values(), key=lambda r: r["ratio"])
        out.append(f"- **{GOAL_RATIO}x:** no recipe reaches it; the largest ratio is {best['ratio']:.1f}x.")
    else:
        met = "met" if goal["test_error"] <= paper["compressed_error"] else (
            f"NOT met: {error_change(paper['compressed_error'], goal['test_error'])} against [DC]")
        out.append(f"- **{GOAL_RATIO}x at [DC]'s {paper['compressed_error']:.2f}%:** `{goal['label']}`, the lowest "
                   f"validation error ({goal['val_error']:.2f}%) of the recipes at {GOAL_RATIO}x or more. Test: "
                   f"{goal['ratio']:.1f}x at {goal['test_error']:.2f}%, {met}; against our baseline "
                   f"{error_change(base['test_error'], goal['test_error'])}.")
    no_loss = chosen["no loss"]
    if no_loss is None:
        out.append(f"- **No loss:** no recipe stays within {NO_LOSS_MARGIN} points of the baseline's "
                   f"validation error ({base['val_error']:.2f}%).")
    else:
        out.append(f"- **No loss** (validation within {NO_LOSS_MARGIN} points of the baseline's {base['val_error']:.2f}%): "
                   f"`{no_loss['label']}`, {no_loss['ratio']:.1f}x (validation {no_loss['val_error']:.2f}%). Test: "
                   f"{no_loss['test_error']:.2f}% against the baseline's {base['test_error']:.2f}%, "
                   f"{error_change(base['test_error'], no_loss['test_error'])}; [DC]: {paper['ratio']}x.")
    return "\n".join(out) + "\n"


def render_frontier_summary(results: dict[str, Any]) -> str:
    """Both nets' frontier tables, the picks and where a published method still leads (markdown)."""
    out = []
    for name in MODEL_NAMES:
        if name not in results.get("models", {}):
            continue
        out += [render_frontier_table(results, name), render_picks(results, name)]
        leaders = published_leaders(results, name)
        if leaders:
            out.append("Published results that lead this pick on both ratio and error: " + "; ".join(
                f"{p['method']} {p['ratio']:.0f}x at {p['error']:.2f}% ({RATIO_COUNTS[p['counts']]})"
                for p in leaders) + ".\n")
    return "\n".join(out)


def render_bytes_table(entries: dict[str, dict[str, Any]]) -> str:
    """Where the bytes of each file go (markdown), one pair of columns per model, largest part first.

    ``entries``: ``{model name: frontier row}`` (:func:`frontier_row`: ``bytes_by_kind``, ``file_bytes``).
    """
    kinds = {name: e["bytes_by_kind"] for name, e in entries.items()}
    first = next(iter(kinds.values()))
    order = sorted(BYTE_KIND_NAMES, key=lambda k: -first.get(k, 0))
    head = "| part | " + " | ".join(f"{DISPLAY_NAMES.get(n, n)} bytes | share" for n in entries) + " |"
    lines = [head, "|---" * (1 + 2 * len(entries)) + "|"]
    for kind in order + sorted(set().union(*kinds.values()) - set(BYTE_KIND_NAMES)):
        cells = []
        for name, e in entries.items():
            n = kinds[name].get(kind, 0)
            cells += [f"{n:,}", f"{100 * n / e['file_bytes']:.1f}%"]
        lines.append(f"| {BYTE_KIND_NAMES.get(kind, kind)} | " + " | ".join(cells) + " |")
    lines.append("| **the file** | " + " | ".join(f"**{e['file_bytes']:,}** | 100%" for e in entries.values()) + " |")
    for name, e in entries.items():
        missing = e["file_bytes"] - sum(kinds[name].values())
        if missing:
            raise ValueError(f"{DISPLAY_NAMES.get(name, name)}: {missing:,} bytes of the file are in no part.")
    return "\n".join(lines) + "\n"


def published_points(name: str) -> list[dict[str, Any]]:
    """The published (ratio, error) points for ``name``, each with its method, source and what
    its ratio counts (:data:`course_lib.paper.RATIO_COUNTS`)."""
    return [{"method": p["method"], "source": p["source"], "counts": p["counts"], **p["results"][name]}
            for p in PUBLISHED_LENET if name in p["results"]]


_COUNT_MARKERS = {"B": "s", "H": "^", "W": "D", "NZ": "v"}


def plot_frontier(results: dict[str, Any], axes=None):
    """Error against compression ratio (log scale) for both nets: our recipes (test error of
    the decoded file; the picked ones ringed), the same files counted as a non-zero ratio
    (1 / fraction kept, what "NZ" papers report), our baseline, and the published points,
    marked by what their ratio counts. Returns the figure."""
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    fig = axes[0].figure
    for ax, name in zip(axes, MODEL_NAMES):
        model = results["models"].get(name)
        if model is None:
            ax.set_axis_off()
            continue
        rows = sorted(model["recipes"].values(), key=lambda r: r["ratio"])
        ax.plot([r["ratio"] for r in rows], [r["test_error"] for r in rows], "o-", color="#4C72B0",
                label="this course: bytes of the .dcz file")
        ax.plot([1 / r["kept_fraction"] for r in rows], [r["test_error"] for r in rows], "o:", color="#4C72B0",
                alpha=0.45, mfc="none", label="the same files, non-zero weights only")
        for why, row in picks(model).items():
            if row is not None:
                ax.plot(row["ratio"], row["test_error"], "o", ms=13, mfc="none", mec="#C44E52", mew=1.5)
                ax.annotate(why, (row["ratio"], row["test_error"]), textcoords="offset points", xytext=(6, -14),
                            fontsize=8, color="#C44E52")
        ax.axhline(model["baseline"]["test_error"], color="gray", ls=":", lw=1, label="our baseline")
        # Neighbouring published points (DNS, SWS, Sparse VD sit close together) get their
        # labels alternately above and below, so that no two overlap.
        for i, p in enumerate(sorted(published_points(name), key=lambda q: q["ratio"])):
            ax.plot(p["ratio"], p["error"], _COUNT_MARKERS[p["counts"]], color="#DD8452", ms=7)
            ax.annotate(p["method"], (p["ratio"], p["error"]), textcoords="offset points",
                        xytext=(5, 4 if i % 2 == 0 else -11), fontsize=7)
        ax.axvline(GOAL_RATIO, color="#55A868", ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("compression ratio (x)")
        ax.set_ylabel("test error (%)")
        ax.set_title(DISPLAY_NAMES[name])
        ax.margins(y=0.1)  # room for the labels of the lowest and highest points
    for counts, marker in _COUNT_MARKERS.items():
        axes[0].plot([], [], marker, color="#DD8452", label=f"published: {RATIO_COUNTS[counts]}")
    # One legend under both panels: inside a panel it covers points.
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return fig


def published_leaders(results: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Published points that beat our goal pick on both ratio and error (whatever their ratio
    counts): where another method still leads."""
    model = results["models"].get(name)
    goal = pick_at_ratio(model["recipes"]) if model else None
    if goal is None:
        return []
    return [p for p in published_points(name)
            if p["ratio"] >= goal["ratio"] and p["error"] <= goal["test_error"]]
