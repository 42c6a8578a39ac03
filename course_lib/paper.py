"""The papers' published figures, as printed, for side-by-side comparisons.

Source: ``deep-compression-facts.md`` (shared reference), transcribed from
[DC] Han, Mao, Dally, ICLR 2016, Table 1, and [LW] Han, Pool, Tran, Dally, NIPS 2015.
These are the only hand-typed numbers in the course, and they are the papers', not ours.
"""

# [DC] Table 1: top-1 test error (%) and parameter size (decimal KB).
DC_TABLE1 = {
    "lenet300100": {"reference_error": 1.64, "reference_kb": 1070, "compressed_error": 1.58, "compressed_kb": 27, "ratio": 40},
    "lenet5": {"reference_error": 0.80, "reference_kb": 1720, "compressed_error": 0.74, "compressed_kb": 44, "ratio": 39},
}

# [LW] pruning alone: error before and after, and fraction of weights kept per layer.
LW_PRUNING = {
    "lenet300100": {"reference_error": 1.64, "pruned_error": 1.59, "ratio": 12,
                    "kept": {"fc1": 0.08, "fc2": 0.09, "fc3": 0.26}},
    "lenet5": {"reference_error": 0.80, "pruned_error": 0.77, "ratio": 12,
               "kept": {"conv1": 0.66, "conv2": 0.12, "fc1": 0.08, "fc2": 0.19}},
}

DISPLAY_NAMES = {"lenet300100": "LeNet-300-100", "lenet5": "LeNet-5"}
