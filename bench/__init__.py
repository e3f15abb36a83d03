"""The pipeline's benchmark: `python -m bench run` and `python -m bench compare`."""
