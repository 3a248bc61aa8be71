"""gdl.nn: equivariant layers. Graph layers and models live in ``gdl.nn.graph``."""
from gdl.nn import graph

__all__ = ["graph"]
