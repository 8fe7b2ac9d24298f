"""MLflow, and the only package that imports it: runs, the logged model, the registry and its
champion.
"""
