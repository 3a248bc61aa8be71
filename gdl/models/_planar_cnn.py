"""PlanarCNN: an ordinary 2-D CNN on the (latitude, longitude) image of a spherical signal — the baseline of
Spherical MNIST that shows what equivariance buys."""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import torch
from torch import nn


class PlanarCNN(nn.Module):
    r"""A planar CNN reading the 2b × 2b grid of a spherical signal as a flat image (Cohen et al. 2018's baseline).

    Blocks ``Conv2d(k × k, 'same' padding) → ReLU → MaxPool2d(2)`` with ``channels`` (16, 32, 64) and
    ``kernel_sizes`` (5, 3, 3), then flatten → ``Linear`` to ``num_classes`` logits. The flatten keeps
    where on the image a feature was seen, so the model is neither invariant to translations of the
    image nor to rotations of the sphere: it has no exact symmetry. On the grid a
    rotation about the polar axis by 2π/2b is a cyclic shift of the longitude axis, and a general
    rotation moves the digit to a new place and distorts it (near the poles most), which a planar
    filter has never seen when it trained on unrotated digits: its NR/R accuracy collapses while a
    spherical CNN's does not (see ``docs/benchmarks.md``, Spherical MNIST).

    Input: a tensor [B, in_channels, H, W] or a PyG ``Data``/``Batch`` whose ``x`` is that tensor.
    Output: logits [B, num_classes]. ``image_size``: (H, W) of the grid (60 × 60 for b = 30).
    Symmetry: none (a baseline; the spherical_mnist task measures its SO(3) error, never enforces it).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: Union[int, Tuple[int, int]] = 60,
                 channels: Sequence[int] = (16, 32, 64), kernel_sizes: Sequence[int] = (5, 3, 3)):
        super().__init__()
        size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"image_size must be an int or (H, W) of positive ints, got {image_size!r}")
        if len(channels) != len(kernel_sizes) or not channels:
            raise ValueError(f"channels and kernel_sizes need the same nonzero length, got {list(channels)} and "
                             f"{list(kernel_sizes)}")
        if any(k % 2 == 0 for k in kernel_sizes):
            raise ValueError(f"kernel_sizes must be odd ('same' padding), got {list(kernel_sizes)}")
        if min(size) < 2 ** len(channels):
            raise ValueError(f"image_size {size} is too small for {len(channels)} pooling steps of 2")
        self.in_channels, self.num_classes, self.image_size = in_channels, num_classes, size
        layers, previous = [], in_channels
        h, w = size
        for out, k in zip(channels, kernel_sizes):
            layers += [nn.Conv2d(previous, out, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2)]
            previous, h, w = out, h // 2, w // 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(previous * h * w, num_classes)

    def forward(self, data) -> torch.Tensor:
        x = data if isinstance(data, torch.Tensor) else getattr(data, "x", None)
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"PlanarCNN takes a tensor [B, C, H, W] or a Data/Batch with .x, got {type(data).__name__}")
        expected = (self.in_channels, *self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"PlanarCNN expected input [B, {expected[0]}, {expected[1]}, {expected[2]}] "
                             f"(channels, latitudes, longitudes), got shape {list(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError("PlanarCNN input contains non-finite values (NaN or inf)")
        x = x.to(self.head.weight.dtype)
        return self.head(self.features(x).flatten(1))
