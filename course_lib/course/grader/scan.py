"""Static review of a learner's exercise cell before it runs: what reaches for the grading machinery.

An exercise needs tensors, arithmetic and the helpers its hint names. It does not need the
kernel, the interpreter's internals, other processes or the file system. :func:`scan_cell`
flags a cell that reaches for any of them, and one that is, wraps or copies the library's
own implementation of the exercise. A flagged exercise does not run and scores 0 until an
instructor has reviewed it (``--run-flagged`` runs it anyway, still flagged). Each flag
says why.

This is a review aid, not a proof: Python offers endless indirections, and a scan cannot
see them all. The grader's other defences do not depend on it: the checks and points
come from the course, verdicts travel on a channel printed output cannot forge, and the
kernel runs in a sandbox that cannot write the course's files.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ...paths import PACKAGE_DIR

# Modules an exercise has no business importing.
FORBIDDEN_MODULES = {
    "IPython", "ipykernel", "jupyter_client", "nbclient", "nbformat", "sys", "builtins", "importlib", "imp",
    "subprocess", "multiprocessing", "threading", "_thread", "concurrent", "asyncio", "signal", "ctypes", "cffi",
    "atexit", "gc", "inspect", "traceback", "shutil", "socket", "pickle", "marshal", "types", "code", "codeop",
    "runpy", "pty", "fcntl", "resource", "posix", "nt", "psutil", "tempfile", "io", "pdb", "trace",
    "sysconfig", "site", "faulthandler", "operator", "dill", "cloudpickle", "pathlib",
}
# Names that reach the interpreter, the kernel or the notebook's history.
FORBIDDEN_NAMES = {
    "exec", "eval", "compile", "__import__", "globals", "locals", "vars", "getattr", "setattr", "delattr",
    "breakpoint", "exit", "quit", "input", "open", "help", "memoryview", "get_ipython", "display_pub",
    "In", "Out", "_ih", "_oh", "_i", "_ii", "_iii", "_dh", "__builtins__", "__builtin__", "__loader__",
    "__spec__", "__file__",
}
# Attributes of frames, code objects and tracebacks (how code reads other code's secrets).
FORBIDDEN_ATTRIBUTES = {
    "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next", "gi_frame", "cr_frame",
    "ag_frame", "co_consts", "co_code", "co_names",
}
# os is imported by course cells (os.path.getsize is part of an exercise); only these parts are harmless.
OS_ALLOWED = {"path", "getcwd", "sep", "linesep", "cpu_count", "fspath"}
DUNDER_ALLOWED = {"__name__", "__doc__", "__init__"}


@dataclass(frozen=True)
class Flag:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def python_source(cell_source: str) -> str:
    """The Python IPython would run for ``cell_source`` (magics and ``!shell`` lines become calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, allow: set[str]):
        self.allow = allow
        self.flags: list[Flag] = []

    def flag(self, node: ast.AST, reason: str) -> None:
        self.flags.append(Flag(getattr(node, "lineno", 0), reason))

    def _module(self, node: ast.AST, module: str, names: list[str]) -> None:
        top = module.split(".")[0]
        if top == "course_lib":
            bad = [n for n in names if f"{module}.{n}" not in self.allow and module not in self.allow]
            if bad or not names:
                shown = f"{module}.{bad[0]}" if bad else module
                self.flag(node, f"imports {shown} from the course's library: the exercise must be your own code "
                                "(and the library holds the checks)")
        elif top in FORBIDDEN_MODULES:
            self.flag(node, f"imports {module}, which reaches the interpreter, the kernel, other processes or files")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._module(node, alias.name, [])
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.flag(node, "uses a relative import")
        else:
            self._module(node, node.module or "", [a.name for a in node.names])
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_NAMES:
            self.flag(node, f"uses {node.id}, which reaches the interpreter, the kernel or the notebook's history")
        elif node.id.startswith("__") and node.id.endswith("__") and node.id not in DUNDER_ALLOWED:
            self.flag(node, f"uses the special name {node.id}")
        elif node.id.startswith("_course_grader"):
            self.flag(node, f"uses the grader's own name {node.id}")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = _dotted(node)
        if node.attr.startswith("__") and node.attr.endswith("__") and node.attr not in DUNDER_ALLOWED:
            self.flag(node, f"reads the special attribute .{node.attr} (a way around the rules)")
        elif node.attr in FORBIDDEN_ATTRIBUTES:
            self.flag(node, f"reads .{node.attr}, which exposes other code's frames and constants")
        elif dotted and dotted.startswith("os.") and dotted.split(".")[1] not in OS_ALLOWED:
            self.flag(node, f"uses {'.'.join(dotted.split('.')[:2])}: processes, files and the environment are off limits")
        elif dotted and dotted.split(".")[0] in ("course_lib", "sys", "builtins", "importlib"):
            self.flag(node, f"uses {dotted}")
        elif node.attr in ("write_text", "write_bytes", "unlink", "rmdir", "touch", "chmod", "symlink_to",
                           "hardlink_to", "_exit", "system", "popen", "kill", "fork", "setsid"):
            self.flag(node, f"calls .{node.attr}(): writing files or managing processes is off limits")
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self.flag(node, f"declares global {', '.join(node.names)}: an exercise returns its result")
        self.generic_visit(node)


def _normalised(fn: ast.FunctionDef) -> str:
    """The function's structure with its docstring dropped and every local name numbered in order."""
    fn = ast.parse(ast.unparse(fn)).body[0]
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        fn.body = body[1:] or [ast.Pass()]
    names: dict[str, str] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.arg):
            node.arg = names.setdefault(node.arg, f"v{len(names)}")
            node.annotation = None
        elif isinstance(node, ast.Name):
            node.id = names.setdefault(node.id, f"v{len(names)}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = "s"  # messages and docstrings do not make code different
    fn.name, fn.returns, fn.decorator_list = "f", None, []
    return ast.dump(fn, annotate_fields=False, include_attributes=False)


_LIBRARY_FUNCTIONS: dict[str, list[tuple[str, str]]] | None = None


def library_functions() -> dict[str, list[tuple[str, str]]]:
    """``{function name: [(module file, normalised body), ...]}`` for every function of the library."""
    global _LIBRARY_FUNCTIONS
    if _LIBRARY_FUNCTIONS is None:
        found: dict[str, list[tuple[str, str]]] = {}
        for path in sorted(PACKAGE_DIR.rglob("*.py")):
            if "course" in path.relative_to(PACKAGE_DIR).parts[:1] or "commands" in path.relative_to(PACKAGE_DIR).parts[:1]:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef):
                    found.setdefault(node.name, []).append((str(path.relative_to(PACKAGE_DIR.parent)), _normalised(node)))
        _LIBRARY_FUNCTIONS = found
    return _LIBRARY_FUNCTIONS


def bound_names(source: str) -> set[str]:
    """The names a cell binds at top level (assignments, imports, defs, loop targets)."""
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
        else:
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor)):
                targets = [node.target]
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def scan_cell(source: str, function: str, allow: list[str] | tuple[str, ...] = (),
              protected: set[str] | frozenset[str] = frozenset()) -> list[Flag]:
    """Flags for one learner exercise cell that should define ``function``; empty when it looks honest.

    ``protected``: names the course's own cells bound before this exercise (the data, the
    models, ...); an exercise that rebinds one of them, or a builtin, changes what later
    checks see, and is flagged.
    """
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return []  # it cannot run either: the kernel reports the syntax error and the check fails
    scanner = _Scanner(set(allow))
    scanner.visit(tree)
    flags = scanner.flags
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            mine = _normalised(node) if isinstance(node, ast.FunctionDef) else None
            for module, theirs in library_functions().get(function, []):
                if mine == theirs:
                    flags.append(Flag(node.lineno, f"{function} is a copy of the library's own implementation ({module})"))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == function for t in targets):
                flags.append(Flag(node.lineno, f"assigns {function} instead of defining it with def"))
    import builtins

    for name in sorted(bound_names(source) - {function}):
        if name in protected or hasattr(builtins, name):
            flags.append(Flag(0, f"rebinds {name}, which the course's cells or Python itself define"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == function:
            flags.append(Flag(node.lineno, f"calls another module's {function}: the exercise asks for your own"))
    return sorted(set(flags), key=lambda f: f.line)
