"""The kernel a submission runs in: a scratch directory, a read-only course, and no survivors.

- With bubblewrap (``bwrap``, Debian's ``bubblewrap``) the kernel runs in a sandbox: the
  whole file system read-only, a private ``/tmp``, its scratch directory the only writable
  place, its own PID namespace (``--unshare-pid``) that dies with the grader
  (``--die-with-parent``). Nothing it starts outlives it.
- Without bubblewrap the kernel runs as a plain process in its scratch directory; the
  grader hashes the course's files before and after (:func:`course_fingerprint`) and
  refuses to go on when they changed, and kills every process that carries this run's
  token in its environment once the notebook is done.

:class:`Kernel` executes one cell at a time with a deadline: a cell that runs too long is
interrupted (and the kernel restarted if that does not stop it); a kernel that dies is
restarted. Either way the caller learns what happened and grading goes on.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ...paths import PACKAGE_DIR, REPO_ROOT

MAX_OUTPUT_CHARS = 20_000  # kept per cell; a submission that prints gigabytes cannot fill the grader's memory
TOKEN_VAR = "COURSE_GRADER_RUN"


@functools.lru_cache(maxsize=1)
def bwrap_path() -> str | None:
    """The bubblewrap binary, if it is installed and works here (it needs user namespaces or root).

    Probed once per process: a class graded with ``-j`` starts many kernels.
    """
    path = shutil.which("bwrap")
    if path is None:
        return None
    try:
        ok = subprocess.run([path, "--ro-bind", "/", "/", "--dev", "/dev", "--unshare-pid", "--die-with-parent", "true"],
                            capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return path if ok else None


def _paths_under(root: str) -> list[str]:
    """The folders under ``root`` a kernel needs: the course, Python, its packages, the data."""
    from ...data import data_root

    candidates = [REPO_ROOT, Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent,
                  *[Path(p) for p in sys.path if p]]
    try:
        candidates.append(data_root())
    except Exception:  # no data folder configured: nothing to bind
        pass
    base = Path(root).resolve()
    found = sorted({p.resolve() for p in candidates if p.exists() and p.resolve().is_relative_to(base)
                    and p.resolve() != base}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for p in found:  # a folder already bound covers its children
        if not any(p.is_relative_to(k) for k in kept):
            kept.append(p)
    return [str(p) for p in kept]


def course_fingerprint(roots: tuple[Path, ...] = (PACKAGE_DIR, REPO_ROOT / "solutions")) -> str:
    """SHA-256 over every course file the grading depends on (library, checks, solutions, artifacts)."""
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root.parent)).encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass
class CellRun:
    """What one cell did: its reply status, its text output, its error, and what went wrong."""

    status: str  # "ok", "error", "timeout" or "died"
    text: str = ""
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Kernel:
    """A python3 kernel in a scratch directory, sandboxed with bubblewrap when available."""

    env: dict[str, str] = field(default_factory=dict)
    use_bwrap: bool | None = None  # None: when available
    kernel_name: str = "python3"
    interrupt_grace: float = 10.0

    def __post_init__(self):
        self.token = uuid.uuid4().hex
        self.scratch = Path(tempfile.mkdtemp(prefix="course-grade-"))
        self.bwrap = bwrap_path() if self.use_bwrap in (None, True) else None
        if self.use_bwrap and self.bwrap is None:
            raise RuntimeError("bubblewrap was asked for but does not work here (install Debian's bubblewrap).")
        self.restarts = 0
        self._km = self._kc = None

    # ------------------------------------------------------------------ lifecycle
    def _spec_dir(self) -> Path:
        spec = self.scratch.parent / f"{self.scratch.name}-spec" / "course-grader"
        spec.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        if self.bwrap:
            # /tmp becomes private; what the kernel needs from there (a checkout or a venv that happens
            # to live under /tmp) is bound back, read-only
            needed = [f for path in _paths_under("/tmp") for f in ("--ro-bind", path, path)]
            argv = [self.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
                    *needed, "--bind", str(self.scratch), str(self.scratch),
                    # the connection file lives beside the kernel spec; it must be readable inside
                    "--ro-bind", str(spec.parent), str(spec.parent), "--unshare-pid", "--die-with-parent",
                    "--new-session", "--chdir", str(self.scratch),
                    # the kernel is not PID 1's child by choice: no parent poller (bwrap ends it with us)
                    "--setenv", "JPY_PARENT_PID", "1", "--", *argv]
        (spec / "kernel.json").write_text(json.dumps({
            "argv": argv, "display_name": "course grader", "language": "python",
            "interrupt_mode": "message" if self.bwrap else "signal",
        }))
        return spec.parent

    def start(self) -> None:
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        ksm = KernelSpecManager()
        ksm.kernel_dirs = [str(self._spec_dir())]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JPY_", "JUPYTER_TOKEN"))}
        env.update(self.env)
        env.update({TOKEN_VAR: self.token, "HOME": str(self.scratch), "IPYTHONDIR": str(self.scratch / ".ipython"),
                    "MPLCONFIGDIR": str(self.scratch / ".matplotlib"), "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"})
        self._km = KernelManager(kernel_name="course-grader", kernel_spec_manager=ksm)
        self._km.connection_file = str(Path(ksm.kernel_dirs[0]) / "connection.json")
        self._env = env
        # the kernel's own chatter (ipykernel's TCP warning, ...) is not the grader's output
        self._km.start_kernel(cwd=str(self.scratch), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._connect()

    def _connect(self) -> None:
        if self._kc is not None:
            self._kc.stop_channels()
        self._kc = self._km.client()
        self._kc.start_channels()
        self._kc.wait_for_ready(timeout=120)

    def restart(self) -> None:
        self.restarts += 1
        try:
            self._km.restart_kernel(now=True)
        except Exception:
            self._km.shutdown_kernel(now=True)
            self._km.start_kernel(cwd=str(self.scratch), env=self._env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        self._connect()

    def shutdown(self) -> None:
        """Stop the kernel and everything it started; remove the scratch directory."""
        try:
            if self._kc is not None:
                self._kc.stop_channels()
            if self._km is not None:
                self._km.shutdown_kernel(now=True)
        finally:
            kill_stragglers(self.token)
            shutil.rmtree(self.scratch, ignore_errors=True)
            shutil.rmtree(self.scratch.parent / f"{self.scratch.name}-spec", ignore_errors=True)

    def __enter__(self) -> "Kernel":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    # ------------------------------------------------------------------ running cells
    def run(self, code: str, timeout: float) -> CellRun:
        """Execute ``code``; never raises for what the code does (errors, hangs, a dead kernel)."""
        start = time.monotonic()
        msg_id = self._kc.execute(code, store_history=True, allow_stdin=False, stop_on_error=False)
        text: list[str] = []
        size = 0
        error = None
        deadline = start + timeout
        idle = False
        while not idle:
            now = time.monotonic()
            if now >= deadline:
                return self._timed_out(msg_id, text, start, timeout)
            try:
                msg = self._kc.get_iopub_msg(timeout=min(1.0, deadline - now))
            except queue.Empty:
                if not self._km.is_alive():
                    return self._died(text, start)
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            piece = None
            if kind == "stream":
                piece = content.get("text", "")
            elif kind in ("execute_result", "display_data"):
                piece = content.get("data", {}).get("text/plain", "") + "\n"
            elif kind == "error":
                error = f"{content.get('ename')}: {content.get('evalue')}"
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
            if piece and size < MAX_OUTPUT_CHARS:
                text.append(piece[: MAX_OUTPUT_CHARS - size])
                size += len(piece)
        status = self._reply_status(msg_id)
        if status is None:
            return self._died(text, start)
        return CellRun("ok" if status == "ok" and error is None else "error", "".join(text), error,
                       time.monotonic() - start)

    def _reply_status(self, msg_id: str) -> str | None:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                reply = self._kc.get_shell_msg(timeout=1.0)
            except queue.Empty:
                if not self._km.is_alive():
                    return None
                continue
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return reply["content"].get("status", "error")
        return None

    def _died(self, text: list[str], start: float) -> CellRun:
        self.restart()
        return CellRun("died", "".join(text), "the kernel died (the code ended its process)", time.monotonic() - start)

    def _timed_out(self, msg_id: str, text: list[str], start: float, timeout: float) -> CellRun:
        try:
            self._km.interrupt_kernel()
            end = time.monotonic() + self.interrupt_grace
            while time.monotonic() < end:
                msg = self._kc.get_iopub_msg(timeout=1.0)
                if (msg.get("parent_header", {}).get("msg_id") == msg_id and msg["msg_type"] == "status"
                        and msg["content"].get("execution_state") == "idle"):
                    self._reply_status(msg_id)
                    return CellRun("timeout", "".join(text), f"the cell ran past {timeout:.0f} s and was interrupted",
                                   time.monotonic() - start)
        except Exception:
            pass
        self.restart()
        return CellRun("timeout", "".join(text), f"the cell ran past {timeout:.0f} s; the kernel was restarted",
                       time.monotonic() - start)


def kill_stragglers(token: str) -> int:
    """Kill every process whose environment carries ``token`` (what a kernel left running); returns how many."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency of the course
        return 0
    killed = 0
    for _ in range(3):  # a process may fork while we look
        found = []
        for proc in psutil.process_iter(["pid"]):
            try:
                if proc.pid != os.getpid() and proc.environ().get(TOKEN_VAR) == token:
                    found.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        for proc in found:
            try:
                proc.kill()
                killed += 1
            except psutil.NoSuchProcess:
                pass
        if not found:
            break
        psutil.wait_procs(found, timeout=5)
    return killed
