"""The measured results of the reproduction and the tables made from them ([DC] Tables 1-3).

``make reproduce`` writes ``results.json`` (one entry per model, see
:func:`course_lib.pipeline.compress`) and ``paper_comparison.md``; notebook 09 and the
README show the tables rendered here. Every figure in them is read from ``results.json``;
the paper's come from :mod:`course_lib.paper`.

- :func:`file_ratio` (from :mod:`course_lib.size_accounting`): the compression ratio of a file
  on disk (the exercise of notebook 09).
- :func:`render_results_table`: the headline table, with both comparisons for every model:
  the absolute error against [DC] Table 1's, and the loss against our own baseline, each
  difference with its noise verdict (:func:`error_change`, :func:`paper_verdict`).
- :func:`render_paper_comparison`: our per-layer figures next to [DC] Tables 2 and 3.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .committed_models import COMPRESSED_DIR
from .paper import DC_TABLE1, DISPLAY_NAMES, PAPER_TABLE_NOTES, PAPER_TABLES, STORAGE_COLUMNS
from .recipes import MODEL_NAMES
from .size_accounting import file_ratio  # noqa: F401  (re-exported: notebook 09 imports it from here)
from .train import error_change, standard_error, within_noise  # noqa: F401  (error_change re-exported)

RESULTS_FILE = "results.json"
COMPARISON_FILE = "paper_comparison.md"


def read_results_json(path: str | os.PathLike, command: str) -> dict[str, Any]:
    """A command's results file at ``path`` (an empty skeleton if there is none yet); a damaged
    one raises ``ValueError`` naming ``command``, which re-creates it."""
    path = Path(path)
    if not path.is_file():
        return {"models": {}}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); re-create it with `{command}`.") from exc


def write_results_json(results: dict[str, Any], path: str | os.PathLike) -> None:
    """Write a command's results file (sorted keys, one space of indent, so diffs stay small)."""
    Path(path).write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def load_results(out_dir: str | os.PathLike = COMPRESSED_DIR) -> dict[str, Any]:
    """``results.json`` of ``out_dir`` (an empty skeleton if there is none yet)."""
    return read_results_json(Path(out_dir) / RESULTS_FILE, "make reproduce")


def write_outputs(results: dict[str, Any], out_dir: str | os.PathLike) -> None:
    """Write ``results.json`` and ``paper_comparison.md`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_results_json(results, out_dir / RESULTS_FILE)
    (out_dir / COMPARISON_FILE).write_text(render_paper_comparison(results), encoding="utf-8")


def _fmt_kb(n: float) -> str:
    return f"{n / 1000:.1f} KB"


def paper_verdict(r: dict[str, Any]) -> str:
    """Both comparisons for one results entry, in one paragraph (markdown).

    Against the paper's absolute figures ([DC] Table 1: ratio and compressed error), and
    against our own baseline: the loss of accuracy, which is what the paper reports as
    "no loss" against its own (weaker) references. Every figure is read from ``r`` and
    :mod:`course_lib.paper`; every difference comes with its noise verdict.
    """
    name = r["model"]
    paper = DC_TABLE1[name]
    base, err = r["errors"]["baseline"], r["test_error"]
    p_ref, p_err, p_ratio = paper["reference_error"], paper["compressed_error"], paper["ratio"]
    size = "a smaller file" if r["ratio"] >= p_ratio else "a larger file"
    if within_noise(err, p_err):
        absolute = f"{size} than the paper's, at the same error within noise"
    else:
        absolute = f"{size} and a {'lower' if err < p_err else 'higher'} error than the paper's"
    kept = err <= base or within_noise(base, err)
    paper_kept = "lost nothing" if p_err <= p_ref else f"lost {p_err - p_ref:.2f} points"
    stronger = " (stronger)" if base < p_ref and not within_noise(base, p_ref) else ""
    relative = (", and, like the paper, no loss against its own baseline beyond noise." if kept
                else f", but, unlike the paper, a loss against its own{stronger} baseline.")
    return (f"**{DISPLAY_NAMES[name]}.** Against [DC] Table 1: {r['ratio']:.1f}x vs {p_ratio}x, and "
            f"{err:.2f}% vs {p_err:.2f}% test error: {error_change(p_err, err)}. Against our own baseline: "
            f"{base:.2f}% -> {err:.2f}%, {error_change(base, err)}; [DC] went {p_ref:.2f}% -> {p_err:.2f}% "
            f"({paper_kept}). In short: {absolute}{relative}")


def render_results_table(results: dict[str, Any]) -> str:
    """The headline table (markdown): our errors, file sizes and ratios next to [DC] Table 1's,
    with both comparisons (absolute error against the paper, loss against our own baseline)."""
    lines = [
        "| model | our baseline | compressed | loss vs our baseline | [DC] reference -> compressed | file size "
        "| float32 size | ratio | [DC] ratio | time |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for name in MODEL_NAMES:
        r = results.get("models", {}).get(name)
        if r is None:
            continue
        base = r["errors"]["baseline"]
        paper = DC_TABLE1[name]
        lines.append(
            f"| {DISPLAY_NAMES[name]} | {base:.2f}% | {r['test_error']:.2f}% | {error_change(base, r['test_error'])} | "
            f"{paper['reference_error']:.2f}% -> {r['paper']['error']:.2f}% | {r['file_bytes']:,} B | "
            f"{_fmt_kb(r['float32_bytes'])} | **{r['ratio']:.1f}x** | {r['paper']['ratio']}x | {r['seconds']:.0f} s |"
        )
        verdicts.append(paper_verdict(r))
    lines.append("")
    lines.append("Test errors on all 10,000 MNIST test images; a difference smaller than one standard error "
                 "(`course_lib.train.standard_error`) is within noise. Ratio = float32 parameter bytes / "
                 "`.dcz` file bytes on disk.")
    total = results.get("total_seconds")
    if total is not None:
        lines[-1] += f" Both models from the committed baselines in {total:.0f} s (`make reproduce`)."
    for v in verdicts:
        lines += ["", v]
    return "\n".join(lines) + "\n"


def _pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def storage_cells(row: dict[str, Any]) -> dict[str, str]:
    """One row of [DC] Tables 2-3 for our file, ``{column of STORAGE_COLUMNS: text}``.

    ``row`` is a layer of ``results.json`` or its ``totals`` (``weight_bits``: cluster-index
    width; ``index_bits``: sparse-gap width; ``*_huffman``: their Huffman-coded averages).
    """
    cells = {
        "weights": f"{row['weights'] / 1000:.1f}K",
        "kept": _pct(row["kept_fraction"]),
        "weight bits P+Q": f"{row['weight_bits']:.1f}",
        "weight bits P+Q+H": f"{row['weight_bits_huffman']:.1f}",
        "index bits P+Q": f"{row['index_bits']:.1f}",
        "index bits P+Q+H": f"{row['index_bits_huffman']:.1f}",
        "rate P+Q": _pct(row["rate_pq"], 2),
        "rate P+Q+H": _pct(row["rate_pqh"], 2),
    }
    assert list(cells) == STORAGE_COLUMNS
    return cells


def _side_by_side(label: str, ours: dict[str, str], theirs: list[str]) -> str:
    return f"| {label} | " + " | ".join(f"{ours[c]} / {t}" for c, t in zip(STORAGE_COLUMNS, theirs)) + " |"


def render_paper_comparison(results: dict[str, Any]) -> str:
    """Our per-layer statistics next to [DC] Tables 2 and 3 (markdown), cells as ``ours / paper``."""
    out = ["# Deep Compression on MNIST: this reproduction next to the paper", "",
           "Written by `make reproduce` (`python -m course_lib.commands.reproduce`) from `results.json`. Each cell is **ours / [DC]**; "
           "the paper's values are as printed in Han, Mao, Dally (ICLR 2016), Tables 1-3.", "",
           "- weight bits: bits per stored weight index (P+Q: the codebook's bit-width; P+Q+H: Huffman-coded "
           "average per stored entry, fillers included).",
           "- index bits: bits per stored sparse gap (P+Q: fixed width `b_i`; P+Q+H: Huffman-coded average).",
           "- rate: a layer's stored weights over its float32 weights, biases excluded. P+Q is computed "
           "(fixed-width fields + float32 codebook, `b_w` bits per stored entry as in the paper, although a "
           "filler makes the alphabet `2^b_w + 1` symbols); P+Q+H is measured in the file (codebook, code tables, "
           "both streams). The total P+Q+H rate is the whole file (header, biases, checksum included) over "
           "float32 parameter bytes, i.e. 1/ratio.", ""]
    for name in MODEL_NAMES:
        r = results.get("models", {}).get(name)
        if r is None:
            continue
        paper = PAPER_TABLES[name]
        table = "Table 2" if name == "lenet300100" else "Table 3"
        out += [f"## {DISPLAY_NAMES[name]} ([DC] {table})", "",
                f"Test error: baseline {r['errors']['baseline']:.2f}%, compressed {r['test_error']:.2f}% "
                f"([DC]: {r['paper']['error']:.2f}%). File: {r['file_bytes']:,} bytes, "
                f"ratio **{r['ratio']:.1f}x** ([DC]: {r['paper']['ratio']}x).", ""]
        out.append("| layer | " + " | ".join(paper["columns"]) + " |")
        out.append("|---" * (len(paper["columns"]) + 1) + "|")
        for layer in r["layers"]:
            theirs = paper["rows"].get(layer["paper_name"], ["-"] * len(STORAGE_COLUMNS))
            out.append(_side_by_side(f"{layer['name']} ({layer['paper_name']})", storage_cells(layer), theirs))
        totals = dict(r["totals"])
        totals["rate_pqh"] = totals["rate_file"]
        ours = storage_cells(totals)
        ours["kept"] += f" ({1 / totals['kept_fraction']:.0f}x)"
        ours["rate P+Q"] += f" ({1 / totals['rate_pq']:.0f}x)"
        ours["rate P+Q+H"] += f" ({r['ratio']:.0f}x)"
        out.append(_side_by_side("total", ours, paper["rows"]["total"]))
        out.append("")
    out += ["## Oddities in the paper's tables", ""] + [f"- {n}" for n in PAPER_TABLE_NOTES] + [""]
    return "\n".join(out)
