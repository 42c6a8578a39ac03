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

# [DC] Tables 2 and 3, as printed (strings, so "235K" stays "235K"). Layer names are the
# paper's (ip1 = our fc1). Source: the course's reference facts.
# notebook 07 prints them; reproduce.py sets its per-layer results beside them.
STORAGE_COLUMNS = ["weights", "kept", "weight bits P+Q", "weight bits P+Q+H", "index bits P+Q",
                   "index bits P+Q+H", "rate P+Q", "rate P+Q+H"]
PAPER_TABLES = {
    "lenet300100": {
        "columns": STORAGE_COLUMNS,
        "rows": {
            "ip1": ["235K", "8%", "6", "4.4", "5", "3.7", "3.1%", "2.32%"],
            "ip2": ["30K", "9%", "6", "4.4", "5", "4.3", "3.8%", "3.04%"],
            "ip3": ["1K", "26%", "6", "4.3", "5", "3.2", "15.7%", "12.70%"],
            "total": ["266K", "8% (12x)", "6", "5.1", "5", "3.7", "3.1% (32x)", "2.49% (40x)"],
        },
    },
    "lenet5": {
        "columns": STORAGE_COLUMNS,
        "rows": {
            "conv1": ["0.5K", "66%", "8", "7.2", "5", "1.5", "78.5%", "67.45%"],
            "conv2": ["25K", "12%", "8", "7.2", "5", "3.9", "6.0%", "5.28%"],
            "ip1": ["400K", "8%", "5", "4.5", "5", "4.5", "2.7%", "2.45%"],
            "ip2": ["5K", "19%", "5", "5.2", "5", "3.7", "6.9%", "6.13%"],
            "total": ["431K", "8% (12x)", "5.3", "4.1", "5", "4.4", "3.05% (33x)", "2.55% (39x)"],
        },
    },
}
PAPER_TABLE_NOTES = [
    "[DC] Table 2's total weight bits after Huffman coding (5.1) is larger than every per-layer value (4.3-4.4).",
    "[DC] Table 3's ip2 gains bits after Huffman coding (5 -> 5.2), which a Huffman code cannot do "
    "on its own stream.",
    "[DC]'s text says index gaps use 8 bits in conv layers, but Table 3 prints 5.",
]
