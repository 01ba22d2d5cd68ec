"""Views for researchers over the package's frames (used by the notebooks in `notebooks/`)."""
