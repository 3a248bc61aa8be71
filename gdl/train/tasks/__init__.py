"""Built-in tasks; importing this package registers them (``nbody``, ``csl``, ``spherical_mnist``).

Each task module imports its dataset and models lazily (when a run builds them), so listing
tasks stays fast.
"""
from gdl.train.tasks import nbody  # noqa: F401
from gdl.train.tasks import csl  # noqa: F401
from gdl.train.tasks import spherical_mnist  # noqa: F401
