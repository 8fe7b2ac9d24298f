"""Training runs: `train(config)`, `train_baseline(config)`, resume, checkpoints, data-parallel,
tune.
"""
