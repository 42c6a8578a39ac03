"""The papers' published figures, as printed, for side-by-side comparisons.

Every figure the course quotes from a paper is typed here, once; everything else imports
it. They are the papers' numbers, not ours (ours are measured and written to files by
the project commands).

- [DC] Han, Mao, Dally. *Deep Compression: Compressing Deep Neural Networks with Pruning,
  Trained Quantization and Huffman Coding.* ICLR 2016, arXiv:1510.00149. Tables 1-3.
- [LW] Han, Pool, Tran, Dally. *Learning both Weights and Connections for Efficient Neural
  Networks.* NIPS 2015, arXiv:1506.02626. Table 1 (pruning alone).
- [DC] §6.3, Fig. 9 (speed-up of pruned fully connected layers at batch 1) and [EN] Tan, Le.
  *EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks.* ICML 2019,
  arXiv:1905.11946, §3.3 (the compound-scaling constraint, EfficientNet-B0's coefficients):
  quoted by notebook 08.
"""

from __future__ import annotations

DISPLAY_NAMES = {"lenet300100": "LeNet-300-100", "lenet5": "LeNet-5"}

# [DC] Table 1: top-1 test error (%) and parameter size (decimal KB).
DC_TABLE1 = {
    "lenet300100": {"reference_error": 1.64, "reference_kb": 1070, "compressed_error": 1.58, "compressed_kb": 27, "ratio": 40},
    "lenet5": {"reference_error": 0.80, "reference_kb": 1720, "compressed_error": 0.74, "compressed_kb": 44, "ratio": 39},
}

# [DC] Tables 2 and 3, as printed (strings, so "235K" stays "235K"). Layer names are the
# paper's (ip1 = our fc1; the map is PAPER_LAYER_NAMES below).
# Notebook 07 prints them (notebook 06 prints their P+Q rates); the reproduction sets its
# per-layer results beside them.
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
# What is odd in the printed tables; notebook 07 and paper_comparison.md print these notes.
PAPER_TABLE_NOTES = [
    "[DC] Table 2's total weight bits after Huffman coding (5.1) is larger than every per-layer value (4.3-4.4).",
    "[DC] Table 3's ip2 shows more weight bits after Huffman coding than before (5 -> 5.2). That is "
    "possible: with fillers as an extra symbol the alphabet has 2^5 + 1 symbols, so 5 fixed bits "
    "understate the fixed-width cost, and the code table counts too.",
    "[DC]'s text says index gaps use 8 bits in conv layers, but Table 3 prints 5.",
]

# Our layer names -> the paper's ([DC] and Caffe call the fully connected layers ip1, ip2, ...).
PAPER_LAYER_NAMES = {
    "lenet300100": {"fc1": "ip1", "fc2": "ip2", "fc3": "ip3"},
    "lenet5": {"conv1": "conv1", "conv2": "conv2", "fc1": "ip1", "fc2": "ip2"},
}


def _column(name: str, column: str) -> dict[str, str]:
    table = PAPER_TABLES[name]
    i = table["columns"].index(column)
    return {ours: table["rows"][theirs][i] for ours, theirs in PAPER_LAYER_NAMES[name].items()}


# Numbers read off the tables above (not typed again):
# weight bits per layer after pruning + quantization ([DC] Tables 2-3, "weight bits P+Q").
DC_WEIGHT_BITS: dict[str, dict[str, int]] = {
    name: {layer: int(v) for layer, v in _column(name, "weight bits P+Q").items()} for name in PAPER_TABLES
}
# fraction of weights kept per layer ([DC] Tables 2-3, "kept"; [LW] prints the same rates).
DC_KEEP_RATES: dict[str, dict[str, float]] = {
    name: {layer: float(v.rstrip("%")) / 100 for layer, v in _column(name, "kept").items()} for name in PAPER_TABLES
}

# [LW] Table 1, pruning alone: the error after pruning and the weight reduction. Its
# reference errors are [DC] Table 1's (the same models), and its per-layer keep rates are
# DC_KEEP_RATES ([LW] Tables 2-3 print the same).
LW_PRUNING = {
    "lenet300100": {"reference_error": DC_TABLE1["lenet300100"]["reference_error"], "pruned_error": 1.59,
                    "ratio": 12, "kept": DC_KEEP_RATES["lenet300100"]},
    "lenet5": {"reference_error": DC_TABLE1["lenet5"]["reference_error"], "pruned_error": 0.77,
               "ratio": 12, "kept": DC_KEEP_RATES["lenet5"]},
}


# [DC] §6.3, Fig. 9: the pruned fully connected layers of AlexNet and VGG-16 against the dense ones,
# at batch size 1 ("targeting real time processing"), on average over the layers: how many times
# faster. With batching, [DC] §6.3 reports that the pruned network no longer shows this advantage.
DC_FC_SPEEDUP = {"CPU": 3.0, "GPU": 3.5, "mobile GPU": 4.2}

# [EN] §3.3, Eq. 3: depth alpha^phi, width beta^phi, resolution gamma^phi under
# alpha * beta^2 * gamma^2 ~= 2 (FLOPs about 2^phi), alpha, beta, gamma >= 1, found by a small grid
# search at phi = 1; EfficientNet-B0's values.
EN_FLOPS_PER_PHI = 2
EN_B0_COEFFICIENTS = {"alpha": 1.2, "beta": 1.1, "gamma": 1.15}

# Later results on the same two networks, for the frontier plot of notebook 09, as each paper (or
# its official code release) prints them. A ratio can count different things, so each entry says
# which (RATIO_COUNTS): the length of a real encoding (B); a storage estimate in [DC]'s manner, the
# bits of the Huffman-coded weights and sparse indices plus the codebooks, with no file written (H);
# the bits of the kept weights only, positions not charged (W); or only the count of non-zero
# weights, weights / non-zeros, with nothing charged for positions or bits (NZ).
RATIO_COUNTS = {
    "B": "length of an encoding",
    "H": "a storage estimate",
    "W": "bits of the weights, no positions",
    "NZ": "non-zero weights only",
}
PUBLISHED_LENET = [
    # [DC] §1 and Table 1: the rate "includes the overhead of the codebook and sparse indexes",
    # computed from the bits per weight and per index after Huffman coding (Tables 2-3).
    {"method": "Deep Compression", "counts": "H",
     "source": "Han, Mao, Dally, ICLR 2016, arXiv:1510.00149, Table 1",
     "results": {name: {"ratio": DC_TABLE1[name]["ratio"], "error": DC_TABLE1[name]["compressed_error"]}
                 for name in DC_TABLE1}},
    # DNS's abstract: LeNet-5 parameters "by a factor of 108x"; both figures as Soft Weight-Sharing's
    # Table 1 quotes them (its rows for Guo et al.).
    {"method": "DNS", "counts": "NZ",
     "source": "Guo, Yao, Chen, Dynamic Network Surgery, NIPS 2016, arXiv:1608.04493 (as quoted by [SWS] Table 1)",
     "results": {"lenet300100": {"ratio": 56, "error": 1.99}, "lenet5": {"ratio": 108, "error": 0.91}}},
    # [SWS] Table 1's caption: CR "based on the method proposed by Han et al." (LeNet-5-Caffe).
    {"method": "Soft weight-sharing", "counts": "H",
     "source": "Ullrich, Meeds, Welling, Soft Weight-Sharing for NN Compression, ICLR 2017, arXiv:1702.04008, Table 1",
     "results": {"lenet300100": {"ratio": 64, "error": 1.94}, "lenet5": {"ratio": 162, "error": 0.97}}},
    # "reduced the number of parameters up to 280 times"; the table of the official code release.
    {"method": "Sparse VD", "counts": "NZ",
     "source": "Molchanov, Ashukha, Vetrov, Variational Dropout Sparsifies DNNs, ICML 2017, arXiv:1701.05369 "
               "(results table, as in its official code release)",
     "results": {"lenet300100": {"ratio": 68, "error": 1.92}, "lenet5": {"ratio": 280, "error": 0.75}}},
    # BC-GHS, LeNet-5-Caffe, "after precision reduction": 32 N bits over the bits of the kept
    # weights at their learned precision (the official code release's compression.py).
    {"method": "Bayesian Compression", "counts": "W",
     "source": "Louizos, Ullrich, Welling, Bayesian Compression for Deep Learning, NIPS 2017, arXiv:1705.08665 "
               "(BC-GHS, as in its official code release)",
     "results": {"lenet5": {"ratio": 419, "error": 1.0}}},
    # MIRACLE's lowest-error LeNet-5: 3.03 kB, the length of the coded message.
    {"method": "MIRACLE", "counts": "B",
     "source": "Havasi, Peharz, Hernández-Lobato, Minimal Random Code Learning, ICLR 2019, arXiv:1810.00440, Table 1",
     "results": {"lenet5": {"ratio": 555, "error": 0.69}}},
]
