"""Fixtures shared by the whole test suite, and its two tiers."""
from pathlib import Path

import pytest

from l2t_mm.datasets.shapes import ShapesOptions, generate_dataset


@pytest.fixture(scope='session')
def shapes_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny shapes dataset (8 train / 4 val / 4 teach images, 128x128),
    built once per session; treat it as read-only."""
    out = tmp_path_factory.mktemp('shapes_dataset') / 'shapes'
    options = ShapesOptions(seed=0, size=128, num_train=8, num_val=4,
                            num_teach=4)
    generate_dataset(out, options, workers=1)
    return out


@pytest.fixture(scope='session')
def noisy_shapes_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like ``shapes_dataset`` with half the train labels flipped (clean
    labels kept beside them, as tools/make_dataset.py writes them)."""
    out = tmp_path_factory.mktemp('noisy_shapes_dataset') / 'shapes'
    options = ShapesOptions(seed=0, size=128, num_train=8, num_val=4,
                            num_teach=4, noise_class_flip=0.5)
    generate_dataset(out, options, workers=1)
    return out


def pytest_collection_modifyitems(items) -> None:
    """Tests under tests/test_tools train through the tools in subprocesses
    (minutes): the slow tier. Everything else is the fast tier."""
    for item in items:
        if 'test_tools' in item.path.parts:
            item.add_marker(pytest.mark.slow)
