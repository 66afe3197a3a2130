"""Fixtures shared by the whole test suite, and its two tiers."""
from pathlib import Path
from typing import Iterator

import pytest
from mmengine.runner.checkpoint import CheckpointLoader

from l2t_mm.datasets.shapes import ShapesOptions, generate_dataset
from l2t_mm.utils import trusted_local_checkpoints


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


@pytest.fixture
def trusted_checkpoints() -> Iterator[None]:
    """What tools/train.py and tools/test.py do around the runner: within
    the test, mmengine loads local checkpoints with weights_only=False."""
    with trusted_local_checkpoints():
        yield


@pytest.fixture(autouse=True)
def _checkpoint_loader_left_as_found() -> Iterator[None]:
    """No test leaves another checkpoint loader behind for the next ones."""
    loader = CheckpointLoader._schemes.get('')
    yield
    assert CheckpointLoader._schemes.get('') is loader, (
        "the test left mmengine's local checkpoint loader replaced")


def pytest_collection_modifyitems(items) -> None:
    """Tests under tests/test_tools train through the tools in processes of
    their own (minutes): the slow tier. Everything else is the fast tier."""
    for item in items:
        if 'test_tools' in item.path.parts:
            item.add_marker(pytest.mark.slow)
