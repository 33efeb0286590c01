import pytest
import torch

from thermo import models
from thermo.errors import ConfigError

NAMES = ["mlp", "convnet", "resnet18", "resnet34", "resnet20", "resnet32", "vgg11", "vgg16", "vgg19", "wrn-16-4"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("in_shape,classes", [((3, 32, 32), 100), ((1, 28, 28), 10)])
def test_forward_shape(name, in_shape, classes):
    torch.manual_seed(0)
    net = models.build(name, in_shape, classes, width=0.25)
    assert models.output_shape(net, in_shape) == (classes,)


@pytest.mark.parametrize("name", NAMES)
def test_relus_are_distinct_modules(name):
    net = models.build(name, (3, 32, 32), 10, width=0.25)
    relus = [m for _, m in models.relu_modules(net)]
    assert len(relus) >= 2 and len({id(m) for m in relus}) == len(relus)
    assert not any(getattr(m, "inplace", False) for m in relus)


def test_width_factor_scales_parameters():
    small = models.count_parameters(models.build("resnet20", (3, 32, 32), 10, width=1.0))
    big = models.count_parameters(models.build("resnet20", (3, 32, 32), 10, width=2.0))
    assert 3.5 < big / small < 4.1  # conv weights grow with width^2


def test_known_parameter_counts():
    # ResNet18 (CIFAR variant, 10 classes) has 11,173,962 parameters; ResNet20 has 272,474
    assert models.count_parameters(models.build("resnet18", (3, 32, 32), 10)) == 11_173_962
    assert models.count_parameters(models.build("resnet20", (3, 32, 32), 10)) == 272_474


@pytest.mark.parametrize("name,kwargs,message", [
    ("resnet19", {}, "unknown model 'resnet19'"),
    ("wrn-15-4", {}, "6n \\+ 4"),
    ("mlp", {"width": 0}, "width factor must be positive"),
    ("mlp", {"in_shape": (28, 28)}, "in_shape must be"),
])
def test_bad_model_arguments(name, kwargs, message):
    args = {"in_shape": (1, 28, 28), "num_classes": 10, **kwargs}
    with pytest.raises(ConfigError, match=message):
        models.build(name, **args)


def test_fashion_benchmark_convnet_has_the_benchmark_shapes():
    from thermo import models

    m = models.build("fmnist-convnet", (1, 28, 28), 10)
    # by hand from the benchmark's definition: 5x5x1x32 + 32, 5x5x32x64 + 64, 7*7*64 x 1024 + 1024, 1024 x 10 + 10
    assert models.count_parameters(m) == 832 + 51_264 + 3_212_288 + 10_250
    assert models.output_shape(m, (1, 28, 28)) == (10,)
    assert len(models.relu_modules(m)) == 3
