"""Self-checks for the exercises, one module per chapter.

Every check tries the learner's function on fixed cases and on seeded random
ones, compares it with the reference in ``course_lib``, and on failure raises
:class:`CheckFailed` with a message that names the likely mistake. On success it
prints a line that starts with ``PASS``.

    from course_lib.course.checks.models import check_count_parameters

- :mod:`~course_lib.course.checks.core`            call, fail, passed: what every check shares
- :mod:`~course_lib.course.checks.welcome`         00: fraction of zeros
- :mod:`~course_lib.course.checks.models`          01: parameter count, state_dict bytes
- :mod:`~course_lib.course.checks.magnitude_pruning` 02: magnitude and quality x std masks, per layer
- :mod:`~course_lib.course.checks.retraining`      03: masked step, iterative pruning, the cubic schedule
- :mod:`~course_lib.course.checks.quantization`    04: linear quantization, the STE, the requantization multiplier
- :mod:`~course_lib.course.checks.weight_sharing`  05: k-means weight sharing, centroid gradients (by hand and autograd)
- :mod:`~course_lib.course.checks.sparse_storage`  06: CSR, relative indices and their decoding
- :mod:`~course_lib.course.checks.huffman`         07: Huffman and canonical codes, encode, decode
- :mod:`~course_lib.course.checks.structure`       08: latency, structured pruning, slimmable slices, scaling
- :mod:`~course_lib.course.checks.capstone`        09: file ratio, the challenge
"""

from .core import CheckFailed, CheckInputError

__all__ = ["CheckFailed", "CheckInputError"]
