"""Placeholder: being written (see the issue)."""
def preprocess(*a, **k): raise NotImplementedError
