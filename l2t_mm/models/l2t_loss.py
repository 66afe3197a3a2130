"""``L2TLoss``: a drop-in wrapper that lets a DLN shape any stock loss."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor

from .dln import ElementwiseLoss, freeze_dln
from .dynamic_loss_module import DynamicLossModule, build_wrapped

# mmdet/mmseg's weight_reduce_loss divides by (avg_factor + eps) with this eps.
_AVG_FACTOR_EPS = torch.finfo(torch.float32).eps


@MODELS.register_module()
class L2TLoss(DynamicLossModule):
    """Wrap a registered loss so that a DLN decides what the student minimises.

    Honours the stock loss contract ``forward(pred, target, weight=None,
    avg_factor=None, reduction_override=None, **kwargs)`` and forwards every
    attribute heads read from their loss (``use_sigmoid``, ``loss_weight``,
    ``loss_name``, ``get_cls_channels`` ...), so it replaces a stock loss in
    any mmdet head or mmseg decode head by a config change.

    The stock loss is evaluated with ``reduction='none'`` (the caller's
    ``weight`` and the stock ``loss_weight`` applied), the DLN turns those
    per-element values into the per-element loss, and the result is reduced
    with the stock semantics (``reduction``, ``avg_factor``,
    ``avg_non_ignore``).

    Args:
        loss: config of the wrapped stock loss, e.g.
            ``dict(type='CrossEntropyLoss', use_sigmoid=True)``.
        dln: config of the DLN; ``WeightingDLN`` (default, identity at init)
            or ``LogitDLN`` (classification losses only).
    """
    wrapped_attribute = 'stock_loss'

    def __init__(self, loss: dict, dln: Optional[dict] = None) -> None:
        super().__init__()
        self.stock_loss = build_wrapped(loss, 'L2TLoss.loss', 'loss')
        self.dln = MODELS.build(dln or dict(type='WeightingDLN'))
        freeze_dln(self.dln)

    def init_weights(self) -> None:
        if hasattr(self.dln, 'init_weights'):
            self.dln.init_weights()

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        if self.in_lookahead:
            target = twice_differentiable_target(self.stock_loss, pred, target)
        if self.use_stock_loss:
            return self.stock_loss(
                pred, target, weight=weight, avg_factor=avg_factor,
                reduction_override=reduction_override, **kwargs)
        reduction = reduction_override or self.stock_loss.reduction
        values = self.stock_loss(
            pred, target, weight=weight, avg_factor=None,
            reduction_override='none', **kwargs)
        elements = describe_elements(pred, target, values,
                                     self._uses_sigmoid(), self.progress)
        shaped = self.dln(elements)
        if avg_factor is None:
            avg_factor = self._non_ignored_count(target, reduction, kwargs)
        return reduce_loss(shaped, reduction, avg_factor)

    def _uses_sigmoid(self) -> bool:
        return bool(getattr(self.stock_loss, 'use_sigmoid', False))

    def _non_ignored_count(self, target: Tensor, reduction: str,
                           kwargs: dict) -> Optional[float]:
        """The avg_factor a stock cross-entropy with ``avg_non_ignore=True``
        derives itself when the caller passes none."""
        if reduction != 'mean' or not getattr(self.stock_loss,
                                              'avg_non_ignore', False):
            return None
        ignore_index = kwargs.get('ignore_index')
        if ignore_index is None:
            ignore_index = getattr(self.stock_loss, 'ignore_index', None)
        if ignore_index is None:
            ignore_index = -100
        return target.numel() - (target == ignore_index).sum().item()


def twice_differentiable_target(stock_loss, pred: Tensor,
                                target: Tensor) -> Tensor:
    """Target that keeps the stock loss differentiable twice.

    On CUDA, mmdet's ``FocalLoss`` sends class-index targets to mmcv's
    compiled sigmoid focal loss, which has no double backward; with a one-hot
    target it takes its pure-torch path, which gives the same value (it is
    the conversion mmdet itself does on CPU).
    """
    if (type(stock_loss).__name__ == 'FocalLoss'
            and pred.dim() == target.dim() + 1
            and not target.is_floating_point()):
        num_classes = pred.size(1)
        one_hot = F.one_hot(target.long(), num_classes + 1)[:, :num_classes]
        return one_hot.type_as(pred)
    return target


def describe_elements(pred: Tensor, target: Tensor, values: Tensor,
                      use_sigmoid: bool, progress: float) -> ElementwiseLoss:
    """Derive the DLN's per-element inputs from a stock loss call.

    The kind follows from shapes and dtypes: integer labels with one more
    prediction dim than the loss are softmax logits; a sigmoid loss whose
    prediction has the loss's shape gives per-class sigmoid logits; anything
    else (L1, MSE, IoU ...) is regression.
    """
    pred_detached = pred.detach()
    if not target.is_floating_point() and pred.dim() == values.dim() + 1:
        kind = 'softmax'
        num_classes = pred.size(1)
        in_range = (target >= 0) & (target < num_classes)
        prob = pred_detached.softmax(dim=1).gather(
            1, target.clamp(0, num_classes - 1).long().unsqueeze(1)).squeeze(1)
        positive = in_range.to(values.dtype)
        confidence = prob * positive
    elif use_sigmoid and pred.shape == values.shape:
        kind = 'sigmoid'
        prob = pred_detached.sigmoid()
        if target.shape == pred.shape:
            positive = (target.detach() > 0.5).to(values.dtype)
        else:  # class indices on dim 1; index >= num_classes: background
            num_classes = pred.size(1)
            labels = target.long().clamp(0, num_classes)
            one_hot = F.one_hot(labels, num_classes + 1)[..., :num_classes]
            positive = one_hot.movedim(-1, 1).to(values.dtype)
        confidence = positive * prob + (1 - positive) * (1 - prob)
    else:
        kind = 'regression'
        confidence = torch.zeros_like(values)
        positive = torch.ones_like(values)
    return ElementwiseLoss(
        values=values, confidence=confidence.detach(), positive=positive,
        valid=values.detach() != 0, progress=progress, kind=kind, pred=pred,
        target=target)


def reduce_loss(loss: Tensor, reduction: str,
                avg_factor: Optional[float] = None) -> Tensor:
    """mmdet's ``weight_reduce_loss`` reduction, on already weighted values."""
    if reduction == 'none':
        return loss
    if reduction == 'sum':
        if avg_factor is not None:
            raise ValueError('avg_factor can not be used with reduction="sum"')
        return loss.sum()
    if reduction != 'mean':
        raise ValueError(f'reduction must be "none", "mean" or "sum", '
                         f'got {reduction!r}')
    if avg_factor is None:
        return loss.mean()
    return loss.sum() / (avg_factor + _AVG_FACTOR_EPS)
