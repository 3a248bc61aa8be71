"""gdl.data: generated benchmark datasets (PyG ``InMemoryDataset``s), splits, and transforms.

Datasets cache under :func:`gdl_home` (``$GDL_HOME``, default ``datasets/cache/``); a cache entry
is named by a hash of its generation parameters (hooks by their code), so a change of parameters
regenerates; entries are written atomically, checksummed (verified on load) and generated under a lock.
"""
from gdl.data._cache import DatasetCacheError, DatasetCacheWarning
from gdl.data._home import HookKeyError, cache_folder, gdl_home
from gdl.data.charged_particles import ChargedParticlesConfig, simulate_charged_particles
from gdl.data.csl import CSL, CSL_SKIPS, circular_skip_link_graph
from gdl.data.nbody import NBodyCharged, baseline_errors, generate_nbody_split
from gdl.data.splits import stratified_folds
from gdl.data.spherical_mnist import SphericalMNIST, project_digits
from gdl.data.mnist_idx import load_mnist, read_idx
from gdl.data.transforms import Center, LaplacianEigenPE, RandomWalkPE
from gdl.data.meshes import TemplateGeodesics, icosphere, sphere_triangulation
from gdl.data.synth_faust import SynthFAUST, SynthFAUSTConfig, synth_faust_sample, synth_faust_template
from gdl.data.ply import PlyError, read_ply, write_ply
from gdl.data.faust import FAUST
from gdl.data.cortical import CorticalSurface, read_fsaverage5
from gdl.data.group_tables import GroupTable, group_from_name, group_table_splits, multiplication_table

__all__ = [
    "gdl_home", "cache_folder", "DatasetCacheError", "DatasetCacheWarning", "HookKeyError",
    "NBodyCharged", "generate_nbody_split", "baseline_errors", "ChargedParticlesConfig", "simulate_charged_particles",
    "CSL", "CSL_SKIPS", "circular_skip_link_graph", "stratified_folds",
    "RandomWalkPE", "LaplacianEigenPE", "Center",
    "icosphere", "sphere_triangulation", "TemplateGeodesics",
    "SynthFAUST", "SynthFAUSTConfig", "synth_faust_sample", "synth_faust_template",
    "PlyError", "read_ply", "write_ply", "FAUST", "CorticalSurface", "read_fsaverage5",
    "SphericalMNIST", "project_digits", "load_mnist", "read_idx",
    "GroupTable", "group_table_splits", "multiplication_table", "group_from_name",
]
