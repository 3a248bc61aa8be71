"""Small models shared by the gdl.testing tests."""
import torch

from gdl.groups import Euclidean, FieldType

E3 = Euclidean(3)


class TinyEGNN(torch.nn.Module):
    """A few EGNN-style layers (Satorras et al. 2021) on named tensors (the CONTRACT)."""

    def __init__(self, hidden=16, layers=2):
        super().__init__()
        self.in_type = {"h": FieldType(E3, E3.trivial_rep(hidden)), "pos": FieldType(E3, E3.standard_rep()),
                        "vel": FieldType(E3, E3.vector_rep())}
        self.out_type = {"h": FieldType(E3, E3.trivial_rep(hidden)), "pos": FieldType(E3, E3.standard_rep())}
        self.edge = torch.nn.ModuleList(torch.nn.Sequential(torch.nn.Linear(2 * hidden + 1, hidden), torch.nn.SiLU(),
                                                            torch.nn.Linear(hidden, hidden)) for _ in range(layers))
        self.coord = torch.nn.ModuleList(torch.nn.Linear(hidden, 1) for _ in range(layers))
        self.node = torch.nn.ModuleList(torch.nn.Linear(2 * hidden, hidden) for _ in range(layers))
        self.vel = torch.nn.Linear(hidden, 1)

    def forward(self, h, pos, vel, edge_index, batch=None):
        src, dst = edge_index
        for edge, coord, node in zip(self.edge, self.coord, self.node):
            d = pos[dst] - pos[src]
            m = edge(torch.cat([h[dst], h[src], (d * d).sum(-1, keepdim=True)], -1))
            agg = torch.zeros_like(h).index_add_(0, dst, m)
            pos = pos + torch.zeros_like(pos).index_add_(0, dst, d * coord(m)) / 4 + self.vel(h) * vel
            h = h + node(torch.cat([h, agg], -1))
        return h, pos


class DataModel(torch.nn.Module):
    """Takes a PyG Data/Batch (pos, vel, charges, edge_index, edge_attr) → positions."""

    in_type = {"pos": FieldType(E3, E3.standard_rep()), "vel": FieldType(E3, E3.vector_rep()),
               "charges": FieldType(E3, E3.trivial_rep(1))}
    out_type = FieldType(E3, E3.standard_rep())

    def __init__(self, leak=0.0):
        super().__init__()
        self.lin = torch.nn.Linear(2, 1)
        self.leak = leak

    def forward(self, data):
        src, dst = data.edge_index
        d = data.pos[dst] - data.pos[src]
        w = self.lin(torch.cat([(d * d).sum(-1, keepdim=True), data.edge_attr], -1))
        out = data.pos + torch.zeros_like(data.pos).index_add_(0, dst, d * w) / 4 + data.vel * data.charges
        return out + self.leak * data.pos[:, :1]


def fully_connected(num_graphs, nodes):
    i, j = torch.meshgrid(torch.arange(nodes), torch.arange(nodes), indexing="ij")
    mask = i != j
    one = torch.stack([j[mask], i[mask]])
    edge_index = (one.unsqueeze(1) + (torch.arange(num_graphs) * nodes).view(1, -1, 1)).reshape(2, -1)
    return edge_index, torch.arange(num_graphs).repeat_interleave(nodes)


def nbody_like(num_graphs=4, nodes=5, seed=0, dtype=torch.float32):
    from torch_geometric.data import Batch, Data

    gen = torch.Generator().manual_seed(seed)
    items = []
    for _ in range(num_graphs):
        ei, _ = fully_connected(1, nodes)
        q = (torch.randint(0, 2, (nodes, 1), generator=gen) * 2 - 1).to(dtype)
        items.append(Data(pos=torch.randn(nodes, 3, generator=gen).to(dtype), vel=torch.randn(nodes, 3, generator=gen).to(dtype),
                          charges=q, edge_index=ei, edge_attr=q[ei[0]] * q[ei[1]], y=torch.randn(nodes, 3, generator=gen).to(dtype)))
    return Batch.from_data_list(items)
