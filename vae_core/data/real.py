"""Placeholder: being written (see the issue)."""
def download(*a, **k): raise NotImplementedError
def load_tcga(*a, **k): raise NotImplementedError
def load_gtex(*a, **k): raise NotImplementedError
