"""course_lib: the helper library of the Deep Compression course.

Each module holds one idea that a notebook teaches (d2l style): read the module
and you see what the notebook built.

- :mod:`course_lib.data`     MNIST as in-memory tensors, batched by slicing
- :mod:`course_lib.models`   LeNet-300-100 and the Caffe LeNet-5
- :mod:`course_lib.train`    seeded training with progress bars, ``evaluate``
- :mod:`course_lib.checkpoints` the committed baseline models
- :mod:`course_lib.exercises`  learner notebooks generated from the solutions
- :mod:`course_lib.grader`     runs and scores a learner's notebook
- :mod:`course_lib.checks`     self-checks for every exercise
"""

__version__ = "0.1.0"
