"""Operators: thin wrappers that read properties and call one plain function or job."""
