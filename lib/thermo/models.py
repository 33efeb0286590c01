"""Torch models of the book: MLP, a 4-layer ConvNet, CIFAR ResNets, VGG and Wide ResNets.

Every model takes the input shape ``(channels, height, width)`` and the class count, has a
``width`` factor that multiplies every hidden channel/unit count, and uses one ``nn.ReLU``
*module instance per activation* (no functional ReLUs, no shared instances), so that forward
hooks can capture each layer's activation pattern (ActCoolR chapter).

``build(name, in_shape, num_classes, width=1.0)`` is the one entry point used by experiments;
names: ``mlp``, ``convnet``, ``fmnist-convnet`` (the Fashion-MNIST benchmark's), ``resnet18``,
``resnet34``, ``resnet20``, ``resnet32``, ``vgg11``, ``vgg16``, ``vgg19``, ``wrn-<depth>-<k>``
(e.g. ``wrn-16-4``; depth = 6n + 4).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import torch
from torch import nn

from thermo.errors import ConfigError


def _w(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


class MLP(nn.Module):
    """Fully connected ReLU network: flatten, ``len(hidden)`` hidden layers, linear read-out."""

    def __init__(self, in_shape, num_classes, hidden: Sequence[int] = (512, 256), width=1.0, bias=True):
        super().__init__()
        dims = [math.prod(in_shape)] + [_w(h, width) for h in hidden]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b, bias=bias), nn.ReLU()]
        layers.append(nn.Linear(dims[-1], num_classes, bias=bias))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class ConvNet(nn.Module):
    """Four weight layers: two 3x3 convs (each ReLU + 2x2 max-pool), a hidden linear, a read-out.
    ``batchnorm=True`` puts a BatchNorm2d after each convolution (the normalized variant of the
    Temperature-check chapter's Fig. 6)."""

    def __init__(self, in_shape, num_classes, channels=(32, 64), hidden=128, width=1.0, batchnorm=False):
        super().__init__()
        c, h, w = in_shape
        c1, c2 = (_w(ch, width) for ch in channels)

        def norm(ch):
            return [nn.BatchNorm2d(ch)] if batchnorm else []

        self.features = nn.Sequential(
            nn.Conv2d(c, c1, 3, padding=1), *norm(c1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), *norm(c2), nn.ReLU(), nn.MaxPool2d(2),
        )
        flat = c2 * (h // 4) * (w // 4)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(flat, _w(hidden, width)), nn.ReLU(),
            nn.Linear(_w(hidden, width), num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class FashionConvNet(nn.Module):
    """The ConvNet of the Fashion-MNIST benchmark (``benchmark/convnet.py`` in the documentation of
    the Debian package ``dataset-fashion-mnist``), used by ActCoolR's Table 1: conv 5x5 with 32
    channels ("same" padding), ReLU, 2x2 max-pool, conv 5x5 with 64, ReLU, max-pool, dense 1024,
    ReLU, dropout 0.4, dense to the classes."""

    def __init__(self, in_shape, num_classes, width=1.0, dropout=0.4):
        super().__init__()
        c, h, w = in_shape
        c1, c2, hidden = _w(32, width), _w(64, width), _w(1024, width)
        self.features = nn.Sequential(
            nn.Conv2d(c, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * (h // 4) * (w // 4), hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity (or 1x1 conv) shortcut; ``dropout`` for WRN;
    ``batchnorm=False`` replaces every BatchNorm by the identity."""

    def __init__(self, cin, cout, stride=1, preact=False, dropout=0.0, batchnorm=True):
        super().__init__()
        norm = nn.BatchNorm2d if batchnorm else (lambda ch: nn.Identity())
        self.preact = preact
        self.bn1 = norm(cin if preact else cout)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.relu1 = nn.ReLU()
        self.bn2 = norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.relu2 = nn.ReLU()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            layers = [nn.Conv2d(cin, cout, 1, stride, bias=False)]
            if not preact:
                layers.append(norm(cout))
            self.shortcut = nn.Sequential(*layers)

    def forward(self, x):
        if self.preact:  # WRN: BN-ReLU-conv
            out = self.relu1(self.bn1(x))
            short = self.shortcut(out) if len(self.shortcut) else x
            out = self.conv1(out)
            out = self.conv2(self.dropout(self.relu2(self.bn2(out))))
            return out + short
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR-style ResNet: a 3x3 stem (no max-pool), stages of BasicBlocks, global average pool.

    ``stages=(64, 128, 256, 512), blocks=(2, 2, 2, 2)`` is ResNet18 as used by TempBalance;
    ``stages=(16, 32, 64), blocks=(3, 3, 3)`` is He et al.'s ResNet20.
    """

    def __init__(self, in_shape, num_classes, stages, blocks, width=1.0):
        super().__init__()
        chans = [_w(c, width) for c in stages]
        self.stem = nn.Sequential(
            nn.Conv2d(in_shape[0], chans[0], 3, 1, 1, bias=False), nn.BatchNorm2d(chans[0]), nn.ReLU()
        )
        layers, cin = [], chans[0]
        for i, (c, n) in enumerate(zip(chans, blocks)):
            for j in range(n):
                layers.append(BasicBlock(cin, c, stride=2 if (i > 0 and j == 0) else 1))
                cin = c
        self.layers = nn.Sequential(*layers)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.layers(self.stem(x))))


class WideResNet(nn.Module):
    """WRN-d-k (Zagoruyko and Komodakis): pre-activation blocks, widths (16k, 32k, 64k);
    ``batchnorm=False``: the network without normalization of the Temperature-check paper."""

    def __init__(self, in_shape, num_classes, depth=16, k=4, width=1.0, dropout=0.0, batchnorm=True):
        super().__init__()
        if (depth - 4) % 6:
            raise ConfigError(f"WRN depth must be 6n + 4 (10, 16, 22, 28, ...), got {depth}")
        n = (depth - 4) // 6
        chans = [_w(16, width)] + [_w(c * k, width) for c in (16, 32, 64)]
        self.stem = nn.Conv2d(in_shape[0], chans[0], 3, 1, 1, bias=False)
        layers, cin = [], chans[0]
        for i, c in enumerate(chans[1:]):
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(BasicBlock(cin, c, stride, preact=True, dropout=dropout, batchnorm=batchnorm))
                cin = c
        self.layers = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.BatchNorm2d(cin) if batchnorm else nn.Identity(), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(self.head(self.layers(self.stem(x))))


VGG_CFG = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
              512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    """VGG with batch norm and one linear classifier (the CIFAR variant used by TempBalance).

    A max-pool is skipped once the feature map is 1x1, so small inputs (28x28) work too.
    """

    def __init__(self, in_shape, num_classes, cfg, width=1.0):
        super().__init__()
        layers, cin, size = [], in_shape[0], min(in_shape[1:])
        for v in cfg:
            if v == "M":
                if size >= 2:
                    layers.append(nn.MaxPool2d(2))
                    size //= 2
                continue
            c = _w(v, width)
            layers += [nn.Conv2d(cin, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()]
            cin = c
        self.features = nn.Sequential(*layers)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)))


RESNETS = {
    "resnet18": ((64, 128, 256, 512), (2, 2, 2, 2)),
    "resnet34": ((64, 128, 256, 512), (3, 4, 6, 3)),
    "resnet20": ((16, 32, 64), (3, 3, 3)),
    "resnet32": ((16, 32, 64), (5, 5, 5)),
}
NAMES = ("mlp", "convnet", "fmnist-convnet", *RESNETS, *VGG_CFG, "wrn-<depth>-<k>")


def build(name: str, in_shape, num_classes: int, width: float = 1.0, **kwargs) -> nn.Module:
    """Build a model by name (see the module docstring); unknown names raise ConfigError."""
    in_shape = tuple(int(v) for v in in_shape)
    if len(in_shape) != 3 or min(in_shape) < 1:
        raise ConfigError(f"in_shape must be (channels, height, width), got {in_shape}")
    if num_classes < 2:
        raise ConfigError(f"num_classes must be at least 2, got {num_classes}")
    if not width > 0:
        raise ConfigError(f"width factor must be positive, got {width}")
    key = name.lower()
    if key == "mlp":
        return MLP(in_shape, num_classes, width=width, **kwargs)
    if key == "convnet":
        return ConvNet(in_shape, num_classes, width=width, **kwargs)
    if key == "fmnist-convnet":
        return FashionConvNet(in_shape, num_classes, width=width, **kwargs)
    if key in RESNETS:
        stages, blocks = RESNETS[key]
        return ResNet(in_shape, num_classes, stages, blocks, width=width)
    if key in VGG_CFG:
        return VGG(in_shape, num_classes, VGG_CFG[key], width=width)
    match = re.fullmatch(r"wrn-(\d+)-(\d+)", key)
    if match:
        return WideResNet(in_shape, num_classes, int(match[1]), int(match[2]), width=width, **kwargs)
    raise ConfigError(f"unknown model {name!r}: choose one of {', '.join(NAMES)}")


@torch.no_grad()
def init_normal_(model: nn.Module, sigma_w: float = math.sqrt(2.0), sigma_b: float = 0.0) -> nn.Module:
    """The standard-parameterization initialization of neural-tangents' ``stax`` (used by the L2
    and Temperature-check papers): every Linear/Conv2d weight ~ N(0, sigma_w^2 / fan_in), every
    bias ~ N(0, sigma_b^2) (``sigma_b = 0``: biases start at zero). Returns the model."""
    if sigma_w <= 0 or sigma_b < 0:
        raise ConfigError(f"need sigma_w > 0 and sigma_b >= 0, got {sigma_w}, {sigma_b}")
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            fan_in = m.weight[0].numel()
            m.weight.normal_(0.0, sigma_w / math.sqrt(fan_in))
            if m.bias is not None:
                m.bias.normal_(0.0, sigma_b) if sigma_b > 0 else m.bias.zero_()
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def relu_modules(model: nn.Module) -> list[tuple[str, nn.ReLU]]:
    """Every ReLU module, in forward order of registration (for activation-pattern hooks)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.ReLU)]


@torch.no_grad()
def output_shape(model: nn.Module, in_shape) -> tuple:
    return tuple(model.eval()(torch.zeros(2, *in_shape)).shape[1:])
