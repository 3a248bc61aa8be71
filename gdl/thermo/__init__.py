"""gdl.thermo: energies, forces and Boltzmann samples (reduced units: k_B = 1, temperatures as kT).

Potentials (``energy(x[R, N, d]) -> [R]``, ``energy_and_forces(x) -> (E[R], F[R, N, d])``):

- ``Potential`` (base class, forces by autograd), ``AutogradPotential(fn)``, ``HarmonicBond(k, r0, pairs)``,
  ``LennardJones(epsilon, sigma, cutoff, confine_radius)`` (analytic forces), ``LJ_GLOBAL_MINIMA``.

Energy models: ``EnergyModel(model)`` wraps an invariant gdl graph model into E(data) → [B] with
forces −∂E/∂pos by autograd (twice differentiable while training), typed outputs for
``gdl.testing``; ``EnergyModel.as_potential(template)`` gives a ``Potential``.

Samplers (vectorised over replicas, seeded by a ``torch.Generator``; ``.run(x0, n_steps, *,
record_every, generator) -> Trajectory``):

- ``OverdampedLangevin(potential, kT, dt, metropolis=False)`` (MALA when ``metropolis``),
- ``BAOAB(potential, kT, dt, friction, masses)`` (underdamped Langevin),
- ``SimulatedAnnealing(potential, kT_start, kT_end, dt, ...)`` and ``minimize`` (FIRE quench),
- ``ReplicaExchange(potential, kTs, dt, swap_every, ...)``, ``geometric_ladder``, ``heat_capacity``.

ASE interop (``ase``, the ``thermo`` extra; units eV, Å, amu, kT in eV): ``atoms_to_data`` /
``data_to_atoms`` (ASE ``Atoms`` ⇄ PyG ``Data``, radius graphs with periodic images on plain torch),
``ASEPotential(calculator_factory, atoms)`` and ``EMTPotential(symbols)`` (ASE calculators as
``Potential``s), ``kelvin_to_kT``; ``EMTClusters`` (Cu₁₃ / Cu₃₈ sampled by BAOAB on EMT, labelled
with EMT energies and forces: the ``emt_clusters`` task's dataset).

Tensor-generic steps shared with the learning-dynamics tools: ``overdamped_step``,
``mala_log_ratio``, ``baoab_step``.

Learning as thermodynamics (the training loss as an energy over parameters): ``Objective(model, loss_fn,
batches)`` (``.params()``, ``.loss()``, ``.grad()``, ``.n_samples``, ``Objective.from_task(task, model,
batches)``) with the flat-vector helpers ``flatten``, ``unflatten``, ``assign``, ``parameters_restored``,
``model_mode``; the subpackage ``gdl.thermo.landscape`` measures its geometry (Hessian-vector products,
Lanczos top/bottom eigenvalues, Hutchinson / Hutch++ trace, SLQ spectral density, filter-normalised loss
slices, SGD temperature, gradient-noise scale); ``local_learning_coefficient`` (``gdl.thermo.llc``)
estimates λ̂ = nβ(E_SGLD[L] − L(w*)) with the shared Langevin step.
"""
from gdl.thermo._ase_bridge import atoms_to_data, data_to_atoms, edge_vectors, periodic_radius_graph
from gdl.thermo._emt import EMT_ELEMENTS, ASEPotential, EMTPotential, kelvin_to_kT, kT_to_kelvin
from gdl.thermo._annealing import Minimum, SimulatedAnnealing, annealing_schedule, minimize
from gdl.thermo._baoab import BAOAB, LangevinState, baoab_step, kinetic_energy
from gdl.thermo._energy_model import EnergyModel, GraphPotential, energy_type, force_type, twice_differentiable
from gdl.thermo._langevin import OverdampedLangevin, mala_log_ratio, overdamped_step
from gdl.thermo._lennard_jones import LJ_GLOBAL_MINIMA, CoincidentAtomsError, LennardJones, random_cluster
from gdl.thermo._potential import AutogradPotential, HarmonicBond, Potential, safe_distance
from gdl.thermo._replica_exchange import ReplicaExchange, geometric_ladder, heat_capacity, reweighted_heat_capacity
from gdl.thermo._sampling import Trajectory
from gdl.thermo.emt_clusters import EMTClusters
from gdl.thermo._objective import Objective, assign, batch_size, flatten, model_mode, parameters_restored, unflatten
from gdl.thermo.llc import LLCResult, local_learning_coefficient

__all__ = [
    "Potential", "AutogradPotential", "HarmonicBond", "LennardJones", "LJ_GLOBAL_MINIMA", "CoincidentAtomsError", "random_cluster",
    "safe_distance",
    "EnergyModel", "GraphPotential", "energy_type", "force_type", "twice_differentiable",
    "OverdampedLangevin", "BAOAB", "SimulatedAnnealing", "ReplicaExchange", "Trajectory",
    "minimize", "Minimum", "annealing_schedule", "geometric_ladder", "heat_capacity", "reweighted_heat_capacity",
    "overdamped_step", "mala_log_ratio", "baoab_step", "kinetic_energy", "LangevinState",
    "atoms_to_data", "data_to_atoms", "edge_vectors", "periodic_radius_graph",
    "ASEPotential", "EMTPotential", "EMT_ELEMENTS", "kelvin_to_kT", "kT_to_kelvin", "EMTClusters",
    "Objective", "flatten", "unflatten", "assign", "parameters_restored", "model_mode", "batch_size",
    "local_learning_coefficient", "LLCResult",
]
