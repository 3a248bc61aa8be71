"""gdl: geometric deep learning with verified equivariance."""
__version__ = "0.1.0"
