"""Where the project keeps its files: the repository root and committed artifacts."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
ARTIFACTS_DIR = PACKAGE_DIR / "artifacts"
