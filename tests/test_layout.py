"""The layout shows the three roles of course_lib, and the lines between them hold.

- the library learners build: ``course_lib/*.py`` and ``course_lib/compressed_format/``;
- course machinery: ``course_lib/course/`` (generator, checks, grader, README);
- project commands: ``course_lib/commands/`` (thin command-line wrappers).

A notebook or a check imports library code from the library, never from a command; the
library imports neither the course machinery nor the commands; every module is listed,
by role, in its package's docstring; and the papers' figures are typed only in paper.py.
"""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest

from course_lib.paths import PACKAGE_DIR, REPO_ROOT

COMMANDS = "course_lib.commands"
COURSE = "course_lib.course"


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO_ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(source: str, module: str | None = None, is_package: bool = False) -> set[str]:
    """Absolute names of every module ``source`` imports (relative imports resolved against ``module``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def _notebook_sources(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    # IPython magics and shell escapes are not Python
    return "\n".join(line for cell in cells for line in cell.splitlines() if not line.lstrip().startswith(("%", "!")))


LIBRARY = sorted(p for p in PACKAGE_DIR.rglob("*.py")
                 if not p.is_relative_to(PACKAGE_DIR / "course") and not p.is_relative_to(PACKAGE_DIR / "commands"))
CHECKS = sorted((PACKAGE_DIR / "course" / "checks").glob("*.py"))
NOTEBOOKS = sorted((REPO_ROOT / "solutions").glob("*.ipynb")) + sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


def _py_imports(path: Path) -> set[str]:
    return _imports(path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_notebook_imports_a_command(path):
    bad = sorted(n for n in _imports(_notebook_sources(path)) if n.startswith(COMMANDS))
    assert not bad, f"{path.name} imports {bad}: import the library module instead (course_lib.pipeline, ...)"


@pytest.mark.parametrize("path", CHECKS, ids=lambda p: p.name)
def test_no_check_imports_a_command(path):
    bad = sorted(n for n in _py_imports(path) if n.startswith(COMMANDS))
    assert not bad, f"{path.relative_to(REPO_ROOT)} imports {bad}: checks use the library, not commands"


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_the_library_imports_no_course_machinery_and_no_command(path):
    bad = sorted(n for n in _py_imports(path) if n.startswith((COMMANDS, COURSE)))
    assert not bad, f"{path.relative_to(REPO_ROOT)} imports {bad}: the library must stand on its own"


def test_the_import_scanner_sees_relative_and_absolute_imports():
    """The rules above are only as good as the scanner: it must see each way of importing a command."""
    cases = {
        "from course_lib.commands.reproduce import run": "course_lib.commands.reproduce",
        "import course_lib.commands.make_pruned as mp": "course_lib.commands.make_pruned",
        "from course_lib.commands import reproduce": "course_lib.commands.reproduce",
        "def f():\n    from ...commands.reproduce import run": "course_lib.commands.reproduce",
    }
    for source, expected in cases.items():
        assert expected in _imports(source, "course_lib.course.checks.capstone"), source


def _package_modules(package_dir: Path) -> list[str]:
    mods = [p.stem for p in package_dir.glob("*.py") if p.name != "__init__.py"]
    mods += [p.name for p in package_dir.iterdir() if p.is_dir() and (p / "__init__.py").is_file()]
    return sorted(mods)


@pytest.mark.parametrize("package", ["course_lib", "course_lib.course", "course_lib.commands", "course_lib.course.checks",
                                     "course_lib.compressed_format"])
def test_every_module_is_listed_by_role_in_its_package_docstring(package):
    mod = importlib.import_module(package)
    doc = mod.__doc__ or ""
    package_dir = Path(mod.__file__).parent
    missing = [m for m in _package_modules(package_dir) if f"{m}`" not in doc and f".{m}" not in doc]
    assert not missing, f"{package}'s docstring does not list {missing}"


# The papers' error figures ([DC] Table 1, [LW] Table 1) that cannot be mistaken for a sparsity
# or a learning rate (0.80 and 0.74 can): typed in course_lib/paper.py and nowhere else.
PAPER_FIGURES = {1.64, 1.58, 1.59, 0.77}


@pytest.mark.parametrize("path", [p for p in LIBRARY if p.name != "paper.py"] + CHECKS
                         + sorted((PACKAGE_DIR / "commands").glob("*.py")),
                         ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_paper_figures_are_typed_only_in_paper_py(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = sorted({node.value for node in ast.walk(tree)
                    if isinstance(node, ast.Constant) and isinstance(node.value, float) and node.value in PAPER_FIGURES})
    assert not found, f"{path.relative_to(REPO_ROOT)} types the paper's figure(s) {found}: import them from course_lib.paper"


def test_recipes_share_one_schema():
    from course_lib.recipes import DEFAULTS, RECIPES

    for purpose, by_model in RECIPES.items():
        for name, recipe in by_model.items():
            assert set(recipe) == set(DEFAULTS), f"RECIPES[{purpose!r}][{name!r}] has other keys than DEFAULTS"
