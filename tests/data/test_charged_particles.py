

def test_threaded_chunks_are_bit_identical_to_per_trajectory_integration():
    """integrate_charged_particles splits ≥ 512 trajectories over threads; the result must not depend on it."""
    import numpy as np
    import torch

    from gdl.data.charged_particles import ChargedParticlesConfig, draw_initial_conditions, integrate_charged_particles

    cfg = ChargedParticlesConfig()
    q, p, v = draw_initial_conditions(np.random.RandomState(0), 600, cfg)
    whole = integrate_charged_particles(q, p, v, [20, 50], cfg, progress=False)
    pieces = [integrate_charged_particles(q[s], p[s], v[s], [20, 50], cfg, progress=False) for s in (slice(0, 7), slice(7, 600))]
    assert torch.equal(whole[0], torch.cat([a for a, _ in pieces]))
    assert torch.equal(whole[1], torch.cat([b for _, b in pieces]))
