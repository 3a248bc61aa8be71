"""Built-in tasks; importing this package registers them (``nbody``, ``csl``, ``synth_faust``, ``cortical``,
``spherical_mnist``, ``emt_clusters``, ``group_tables``).

Each task module imports its dataset and models lazily (when a run builds them), so listing
tasks stays fast.
"""
from gdl.train.tasks import nbody  # noqa: F401
from gdl.train.tasks import csl  # noqa: F401
from gdl.train.tasks import synth_faust  # noqa: F401
from gdl.train.tasks import cortical  # noqa: F401
from gdl.train.tasks import spherical_mnist  # noqa: F401
from gdl.train.tasks import emt_clusters  # noqa: F401
from gdl.train.tasks import group_tables  # noqa: F401
