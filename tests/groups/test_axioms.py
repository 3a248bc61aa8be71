"""Group axioms on test_elements() ∪ 100 random samples, float64, to 1e-12."""
import itertools

import pytest
import torch

from tests.helpers.groups import GROUPS, elements_for  # noqa: E402

TOL = 1e-12


def _pairs(g, elems):
    n = g.batch_size(elems)
    idx = torch.arange(n)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    return g.select(elems, idx), g.select(elems, perm)


def test_identity_is_neutral(group):
    e = elements_for(group)
    one = group.identity(1, dtype=torch.float64)
    assert group.allclose(group.compose(one, e), e, TOL)
    assert group.allclose(group.compose(e, one), e, TOL)


def test_inverse(group):
    e = elements_for(group)
    n = group.batch_size(e)
    ident = group.identity(n, dtype=torch.float64)
    assert group.allclose(group.compose(e, group.inverse(e)), ident, TOL)
    assert group.allclose(group.compose(group.inverse(e), e), ident, TOL)


def test_associativity(group):
    e = elements_for(group)
    a, b = _pairs(group, e)
    c = group.select(e, torch.roll(torch.arange(group.batch_size(e)), 3))
    left = group.compose(group.compose(a, b), c)
    right = group.compose(a, group.compose(b, c))
    assert group.allclose(left, right, 1e-12)


def test_test_elements_start_with_identity_then_generators(group):
    e = group.test_elements(dtype=torch.float64)
    gens = group.generators(dtype=torch.float64)
    ng = group.batch_size(gens)
    assert group.allclose(group.select(e, 0), group.identity(1, dtype=torch.float64), 0.0)
    assert group.allclose(group.select(e, slice(1, 1 + ng)), gens, 0.0)
    # deterministic: same seed, same elements
    assert group.allclose(e, group.test_elements(dtype=torch.float64), 0.0)


def test_samples_are_valid_and_seeded(group):
    a = group.sample(50, torch.Generator().manual_seed(3), dtype=torch.float64)
    b = group.sample(50, torch.Generator().manual_seed(3), dtype=torch.float64)
    group.validate(a)
    assert group.allclose(a, b, 0.0)
    assert group.batch_size(a) == 50


@pytest.mark.parametrize("name", [n for n, g in GROUPS.items() if g.is_finite])
def test_finite_groups_closed_and_indexed(name):
    g = GROUPS[name]
    el = g.elements()
    n = g.order
    assert g.batch_size(el) == n
    assert torch.equal(g.index(el), torch.arange(n))  # distinct, indexed in order
    a = g.select(el, torch.arange(n).repeat_interleave(n))
    b = g.select(el, torch.arange(n).repeat(n))
    table = g.index(g.compose(a, b)).reshape(n, n)
    for row in table:  # Latin square: each row is a permutation of the group
        assert torch.equal(torch.sort(row).values, torch.arange(n))
    gens = g.generators()
    if n > 1:  # generators generate the group
        reached = {0}
        frontier = [g.select(g.identity(1), 0)]
        seen = g.index(g.identity(1)).tolist()
        reached = set(seen)
        current = g.identity(1)
        for _ in range(n):
            k = g.batch_size(current)
            ng = g.batch_size(gens)
            prod = g.compose(g.select(current, torch.arange(k).repeat_interleave(ng)), g.select(gens, torch.arange(ng).repeat(k)))
            idx = g.index(prod)
            new = [i for i in torch.unique(idx).tolist() if i not in reached]
            if not new:
                break
            reached.update(new)
            current = g.select(el, torch.tensor(new))
        assert len(reached) == n


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_symmetric_order_and_elements(n):
    from gdl.groups import Symmetric
    import math

    g = Symmetric(n)
    assert g.order == math.factorial(n)
    assert {tuple(p) for p in g.elements().tolist()} == set(itertools.permutations(range(n)))
