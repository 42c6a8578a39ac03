"""The one error a reader of ``.dcz`` files raises, and the advice its messages end with."""

FIX_HINT = "Re-create it with `make reproduce` (python -m course_lib.commands.reproduce) or save_compressed()."


class CompressedFileError(ValueError):
    """A ``.dcz`` file is truncated, corrupted, foreign or inconsistent."""
