"""Project commands: thin command-line wrappers over library calls, each writing committed files.

Run them through ``make`` (``make baselines``, ``make pruned``, ...) or as
``python -m course_lib.commands.<name>``. No notebook and no check imports from here.

- :mod:`~course_lib.commands.baselines`       train the reference models (``make baselines``)
- :mod:`~course_lib.commands.make_pruned`     prune + retrain them (``make pruned``)
- :mod:`~course_lib.commands.make_quantized`  k-means weight sharing, trained centroids (``make quantized``)
- :mod:`~course_lib.commands.reproduce`       the whole Deep Compression pipeline (``make reproduce``)
- :mod:`~course_lib.commands.frontier`        a ladder of recipes per LeNet and the picks (``make frontier``)
- :mod:`~course_lib.commands.make_structure`  slimmable, scaled, structured and narrow models of 08 (``make structure``)
- :mod:`~course_lib.commands.benchmark`       speed figures, printed only (``make bench``)
- :mod:`~course_lib.commands.grading_benchmark`  how long grading a class takes, printed only (``make bench-grading``)
"""
