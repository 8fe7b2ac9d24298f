"""Meta-image datasets: the manifest read and split by part, preprocessing, and the files a user
asks about.
"""
