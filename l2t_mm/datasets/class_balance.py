"""Fixed class weights from a segmentation training set's pixel counts: the
hand-made rules a learned per-class loss weighting should be compared with.

Two standard rules (``rule``):

* ``'median_frequency'`` (Eigen & Fergus, ICCV 2015): ``median(f) / f_c``.
* ``'inverse_log'`` (ENet, Paszke et al. 2016): ``1 / ln(1.02 + f_c)``.

``f_c`` is class ``c``'s share of the labelled (not ignored) pixels. Both are
then scaled so that a pixel's expected weight ``sum_c f_c w_c`` is 1, the
DLN's mean-1 convention, so they read on the same scale as the weights an
L2T run logs. mmseg's cross-entropy divides a class-weighted mean by the
labels' weights, so there the scale cancels; a loss given an
``avg_factor``, or summed, would otherwise grow several-fold.
"""
import math
from typing import Sequence

import numpy as np
from mmseg.datasets.transforms import LoadAnnotations

RULES = ('median_frequency', 'inverse_log')
ENET_C = 1.02  # ENet's constant: bounds a rare class's weight at 1/ln(1.02)


class ClassBalanceError(ValueError):
    """A rule that cannot be computed on the data; says which class."""


def pixel_class_counts(dataset, num_classes: int) -> np.ndarray:
    """Labelled pixels per class over ``dataset``'s segmentation maps (int64,
    length ``num_classes``), read as mmseg's ``LoadAnnotations`` reads them
    (``reduce_zero_label`` and ``label_map`` of each sample applied); labels
    outside ``[0, num_classes)``, the ignore index among them, are not
    counted. ``dataset`` is any mmengine dataset whose ``get_data_info``
    gives ``seg_map_path`` (wrappers such as ``RepeatDataset`` included)."""
    counts = np.zeros(num_classes, dtype=np.int64)
    for index in range(len(dataset)):
        info = dict(dataset.get_data_info(index), seg_fields=[])
        if 'seg_map_path' not in info:
            raise ClassBalanceError(
                f'sample {index} of the dataset has no seg_map_path: class '
                'weights are counted from segmentation maps')
        label = LoadAnnotations()(info)['gt_seg_map']
        label = label[label < num_classes]
        counts += np.bincount(label, minlength=num_classes)
    return counts


def class_weights(counts: Sequence[int], rule: str,
                  class_names: Sequence[str]) -> np.ndarray:
    """Weights of ``rule`` for the pixel ``counts``, scaled to an expected
    weight of 1 per pixel (module docstring)."""
    if rule not in RULES:
        raise ClassBalanceError(
            f'rule={rule!r} is not a class-weight rule; use one of {RULES}')
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() <= 0:
        raise ClassBalanceError('the dataset has no labelled pixels')
    frequency = counts / counts.sum()
    if rule == 'median_frequency':
        absent = [name for name, n in zip(class_names, counts) if n == 0]
        if absent:
            raise ClassBalanceError(
                f'median_frequency: class(es) {absent} have no pixels in the '
                'training set, so their weight median/0 is infinite; use '
                "rule='inverse_log' (bounded) or data that has every class")
        weights = np.median(frequency) / frequency
    else:
        weights = np.array([1 / math.log(ENET_C + f) for f in frequency])
    return weights / float((frequency * weights).sum())
