r"""The one-hidden-layer MLP of Chughtai et al. 2023 (arXiv:2302.03025, §4) for group multiplication tables.

Input: a pair of element indices (a, b) of a finite group G (``{"a": [B], "b": [B]}`` or a LongTensor
[B, 2]); output: logits [B, |G|] over the product a·b. Architecture:

    h = ReLU(W [E_left(a) ; E_right(b)] + c),      logits = U h

with separate left/right embeddings E_left, E_right ∈ R^{|G| × embed_dim} (concatenated, not summed),
one hidden layer of ``hidden_channels`` ReLU units, and an unembedding U (no bias). Symmetry: none
is built in — the model sees indices, not group elements, so nothing ties a relabelling of G to the
output; Chughtai et al. find that after grokking the embeddings carry the group's irreducible
representations. The trained model's logits are equivariant under the relabelling a ↦ g·a only
approximately (measured by the held-out accuracy, which is what the ``group_tables`` task reports).
"""
from __future__ import annotations

import torch
from torch import nn


class GroupMLP(nn.Module):
    """Chughtai et al.'s MLP over concatenated left/right embeddings; see the module docstring.

    Args:
        group_order: |G| (number of embeddings and of output classes).
        embed_dim: width of each embedding. hidden_channels: ReLU units of the hidden layer.

    Initialisation: embedding rows N(0, 1/embed_dim) (norm ≈ 1), the linear layers PyTorch's default. A
    small initial weight norm makes grokking come sooner (Liu et al. 2022, "Omnigrok", arXiv:2210.01117).
    """

    def __init__(self, group_order: int, embed_dim: int = 32, hidden_channels: int = 128):
        super().__init__()
        for name, value in (("group_order", group_order), ("embed_dim", embed_dim), ("hidden_channels", hidden_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GroupMLP: {name} must be a positive integer, got {value!r}")
        self.group_order = group_order
        self.embed_left = nn.Embedding(group_order, embed_dim)
        self.embed_right = nn.Embedding(group_order, embed_dim)
        self.hidden = nn.Linear(2 * embed_dim, hidden_channels)
        self.unembed = nn.Linear(hidden_channels, group_order, bias=False)
        for embedding in (self.embed_left, self.embed_right):  # N(0, 1/embed_dim), not nn.Embedding's N(0, 1):
            nn.init.normal_(embedding.weight, std=embed_dim ** -0.5)  # unit-norm rows, a small start (Omnigrok)

    def pairs(self, batch) -> tuple:
        """(a [B], b [B]) from a batch dict ``{"a", "b"}`` or a LongTensor [B, 2], checked against |G|."""
        if isinstance(batch, dict):
            if "a" not in batch or "b" not in batch:
                raise KeyError(f"GroupMLP expects a batch with keys 'a' and 'b', got keys {sorted(batch)}")
            a, b = batch["a"], batch["b"]
        elif isinstance(batch, torch.Tensor) and batch.dim() == 2 and batch.shape[1] == 2:
            a, b = batch[:, 0], batch[:, 1]
        else:
            raise TypeError(f"GroupMLP expects a dict {{'a': [B], 'b': [B]}} or a LongTensor [B, 2], got "
                            f"{type(batch).__name__}{list(batch.shape) if isinstance(batch, torch.Tensor) else ''}")
        for name, x in (("a", a), ("b", b)):
            if x.dtype not in (torch.int64, torch.int32) or x.dim() != 1:
                raise TypeError(f"GroupMLP: {name} must be a 1-D integer tensor of element indices, got {x.dtype} {list(x.shape)}")
            if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.group_order):
                raise ValueError(f"GroupMLP: {name} holds element indices outside [0, {self.group_order})")
        return a, b

    def forward(self, batch) -> torch.Tensor:
        a, b = self.pairs(batch)
        h = torch.relu(self.hidden(torch.cat([self.embed_left(a), self.embed_right(b)], dim=-1)))
        return self.unembed(h)

    def weight_norm(self) -> torch.Tensor:
        """‖w‖₂ over all parameters (the quantity weight decay shrinks during grokking)."""
        return torch.sqrt(sum((p.detach() ** 2).sum() for p in self.parameters()))
