"""course_lib: the helper library of the Deep Compression course.

Three roles, three places.

**The library learners build** (``course_lib.<module>``). Each module holds one idea that a
notebook teaches (d2l style): read the module and you see what the notebook built.

- :mod:`course_lib.data`               MNIST as in-memory tensors, batched by slicing (01)
- :mod:`course_lib.models`             LeNet-300-100 and the Caffe LeNet-5, parameter counts (01)
- :mod:`course_lib.train`              seeded training with progress bars, ``evaluate`` (01)
- :mod:`course_lib.sparsity`           the fraction of zeros of a tensor (00)
- :mod:`course_lib.pruning`            magnitude pruning, masks, iterative and gradual pruning (02, 03)
- :mod:`course_lib.quantization`       linear (affine and symmetric) quantization, PTQ, QAT with the STE (04)
- :mod:`course_lib.integer_inference`  integer-only inference: int32 accumulators, fixed-point requantization (04)
- :mod:`course_lib.weight_sharing`     k-means weight sharing, trained centroids (05)
- :mod:`course_lib.sparse_storage`     dense, CSR and relative-index storage (06)
- :mod:`course_lib.huffman`            entropy, Huffman and canonical codes (07)
- :mod:`course_lib.compressed_format`  the ``.dcz`` file: writer, reader, reports (09)
- :mod:`course_lib.size_accounting`    where the bytes go, stage by stage; the file ratio (09)
- :mod:`course_lib.pipeline`           Deep Compression end to end, stage by stage (09)
- :mod:`course_lib.results`            results.json and the tables next to the paper's (09)
- :mod:`course_lib.frontier`           a ladder of recipes, picked on validation; the frontier plot (09)
- :mod:`course_lib.latency`            CPU latency (warm-up, inference mode, median), CSR layers (08)
- :mod:`course_lib.structured`         structured pruning: whole neurons and channels by norm (08)
- :mod:`course_lib.slimmable`          slimmable LeNet-5: shared widths, sandwich rule, distillation (08)
- :mod:`course_lib.scaling`            compound scaling (EfficientNet): a CNN family, FLOPs (08)
- :mod:`course_lib.int8`               int8 inference with torchao; its symmetric per-channel codes (08)
- :mod:`course_lib.tradeoffs`          prune big or train small: bytes on disk, equal-memory table (08)
- :mod:`course_lib.structure_runs`     the training runs behind ``make structure`` (08)

Support for all of them: :mod:`course_lib.recipes` (every setting, one schema),
:mod:`course_lib.paper` (the papers' figures, typed once), :mod:`course_lib.committed_models`
(the models the commands wrote), :mod:`course_lib.checkpoints`, :mod:`course_lib.budget`
(the quick budget of the tests), :mod:`course_lib.paths`.

**Course machinery** (:mod:`course_lib.course`): the exercise generator, the checks, the
grader and the README generator.

**Project commands** (:mod:`course_lib.commands`): baselines, make_pruned, make_quantized,
reproduce, frontier, make_structure, benchmark; thin command-line wrappers over library calls (``make <target>``).
"""

__version__ = "0.1.0"
