"""Resuming mmengine checkpoints under torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default. mmengine 0.10
calls ``torch.load`` without the argument and saves its message hub in every
checkpoint; the hub's ``HistoryBuffer`` pickles bound methods through
``getattr``, which no allow-list can admit safely. So resuming a full
checkpoint needs ``weights_only=False``, and that is only acceptable for files
the user trusts. :func:`trusted_local_checkpoints` makes that decision
explicit and scoped: ``tools/train.py`` and ``tools/test.py`` run the runner
inside it (your own checkpoints on local disk); remote schemes (http, s3 ...)
keep torch's safe default, and mmengine's own loader is back afterwards.
Code that reads a local checkpoint itself calls
:func:`load_from_trusted_local`.
"""
import contextlib
import os.path as osp
import re
from typing import Dict, Iterator

import torch
from mmengine.runner.checkpoint import CheckpointLoader

LOCAL_SCHEME = ''  # mmengine's prefix for plain paths


def load_from_trusted_local(filename: str, map_location=None):
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def model_state_dict(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """The model weights of a loaded checkpoint, named as mmengine names
    them when it loads one: ``state_dict`` or the dict itself, ``module.``
    prefixes (DDP) stripped."""
    state = checkpoint.get('state_dict', checkpoint)
    return {re.sub(r'^module\.', '', name): value
            for name, value in state.items()}


@contextlib.contextmanager
def trusted_local_checkpoints() -> Iterator[None]:
    """Within the block, mmengine loads local-path checkpoints (``resume``,
    ``load_from``) with ``weights_only=False``; the loader it had before is
    restored when the block ends, also on an error."""
    previous = CheckpointLoader._schemes.get(LOCAL_SCHEME)
    CheckpointLoader.register_scheme(
        prefixes=LOCAL_SCHEME, loader=load_from_trusted_local, force=True)
    try:
        yield
    finally:
        if previous is None:
            CheckpointLoader._schemes.pop(LOCAL_SCHEME, None)
        else:
            CheckpointLoader.register_scheme(
                prefixes=LOCAL_SCHEME, loader=previous, force=True)
