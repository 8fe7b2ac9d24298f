"""Speed and robustness benchmarks: rendering, the analysis, parts, training, prediction,
scale, faults.
"""
