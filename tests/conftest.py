"""Shared fixtures: MNIST once per session.

When MNIST is missing the data tests skip, unless ``COURSE_DATA_DIR`` is set (as
in CI): then a missing data set is an error, not a silent skip.
"""

import os

import pytest

from course_lib.data import ENV_VAR, MNISTNotFoundError, load_mnist


@pytest.fixture(scope="session")
def mnist():
    try:
        return load_mnist(download=False)
    except MNISTNotFoundError as exc:
        if os.environ.get(ENV_VAR):
            raise
        pytest.skip(f"MNIST not available: {exc}")
