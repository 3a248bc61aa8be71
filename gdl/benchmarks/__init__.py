"""Speed benchmarks (commands, not tests): ``python -m gdl.benchmarks.nbody_speed``."""
