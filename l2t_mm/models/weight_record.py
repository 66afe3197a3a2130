"""What the DLNs output, summarised where and when the caller asks.

A DLN writes into a :class:`DLNRecord` only when it is given one; the
teacher hook gives each DLN-carrying module a record for the student's own
forward passes of an iteration (:func:`~l2t_mm.models.loss_context
.loss_context`), so the teach step's look-ahead and validation passes, which
run outside that block, never reach the logs.
"""
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from ..utils.precision import at_least_float32

if TYPE_CHECKING:
    from .dln import ElementwiseLoss


class WeightStats:
    """Running mean/min/max of DLN outputs over the calls of one iteration.

    A head may call its loss once per feature level (YOLOv3: three times), so
    the statistics accumulate over the calls a record sees. Kept as tensors:
    no ``.item()`` sync while training.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._sum = self._count = self._min = self._max = None

    def update(self, values: Tensor, mask: Optional[Tensor] = None) -> None:
        selected = values.detach()
        if mask is not None:
            selected = selected[mask]
        if selected.numel() == 0:
            return
        # in float16 (AMP) the sum of a segmentation batch overflows
        total = at_least_float32(selected).sum()
        count = selected.numel()
        low, high = selected.min(), selected.max()
        if self._sum is None:
            self._sum, self._count, self._min, self._max = (total, count, low,
                                                            high)
        else:
            self._sum = self._sum + total
            self._count += count
            self._min = torch.minimum(self._min, low)
            self._max = torch.maximum(self._max, high)

    def summary(self) -> Dict[str, Tensor]:
        if self._sum is None:
            return {}
        return dict(mean=self._sum / self._count, min=self._min,
                    max=self._max)


def element_classes(loss: 'ElementwiseLoss', dataset_classes: Optional[int]
                    ) -> Optional[Tuple[Tensor, Tensor, int]]:
    """(class of each element, mask of the elements that belong to it,
    number of classes) for per-class statistics, or ``None``.

    Softmax: the target label (mmdet's extra background class included).
    Sigmoid: the class column of positive elements (last dim for one-hot or
    soft targets, dim 1 for label targets), only if that dim has the
    dataset's class count: objectness losses (YOLO's ``loss_conf``) are
    sigmoid losses too, over positions rather than classes. Regression
    elements have no class.
    """
    if loss.kind == 'softmax':
        num_classes = loss.pred.size(1)
        if dataset_classes and num_classes not in (dataset_classes,
                                                   dataset_classes + 1):
            return None
        labels = loss.target.long()
        mask = loss.valid & (labels >= 0) & (labels < num_classes)
        return labels.clamp(0, num_classes - 1), mask, num_classes
    if loss.kind == 'sigmoid' and dataset_classes:
        dim = -1 if loss.target.shape == loss.pred.shape else 1
        if loss.pred.size(dim) != dataset_classes:
            return None
        shape = [1] * loss.values.dim()
        shape[dim] = dataset_classes
        columns = torch.arange(dataset_classes, device=loss.values.device)
        return (columns.view(shape).expand_as(loss.values),
                (loss.positive > 0) & loss.valid, dataset_classes)
    return None


class ClassWeightStats:
    """Sum and count of DLN weights per class since the last :meth:`reset`.

    Accumulates over many iterations (the hook writes and resets it at every
    teach step); sums and counts rather than means so that ranks can be
    added up. Tensors only: no ``.item()`` sync while training.

    Args:
        dataset_classes: the dataset's class count (see
            :func:`element_classes`); ``None`` if unknown.
    """

    def __init__(self, dataset_classes: Optional[int] = None) -> None:
        self.dataset_classes = dataset_classes
        self.reset()

    def reset(self) -> None:
        self.sums: Optional[Tensor] = None
        self.counts: Optional[Tensor] = None

    def update(self, weights: Tensor, loss: 'ElementwiseLoss') -> None:
        described = element_classes(loss, self.dataset_classes)
        if described is None:
            return
        classes, mask, num_classes = described
        selected = classes[mask]
        weights = weights.detach()[mask].double()
        sums = torch.bincount(selected, weights=weights,
                              minlength=num_classes)
        counts = torch.bincount(selected, minlength=num_classes).double()
        if self.sums is None:
            self.sums, self.counts = sums, counts
        else:
            self.sums = self.sums + sums
            self.counts = self.counts + counts

    def summary(self) -> Dict[str, Tensor]:
        if self.sums is None:
            return {}
        return dict(sum=self.sums, count=self.counts)


@dataclass
class DLNRecord:
    """What one DLN output within a recording block.

    ``weights``: its element weights (``LogitDLN``: its per-element loss);
    ``slope``: the mean slope of its hidden units; ``terms``: a term
    weighting's weight per loss term; ``classes``: per-class sums and counts
    of element weights, if asked for (a window longer than the record's, so
    it is passed in).
    """
    weights: WeightStats = field(default_factory=WeightStats)
    slope: WeightStats = field(default_factory=WeightStats)
    terms: Dict[str, WeightStats] = field(default_factory=dict)
    classes: Optional[ClassWeightStats] = None

    def add_element_weights(self, weights: Tensor,
                            loss: 'ElementwiseLoss') -> None:
        self.weights.update(weights, loss.valid)
        if self.classes is not None:
            self.classes.update(weights, loss)

    def add_term_weights(self, weights: Tensor,
                         term_names: List[str]) -> None:
        for name, weight in zip(term_names, weights):
            self.terms.setdefault(name, WeightStats()).update(weight)

    def summary(self) -> Dict[str, Tensor]:
        """Element weights' ``mean``/``min``/``max``, or each term's mean
        weight keyed by the term's name; empty if nothing was recorded."""
        if self.terms:
            return {name: stats.summary()['mean']
                    for name, stats in self.terms.items() if stats.summary()}
        return self.weights.summary()

    def hidden_slope(self) -> Optional[Tensor]:
        """Mean slope of the hidden units (1: linear, 0: saturated);
        ``None`` for DLNs without tanh units or when nothing was recorded."""
        return self.slope.summary().get('mean')
