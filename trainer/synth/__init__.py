"""Parts: synthetic labelled workpieces (stock, machining features, multi-side blocks) and `label`
for real ones.
"""
