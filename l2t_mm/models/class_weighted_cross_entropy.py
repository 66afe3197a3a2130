"""mmseg's cross-entropy with ``class_weight`` on labels that contain the
ignore index.

mmseg 1.2's ``cross_entropy`` divides a class-weighted mean by the labels'
class weights, looked up as ``class_weight[label]`` for every pixel: a
pixel labelled 255 (the ignore index of every mmseg dataset) is out of
range, so training stops with ``IndexError`` (open-mmlab/mmsegmentation
#3734, #3831; unfixed upstream). ``ClassWeightedCrossEntropyLoss`` is that
loss with the denominator computed by :func:`class_weight_denominator`,
which gives a label without a class weight none: the same value as stock
wherever stock runs, and where it crashed torch's own weighted mean, the
ignored pixels left out of the denominator even under
``avg_non_ignore=False`` (they have no class weight to count with). A
batch with every pixel ignored gives 0 (torch: NaN).
"""
from typing import Optional

from mmengine.registry import MODELS
from mmseg.models.losses import CrossEntropyLoss
from torch import Tensor

from .loss_readers import class_weight_denominator


@MODELS.register_module()
class ClassWeightedCrossEntropyLoss(CrossEntropyLoss):
    """``CrossEntropyLoss`` (mmseg) whose ``class_weight`` works on labels
    with the ignore index; any other setting is passed to it unchanged.
    Use it in place of ``type='CrossEntropyLoss'`` wherever a
    segmentation loss sets ``class_weight``."""

    def forward(self, cls_score: Tensor, label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = -100, **kwargs) -> Tensor:
        reduction = reduction_override or self.reduction
        if (self.class_weight is not None and not self.use_sigmoid
                and not self.use_mask and reduction == 'mean'
                and avg_factor is None):
            avg_factor = class_weight_denominator(
                label, self.class_weight, ignore_index, self.avg_non_ignore,
                cls_score.dtype)
        return super().forward(cls_score, label, weight, avg_factor,
                               reduction_override, ignore_index, **kwargs)
