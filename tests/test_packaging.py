"""The pip and conda routes install the same packages, at the same versions."""

import re

from course_lib.paths import REPO_ROOT


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip().lstrip("-").strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([^\s]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_environment_yml_matches_requirements():
    req = _pins((REPO_ROOT / "requirements.txt").read_text().splitlines())
    env_text = (REPO_ROOT / "environment.yml").read_text()
    pip_section = env_text.split("- pip:", 1)[1].splitlines()
    env = _pins(pip_section)
    assert req, "requirements.txt pins nothing"
    assert env == req, f"only in requirements.txt: {set(req.items()) - set(env.items())}; only in environment.yml: {set(env.items()) - set(req.items())}"


def test_torch_pins_are_the_default_builds():
    req = _pins((REPO_ROOT / "requirements.txt").read_text().splitlines())
    assert req["torch"] == "2.14.1" and req["torchvision"] == "0.29.1"
    for name in ("jupyterlab", "matplotlib", "nbval", "ipywidgets", "pytest", "tqdm"):
        assert name in req
