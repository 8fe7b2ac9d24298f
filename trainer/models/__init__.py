"""The models: the image classifier (view-colour path, EfficientNet), the face-normal model, the
plan head, families.
"""
