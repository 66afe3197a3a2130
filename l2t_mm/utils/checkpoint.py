"""Resuming mmengine checkpoints under torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default. mmengine 0.10
calls ``torch.load`` without the argument and saves its message hub in every
checkpoint; the hub's ``HistoryBuffer`` pickles bound methods through
``getattr``, which no allow-list can admit safely. So resuming a full
checkpoint needs ``weights_only=False``, and that is only acceptable for files
the user trusts. :func:`trust_local_checkpoints` makes that decision explicit:
``tools/train.py`` and ``tools/test.py`` call it (your own checkpoints on local
disk); remote schemes (http, s3 ...) keep torch's safe default.
"""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader


def load_from_trusted_local(filename: str, map_location=None):
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def trust_local_checkpoints() -> None:
    """Load local-path checkpoints with ``weights_only=False`` from now on."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_trusted_local, force=True)
