"""From a stock loss's per-element values to the DLN's inputs and back to the
stock reduction: the shape-driven defaults every stock loss reader uses."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .dln import ElementwiseLoss

# mmdet/mmseg's weight_reduce_loss divides by (avg_factor + eps) with this eps.
_AVG_FACTOR_EPS = torch.finfo(torch.float32).eps


def describe_elements(pred: Tensor,
                      target: Tensor,
                      values: Tensor,
                      use_sigmoid: bool,
                      progress: float,
                      activated: bool = False) -> ElementwiseLoss:
    """Derive the DLN's per-element inputs from a stock loss call.

    The kind follows from shapes and dtypes: integer labels of the loss's
    shape with one more prediction dim are softmax logits; a sigmoid loss
    whose prediction has the loss's shape gives per-class sigmoid logits
    (probabilities if the loss is ``activated``); anything else (L1, MSE,
    IoU, per-image Dice ...) is regression.
    """
    pred_detached = pred.detach()
    if (not target.is_floating_point() and target.shape == values.shape
            and pred.dim() == values.dim() + 1):
        kind = 'softmax'
        num_classes = pred.size(1)
        in_range = (target >= 0) & (target < num_classes)
        probs = pred_detached.softmax(dim=1)
        prob = probs.gather(
            1, target.clamp(0, num_classes - 1).long().unsqueeze(1)).squeeze(1)
        positive = in_range.to(values.dtype)
        confidence = prob * positive
        top = probs.max(dim=1).values * positive
    elif use_sigmoid and pred.shape == values.shape:
        kind = 'sigmoid'
        prob = pred_detached if activated else pred_detached.sigmoid()
        if target.shape == pred.shape:
            positive = (target.detach() > 0.5).to(values.dtype)
        else:  # class indices on dim 1; index >= num_classes: background
            num_classes = pred.size(1)
            labels = target.long().clamp(0, num_classes)
            one_hot = F.one_hot(labels, num_classes + 1)[..., :num_classes]
            positive = one_hot.movedim(-1, 1).to(values.dtype)
        confidence = positive * prob + (1 - positive) * (1 - prob)
        # Per element: which dim holds the classes is not in the shapes
        # (YOLOv3's objectness is (images, anchors), its classes
        # (images, anchors, classes)).
        top = torch.maximum(prob, 1 - prob)
    else:
        kind = 'regression'
        confidence = torch.zeros_like(values)
        top = torch.zeros_like(values)
        positive = torch.ones_like(values)
    return ElementwiseLoss(
        values=values, confidence=confidence.detach(),
        top=top.detach(), positive=positive,
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
