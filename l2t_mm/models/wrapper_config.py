"""An ``L2TLoss`` config must look like the loss it wraps to the heads that
read their loss config before building it.

Some heads read keys of their loss *config* in ``__init__`` (not of the
built loss, whose attributes ``L2TLoss`` passes through):

- ``use_sigmoid``: ``AnchorHead``, ``AnchorFreeHead``, ``RepPointsHead``,
  ``SABLRetinaHead``, ``GuidedAnchorHead``, ``VFNetHead`` size their
  classifier with it (RetinaNet, FCOS, ATSS ...); missing, they silently
  build a softmax classifier with one more channel;
- ``class_weight``: ``DETRHead`` (which rewrites it into a tensor),
  ``MaskFormerHead``, ``Mask2FormerHead`` (mmdet and mmseg),
  ``Mask2FormerTrackHead``;
- ``bg_cls_weight``: ``DETRHead`` reads and then removes it (no loss
  accepts it);
- ``ignore_index``, ``loss_weight``: ``FusedSemanticHead`` writes them when
  given its deprecated arguments.

These keys therefore live at the *top level* of the wrapper config:
``dict(type='L2TLoss', loss=dict(type='CrossEntropyLoss', ...),
class_weight=..., bg_cls_weight=...)``. :func:`lift_head_keys` moves them
there from ``loss`` (``wrap_losses`` and the tools do it for every
``L2TLoss`` of a config), and :func:`stock_loss_config` merges them back
into the stock loss config when ``L2TLoss`` is built, after the head has
read (and maybe rewritten) them.
"""
from typing import Any, Dict

HEAD_KEYS = ('use_sigmoid', 'class_weight', 'bg_cls_weight', 'ignore_index',
             'loss_weight')
_KEY_LIST = ', '.join(HEAD_KEYS)


def lift_head_keys(wrapper: dict, where: str = 'L2TLoss') -> None:
    """Move the :data:`HEAD_KEYS` of ``wrapper['loss']`` to the top level of
    the ``L2TLoss`` config ``wrapper``, in place; idempotent. ``where``
    names the config in errors (e.g. ``model.bbox_head.loss_cls``)."""
    loss = wrapper.get('loss')
    if not isinstance(loss, dict):
        return
    for key in HEAD_KEYS:
        if key not in loss:
            continue
        value = loss.pop(key)
        if key in wrapper and not _same(wrapper[key], value):
            raise _conflict(where, key, wrapper[key], value)
        wrapper[key] = value


def stock_loss_config(loss: dict, head_keys: Dict[str, Any]) -> dict:
    """The config to build the wrapped loss from: ``loss`` with the
    top-level ``head_keys`` of the ``L2TLoss`` config merged in."""
    unknown = sorted(set(head_keys) - set(HEAD_KEYS))
    if unknown:
        raise ValueError(
            f'L2TLoss got unknown key(s) {unknown}: options of the wrapped '
            'loss go in L2TLoss.loss; the top level takes `loss`, `dln` and '
            f'the keys heads read from their loss config ({_KEY_LIST})')
    if not isinstance(loss, dict):
        return loss  # build_wrapped names the problem
    if 'bg_cls_weight' in loss:
        raise ValueError(
            'L2TLoss.loss.bg_cls_weight: DETRHead reads bg_cls_weight and '
            'class_weight from the top level of its loss_cls config before '
            'building it; move both to the top level of the L2TLoss config '
            '(l2t_mm.utils.derive.wrap_losses and tools/train.py do it)')
    merged = dict(loss)
    for key, value in head_keys.items():
        if key in loss and not _same(loss[key], value):
            raise _conflict('L2TLoss', key, value, loss[key])
        merged[key] = value
    return merged


def _same(first, second) -> bool:
    if first is second:
        return True
    try:
        return bool(first == second)
    except (RuntimeError, TypeError, ValueError):  # e.g. tensor vs list
        return False


def _conflict(where: str, key: str, top, inner) -> ValueError:
    return ValueError(
        f'{where}: {key!r} is set both at the top level of the L2TLoss config '
        f'({top!r}) and in its `loss` ({inner!r}); keep it at the top level '
        '(heads read it there)')
