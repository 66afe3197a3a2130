"""Full mmengine checkpoints load only inside trusted_local_checkpoints."""
import pickle

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from l2t_mm.utils import trusted_local_checkpoints
from l2t_mm.utils.checkpoint import load_from_trusted_local, model_state_dict


class _NotAWeight:
    """Pickled by reference, like mmengine's message hub: torch's
    weights_only loader refuses it."""


def _full_checkpoint(path) -> str:
    torch.save(dict(state_dict={}, message_hub=_NotAWeight()), path)
    return str(path)


def test_local_loader_is_trusted_inside_and_restored_after(tmp_path):
    path = _full_checkpoint(tmp_path / 'iter_1.pth')
    stock = CheckpointLoader._schemes['']
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(path)
    with trusted_local_checkpoints():
        assert CheckpointLoader._schemes[''] is load_from_trusted_local
        loaded = CheckpointLoader.load_checkpoint(path)
        assert isinstance(loaded['message_hub'], _NotAWeight)
        # Remote schemes keep their own (safe) loaders.
        assert CheckpointLoader._get_checkpoint_loader(
            'https://x/a.pth') is not load_from_trusted_local
    assert CheckpointLoader._schemes[''] is stock
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(path)


def test_loader_is_restored_when_the_block_raises():
    stock = CheckpointLoader._schemes['']
    with pytest.raises(KeyError):
        with trusted_local_checkpoints():
            with trusted_local_checkpoints():  # nested: back to the outer
                pass
            assert CheckpointLoader._schemes[''] is load_from_trusted_local
            raise KeyError('training failed')
    assert CheckpointLoader._schemes[''] is stock


def test_model_state_dict_reads_weights_as_mmengine_loads_them():
    weight = torch.ones(1)
    wrapped = dict(state_dict={'module.head.weight': weight}, meta={})
    bare = {'head.weight': weight}
    assert model_state_dict(wrapped) == {'head.weight': weight}
    assert model_state_dict(bare) == {'head.weight': weight}
