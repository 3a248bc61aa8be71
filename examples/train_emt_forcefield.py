"""Learn ASE's EMT force field of a Cu₁₃ cluster, then run Langevin MD on the learned model.

    python examples/train_emt_forcefield.py --epochs 10

1. ``gdl.thermo.EMTClusters``: Cu₁₃ sampled by gdl's BAOAB on ASE's EMT at 400 and 800 K, labelled
   with EMT energies and forces (a small version of the ``emt_clusters`` task's data).
2. ``gdl train emt_clusters``: an invariant EGNN energy wrapped in ``gdl.thermo.EnergyModel``, trained
   on energies + forces (F = −∂E/∂x, so the force loss differentiates twice); the equivariance monitor
   checks the energy (invariant) and the forces (vectors) on validation batches.
3. The trained model as a ``Potential`` (``EnergyModel.as_potential``) drives BAOAB at 600 K, and ASE's EMT
   re-labels the visited configurations: how far the learned MD stays from EMT's forces.
The full comparison (radial distribution function, energy distribution) is
``python -m gdl.benchmarks.emt_md``.
"""
import argparse
import tempfile

import torch
from ase import units

from gdl.thermo import BAOAB, EMTPotential, kelvin_to_kT
from gdl.thermo.emt_clusters import cluster_atoms
from gdl.train import Trainer

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--md-steps", type=int, default=200)
parser.add_argument("--run-dir", default=None)
args = parser.parse_args()

data = {"clusters": ["Cu13"], "temperatures": [400.0, 800.0], "replicas_train": 4, "replicas_val": 1,
        "replicas_test": 1, "frames": 10, "record_every": 10, "equilibration_steps": 100}
run_dir = args.run_dir or tempfile.mkdtemp(prefix="gdl-emt-")
trainer = Trainer({"task": "emt_clusters", "epochs": args.epochs, "batch_size": 8, "data": data, "progress": False,
                   "equivariance": {"every": max(1, args.epochs // 2), "elements": 2}}, run_dir=run_dir)
results = trainer.fit()
print(f"test force MAE (mean ‖F̂_i − F_i‖): {results['test_metric']:.4f} eV/Å after {results['epochs']} epochs")
eq = results["equivariance"]
print(f"equivariance of the trained model on test batches: energy {eq['per_output']['energy']['max']:.1e}, "
      f"forces {eq['per_output']['forces']['max']:.1e} (float32 rounding: equivariant by construction)")

model = trainer.model.to(torch.float64).eval()
atoms = cluster_atoms("Cu13")
template = trainer.splits["test"][0].clone()
template = template.apply(lambda t: t.to(torch.float64) if t.is_floating_point() else t)
learned = model.as_potential(template)
masses = torch.as_tensor(atoms.get_masses(), dtype=torch.float64)
sampler = BAOAB(learned, kelvin_to_kT(600.0), dt=5 * units.fs, friction=0.02 / units.fs, masses=masses)
x0 = torch.as_tensor(atoms.positions, dtype=torch.float64).expand(2, -1, -1).clone()
trajectory = sampler.run(x0, args.md_steps, record_every=max(1, args.md_steps // 10),
                         generator=torch.Generator().manual_seed(0))
frames = trajectory.positions.reshape(-1, len(atoms), 3)
emt_energy, emt_forces = EMTPotential(atoms).energy_and_forces(frames)
model_energy, model_forces = learned.energy_and_forces(frames)
print(f"MD on the learned model at 600 K, {len(frames)} frames re-labelled by EMT: force MAE "
      f"{(model_forces - emt_forces).abs().mean():.4f} eV/Å, energy MAE "
      f"{1000 * (model_energy - emt_energy).abs().mean() / len(atoms):.1f} meV/atom")
