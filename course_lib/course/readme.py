"""Generated parts of the README: the syllabus, the baselines table, the results and the frontier.

    python -m course_lib.course.readme            # rewrite the generated blocks of README.md
    python -m course_lib.course.readme --check    # exit 1 if they are stale (the tests do this)
    python -m course_lib.course.readme --time     # run every solved notebook with its full budget,
                                                  # record the wall time, then rewrite the blocks

No figure in the README is typed by hand. The syllabus comes from the notebooks
themselves (title, graded exercises, points) and from the run times that ``--time``
measured and wrote to ``course_lib/artifacts/notebook_times.json``. The baselines table
comes from the checkpoints' own metadata, written by ``make baselines``. The results
block comes from ``course_lib/artifacts/compressed/results.json``, written by ``make reproduce``,
and the frontier block from ``course_lib/artifacts/frontier/results.json``, written by ``make frontier``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import nbformat

from .exercises import exercises_in
from ..committed_models import baseline_meta, baseline_path
from ..paper import DC_TABLE1, DISPLAY_NAMES
from ..frontier import load_frontier, render_frontier_summary
from ..results import load_results, render_results_table
from ..paths import ARTIFACTS_DIR, REPO_ROOT

README = REPO_ROOT / "README.md"
TIMES_FILE = ARTIFACTS_DIR / "notebook_times.json"
BLOCKS = ("syllabus", "baselines", "results", "frontier")


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def notebook_title(nb) -> str:
    """The first Markdown heading of a notebook, without the leading ``#``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return "(untitled)"


def load_times(path: Path = TIMES_FILE) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def render_syllabus(solutions_dir: Path = REPO_ROOT / "solutions", times: dict | None = None) -> str:
    """A Markdown table: notebook, title, graded exercises, points, measured run time."""
    times = load_times() if times is None else times
    rows = [
        "| Notebook | Topic | Graded exercises | Points | Run time (full budget) |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    total_points = 0
    for src in sorted(solutions_dir.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        exercises = exercises_in(nb, src.name)
        points = sum(e.points for e in exercises)
        total_points += points
        names = ", ".join(f"`{e.grade_id}`" for e in exercises) or "none"
        t = times.get(src.stem, {}).get("seconds")
        run = _minutes(t) if t is not None else "not measured"
        rows.append(f"| [`{src.stem}`](notebooks/{src.name}) | {notebook_title(nb)} | {names} | {points} | {run} |")
    rows.append(f"| | **Total** | | **{total_points}** | |")
    machine = times.get("_machine")
    if machine:
        rows.append("")
        rows.append(f"Run times measured on {machine}.")
    return "\n".join(rows)


def render_baselines() -> str:
    """The reference models' test errors and training times, from the checkpoints' metadata."""

    rows = [
        "| Model | Parameters | Test error (ours) | Test error ([DC] Table 1) | Epochs | Training time |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in ("lenet300100", "lenet5"):
        if not baseline_path(name).is_file():
            rows.append(f"| {DISPLAY_NAMES[name]} | | not trained yet (`make baselines`) | | | |")
            continue
        meta = baseline_meta(name)
        rows.append(
            f"| {DISPLAY_NAMES[name]} | {meta['parameters']:,} | {meta['test_error']:.2f}% | "
            f"{DC_TABLE1[name]['reference_error']:.2f}% | {len(meta['history']['epoch'])} | "
            f"{_minutes(meta['train_seconds'])} |"
        )
    return "\n".join(rows)


def replace_block(text: str, name: str, body: str) -> str:
    """Replace what lies between the block's begin/end markers (which must both exist)."""
    begin, end = _markers(name)
    if begin not in text or end not in text or text.index(begin) > text.index(end):
        raise ValueError(f"README.md has no well-formed block {begin} ... {end}; add both markers.")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def block_body(text: str, name: str) -> str | None:
    """What lies between the markers of block ``name`` in ``text`` (None if it has none)."""
    begin, end = _markers(name)
    if begin not in text or end not in text:
        return None
    return text.split(begin, 1)[1].split(end, 1)[0].removeprefix("\n").removesuffix("\n")


def render_results(results: dict | None = None) -> str:
    """The results block: the headline table of ``results`` (default: the committed results.json)."""
    return render_results_table(load_results() if results is None else results).rstrip("\n")


def render_frontier(results: dict | None = None) -> str:
    """The frontier block: every recipe of ``make frontier`` and what the validation rules picked."""
    return render_frontier_summary(load_frontier() if results is None else results).rstrip("\n")


def render_readme(text: str) -> str:
    """``text`` with every generated block (syllabus, baselines, results, frontier) brought up to date."""
    text = replace_block(text, "syllabus", render_syllabus())
    text = replace_block(text, "baselines", render_baselines())
    text = replace_block(text, "results", render_results())
    text = replace_block(text, "frontier", render_frontier())
    return text


def update_results_block(results: dict, readme_path: Path = README) -> bool:
    """Rewrite only the results block of README.md from ``results``; True if the file changed."""
    path = Path(readme_path)
    text = path.read_text(encoding="utf-8")
    new = replace_block(text, "results", render_results(results))
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


def time_notebooks(solutions_dir: Path = REPO_ROOT / "solutions", names: list[str] | None = None) -> dict:
    """Run each solved notebook with its full budget (no ``COURSE_QUICK``) and time it."""
    from nbclient import NotebookClient

    times = load_times()
    os.environ.pop("COURSE_QUICK", None)
    for src in sorted(solutions_dir.glob("[0-9][0-9]_*.ipynb")):
        if names and src.stem not in names:
            continue
        nb = nbformat.read(src, as_version=4)
        start = time.time()
        NotebookClient(nb, timeout=7200, kernel_name="python3", resources={"metadata": {"path": str(solutions_dir)}}).execute()
        seconds = round(time.time() - start, 1)
        times[src.stem] = {"seconds": seconds}
        print(f"{src.stem}: {_minutes(seconds)}", flush=True)
    import torch

    times["_machine"] = (
        f"{platform.machine()} with {os.cpu_count()} CPU cores, "
        f"{'CUDA' if torch.cuda.is_available() else 'no GPU'}, torch {torch.__version__.split('+')[0]}"
    )
    TIMES_FILE.parent.mkdir(parents=True, exist_ok=True)
    TIMES_FILE.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the generated blocks are stale")
    parser.add_argument("--time", nargs="*", metavar="NOTEBOOK", default=None,
                        help="first run (these, or all) solved notebooks with the full budget and record their time")
    args = parser.parse_args(argv)
    if args.time is not None:
        time_notebooks(names=args.time or None)
    text = README.read_text(encoding="utf-8")
    new = render_readme(text)
    if args.check:
        if new != text:
            print("README.md's generated blocks are stale: run `python -m course_lib.course.readme`.", file=sys.stderr)
            return 1
        return 0
    if new != text:
        README.write_text(new, encoding="utf-8")
        print("README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
