"""``DynamicLossHead``: re-weight the loss terms of any head with a DLN."""
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.registry import MODELS
from torch import Tensor

from .dln import freeze_dln
from .dynamic_loss_module import DynamicLossModule, build_wrapped
from .term_weighting import TermWeighting


def loss_term_names(losses: Dict[str, object]) -> List[str]:
    """The entries mmengine's ``parse_losses`` sums into the total loss."""
    return sorted(name for name in losses if 'loss' in name)


def term_value(value) -> Tensor:
    """Scalar of one loss term as ``BaseModel.parse_losses`` counts it."""
    if isinstance(value, Tensor):
        return value.mean()
    return sum(item.mean() for item in value)


@MODELS.register_module()
class DynamicLossHead(DynamicLossModule):
    """Wrap a dense head or decode head; weight its loss terms.

    Predictions and inference go straight to the wrapped head; only the loss
    dict returned by ``loss``/``loss_and_predict`` is re-weighted: every entry
    whose key contains ``'loss'`` (the ones mmengine sums) is multiplied by
    its weight. Other entries (``acc_seg`` ...) pass unchanged, and each
    term's weight is added as ``weight_<term>`` (e.g. ``weight_cls`` for
    ``loss_cls``), which mmengine logs without summing.

    Args:
        head: config of the wrapped head, e.g.
            ``dict(type='YOLOV3Head', ...)``.
        dln: config of the term weighting (see
            :mod:`l2t_mm.models.term_weighting`): ``TermWeightingDLN``
            (default; taught by ``L2TTeacherHook``), or the peers
            ``UncertaintyWeighting`` / ``DynamicWeightAverage`` (trained by
            the student's optimizer / a rule; use them without the hook).
        **head_kwargs: passed on to the wrapped head; detectors add
            ``train_cfg``/``test_cfg`` to their head's config this way.
    """
    wrapped_attribute = 'head'

    def __init__(self, head: dict, dln: Optional[dict] = None,
                 **head_kwargs) -> None:
        super().__init__()
        self.head = build_wrapped(
            dict(head, **head_kwargs) if isinstance(head, dict) else head,
            'DynamicLossHead.head', 'head')
        self.dln = MODELS.build(dln or dict(type='TermWeightingDLN'))
        if not isinstance(self.dln, TermWeighting):
            raise TypeError(
                'DynamicLossHead.dln must build a term weighting '
                '(TermWeightingDLN, UncertaintyWeighting or '
                f'DynamicWeightAverage), got {type(self.dln).__name__}; '
                'element-wise DLNs go into L2TLoss(dln=...).')
        if self.dln.teachable:
            freeze_dln(self.dln)

    def init_weights(self) -> None:
        if hasattr(self.head, 'init_weights'):
            self.head.init_weights()
        if hasattr(self.dln, 'init_weights'):
            self.dln.init_weights()

    def forward(self, *args, **kwargs):
        return self.head(*args, **kwargs)

    def loss(self, *args, **kwargs) -> dict:
        return self.weight_losses(self.head.loss(*args, **kwargs))

    def loss_and_predict(self, *args, **kwargs) -> Tuple[dict, object]:
        losses, predictions = self.head.loss_and_predict(*args, **kwargs)
        return self.weight_losses(losses), predictions

    def weight_losses(self, losses: dict) -> dict:
        context = self.context  # progress and modes: see LossContext
        if context.class_mean:
            raise ValueError(
                "L2TTeacherHook.val_loss='class_mean' balances the classes of "
                'the elements of L2TLoss; DynamicLossHead weights whole loss '
                "terms and sees no classes: use val_loss='stock'")
        if context.stock:
            return losses
        names = loss_term_names(losses)
        if not names:
            return losses
        values = [term_value(losses[name]) for name in names]
        weights = self.dln(torch.stack(values), context.progress, names,
                           record=context.record)
        weighted = dict(losses)
        for name, weight in zip(names, weights):
            value = losses[name]
            weighted[name] = value * weight if isinstance(value, Tensor) \
                else [item * weight for item in value]
            weighted[name.replace('loss', 'weight', 1)] = weight.detach()
        regularizer = self.dln.regularizer(len(names))
        if regularizer is not None:
            weighted['loss_weighting_reg'] = regularizer
        return weighted
