"""Test-only helpers shared by several test folders, importable from any subset of the suite.

pytest puts the repository root on ``sys.path`` (``pythonpath = ["."]`` in pyproject.toml), so a
test file imports ``from tests.helpers.graph import make_nbody_batch`` whether it runs alone,
in a folder, or in the whole suite. Never ``from conftest import ...``: which conftest that
names depends on what else was collected.

- ``graph``: float32/float64 tolerances of the graph-layer tests, N-body batches, ``default_dtype``.
- ``groups``: the groups and representations the group tests sweep over.
- ``transforms``: E(3) motions and permutations built by hand with numpy/scipy, independent of
  ``gdl.groups`` (for model tests that must not check gdl with its own group code).
"""
