"""Training runtime of `gkd run`: everything that imports torch, transformers or TRL."""
