"""The group-table dataset: the table is the group's (closure, identity, inverses, associativity), splits partition it."""
import pytest
import torch

from gdl.data.group_tables import GroupTable, group_from_name, group_table_splits, multiplication_table
from gdl.groups import SO2, Cyclic, Dihedral, Symmetric


@pytest.mark.parametrize("group", [Cyclic(5), Symmetric(3), Dihedral(4), Cyclic(1)], ids=lambda g: g.name)
def test_the_table_is_a_group_law(group):
    table = multiplication_table(group)
    order = group.order
    elements = torch.arange(order)
    assert table.shape == (order, order) and table.dtype == torch.int64
    # closure and the Latin-square property: every row and column is a permutation of the elements
    assert torch.equal(table.sort(dim=1).values, elements.expand(order, order))
    assert torch.equal(table.sort(dim=0).values, elements.expand(order, order).T)
    # the identity of gdl.groups is a two-sided identity of the table
    e = int(group.index(group.identity(1)))
    assert torch.equal(table[e], elements) and torch.equal(table[:, e], elements)
    # inverses: group.inverse gives the column where each row hits the identity, on both sides
    inverse = group.index(group.inverse(group.elements()))
    assert torch.equal(table[elements, inverse], torch.full((order,), e))
    assert torch.equal(table[inverse, elements], torch.full((order,), e))
    # associativity: (ab)c = a(bc) for all triples
    a, b, c = torch.meshgrid(elements, elements, elements, indexing="ij")
    assert torch.equal(table[table[a, b], c], table[a, table[b, c]])


def test_the_table_agrees_with_compose_and_knows_abelian_from_not():
    for group in (Cyclic(6), Symmetric(3)):
        g = group.elements()
        table = multiplication_table(group)
        i, j = torch.tensor([1, 2, 4]), torch.tensor([3, 5, 2])
        assert torch.equal(table[i, j], group.index(group.compose(g[i], g[j])))
    assert torch.equal(multiplication_table(Cyclic(6)), multiplication_table(Cyclic(6)).T)
    assert not torch.equal(multiplication_table(Symmetric(3)), multiplication_table(Symmetric(3)).T)
    assert multiplication_table(Cyclic(7))[3, 5] == 1  # 3 + 5 mod 7


def test_group_names_and_bad_groups():
    assert group_from_name("C31") == Cyclic(31) and group_from_name("S5") == Symmetric(5) and group_from_name("D6") == Dihedral(6)
    assert multiplication_table(group_from_name("S5")).shape == (120, 120)
    with pytest.raises(ValueError, match="expected a group name like 'C31'"):
        group_from_name("Z31")
    with pytest.raises(TypeError, match="needs a finite group"):
        multiplication_table(SO2())
    with pytest.raises(ValueError, match="exceeds the limit"):
        multiplication_table(Cyclic(1001))


def test_splits_partition_the_pairs_and_are_seeded():
    group = Symmetric(3)
    splits = group_table_splits(group, train_fraction=0.5, seed=1)
    assert [len(splits[k]) for k in ("train", "val", "test")] == [18, 9, 9]
    keys = torch.cat([s.pairs[:, 0] * 6 + s.pairs[:, 1] for s in splits.values()])
    assert torch.equal(keys.sort().values, torch.arange(36))
    again = group_table_splits(group, train_fraction=0.5, seed=1)
    other = group_table_splits(group, train_fraction=0.5, seed=2)
    assert torch.equal(again["train"].pairs, splits["train"].pairs)
    assert not torch.equal(other["train"].pairs, splits["train"].pairs)
    table = multiplication_table(group)
    for split in splits.values():
        assert torch.equal(split.y, table[split.pairs[:, 0], split.pairs[:, 1]])
    item = splits["train"][0]
    assert set(item) == {"a", "b", "y"} and item["y"] == table[item["a"], item["b"]]
    batch = splits["test"].full_batch()
    assert batch["a"].shape == batch["y"].shape == (9,)
    single = group_table_splits(group, train_fraction=0.5, val_fraction=0.0)
    assert single["val"] is single["test"] and len(single["test"]) == 18


def test_bad_fractions_and_pairs_are_refused():
    with pytest.raises(ValueError, match="train_fraction must be a number in \\(0, 1\\)"):
        group_table_splits(Cyclic(5), train_fraction=1.0)
    with pytest.raises(ValueError, match="leaves an empty split"):
        group_table_splits(Cyclic(5), train_fraction=0.01)
    with pytest.raises(ValueError, match="leaves no test pairs"):
        group_table_splits(Cyclic(5), train_fraction=0.5, val_fraction=0.99)
    with pytest.raises(ValueError, match="element indices must lie in \\[0, 5\\)"):
        GroupTable(Cyclic(5), torch.tensor([[0, 5]]))
    with pytest.raises(ValueError, match="expected a LongTensor \\[N, 2\\]"):
        GroupTable(Cyclic(5), torch.tensor([0, 1, 2]))
