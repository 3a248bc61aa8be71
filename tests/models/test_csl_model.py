"""CSLClassifier (gdl.models): what the csl task builds, permutation-invariant logits, clear input errors."""
import pytest
import torch
from torch_geometric.data import Batch, Data

from gdl.groups import FieldTypeError
from gdl.models import CSLClassifier
from gdl.testing import NodePermutation, check_equivariance
from gdl.train import get_task


def circulant_batch(pe_steps=4, seed=0):
    """Two 4-regular circulant graphs C_8(1, 2) and C_8(1, 3) with random 'positional encodings'."""
    gen = torch.Generator().manual_seed(seed)
    graphs = []
    for skip in (2, 3):
        nodes = torch.arange(8)
        ends = torch.cat([(nodes + 1) % 8, (nodes + skip) % 8])
        source, target = torch.cat([nodes, nodes, ends]), torch.cat([ends, nodes.repeat(2)])
        graphs.append(Data(edge_index=torch.stack([source, target]), num_nodes=8,
                           random_walk_pe=torch.rand(8, pe_steps, generator=gen, dtype=torch.float64)))
    return Batch.from_data_list(graphs)


@pytest.mark.parametrize("name,positional_encoding", [("gin", False), ("gin-rwpe", True)])
def test_the_csl_task_builds_the_classifier(name, positional_encoding):
    model = get_task("csl").models[name].factory(hidden_channels=8, num_layers=2, pe_steps=4)
    assert type(model) is CSLClassifier and model.positional_encoding is positional_encoding
    logits = model.double().eval()(circulant_batch())
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()


def test_logits_are_permutation_invariant():
    torch.manual_seed(0)
    model = CSLClassifier(True, hidden_channels=8, num_layers=2, pe_steps=4).double().eval()
    report = check_equivariance(model, circulant_batch(), symmetry=NodePermutation(), n_random=3, n_grid=1)
    assert report.passed, report.table()


def test_missing_or_mistyped_positional_encoding():
    model = CSLClassifier(True, hidden_channels=8, num_layers=2, pe_steps=4).double()
    batch = circulant_batch()
    missing = Batch.from_data_list([Data(edge_index=g.edge_index, num_nodes=8) for g in batch.to_data_list()])
    with pytest.raises(ValueError, match="needs data.random_walk_pe"):
        model(missing)
    batch.random_walk_pe = batch.random_walk_pe[:, :3]
    with pytest.raises(FieldTypeError, match=r"expected field type 4x trivial \(dim 4\) on axis -1 of "
                                             r"'data.random_walk_pe'"):
        model(batch)
