"""Derive an L2T config, and the baseline it must be compared with, from a
stock config: what ``tools/benchmark.py --derive-l2t`` trains."""
import copy
from typing import List, Tuple

from mmengine.config import Config, ConfigDict

from ..models.wrapper_config import lift_head_keys


def wrap_losses(node, path: str = 'model') -> List[str]:
    """Wrap every loss config under ``node`` in ``L2TLoss``, in place.

    A loss is a dict with a ``type`` under a key starting with ``loss``
    (``loss_cls``, ``loss_bbox``, mmseg's ``loss_decode``, which may be a
    list). The keys heads read from a loss config (``use_sigmoid``,
    ``class_weight`` ...) go to the wrapper's top level, where the head
    sees them (:mod:`l2t_mm.models.wrapper_config`). Returns the dotted
    paths of the wrapped losses.
    """
    wrapped = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(items):
        where = f'{path}.{key}'
        is_loss_key = isinstance(key, str) and key.startswith('loss')
        if is_loss_key and _is_loss(value):
            node[key] = _l2t(value, where)
            wrapped.append(where)
        elif is_loss_key and isinstance(value, (list, tuple)) and all(
                _is_loss(item) for item in value):
            node[key] = [
                _l2t(item, f'{where}.{i}') for i, item in enumerate(value)
            ]
            wrapped += [f'{where}.{i}' for i in range(len(value))]
        elif isinstance(value, (dict, list, tuple)):
            wrapped += wrap_losses(value, where)
    return wrapped


def _is_loss(value) -> bool:
    return isinstance(value, dict) and 'type' in value


def _l2t(loss: dict, where: str) -> dict:
    wrapper = loss if loss['type'] == 'L2TLoss' else ConfigDict(
        type='L2TLoss', loss=copy.deepcopy(loss))
    lift_head_keys(wrapper, where)
    return wrapper


def derive_pair(cfg: Config, teach_fraction: float = 0.1,
                interval: int = 10) -> Tuple[Config, Config]:
    """(baseline, L2T) configs from a stock config.

    Both train on the same ``HoldoutDataset(split='train')`` side of the
    stock training set, so the comparison is fair: the L2T variant's teach
    dataloader reads the held-out ``split='teach'`` side, which the baseline
    never sees and the L2T student never trains on.
    """
    if 'train_dataloader' not in cfg or 'model' not in cfg:
        raise ValueError('--derive-l2t needs a training config with `model` '
                         'and `train_dataloader`')
    baseline = Config(copy.deepcopy(cfg.to_dict()))
    stock_dataset = baseline.train_dataloader.dataset
    baseline.train_dataloader.dataset = dict(
        type='HoldoutDataset', dataset=stock_dataset,
        fraction=teach_fraction, split='train')
    imports = list(baseline.get('custom_imports', {}).get('imports', []))
    baseline.custom_imports = dict(
        imports=imports + ['l2t_mm'] * ('l2t_mm' not in imports),
        allow_failed_imports=False)

    l2t = Config(copy.deepcopy(baseline.to_dict()))
    if not wrap_losses(l2t.model):
        raise ValueError('--derive-l2t: the config has no loss to wrap (no '
                         '`loss*` dict with a `type` under `model`)')
    teach_loader = copy.deepcopy(baseline.train_dataloader.to_dict())
    teach_loader.update(
        num_workers=0, persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=True),
        dataset=dict(teach_loader['dataset'], split='teach'))
    hooks = list(l2t.get('custom_hooks', []))
    hooks.append(dict(type='L2TTeacherHook', teach_dataloader=teach_loader,
                      interval=interval, lookahead_params='head'))
    l2t.custom_hooks = hooks
    return baseline, l2t
