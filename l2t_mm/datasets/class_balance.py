"""Fixed class weights from a segmentation training set's pixel counts: the
hand-made rules a learned per-class loss weighting should be compared with.

Two standard rules (``rule``):

* ``'inverse_log'`` (ENet, Paszke et al. 2016): ``1 / ln(1.02 + p_c)``,
  ``p_c`` class ``c``'s share of all labelled pixels.
* ``'median_frequency'`` (Eigen & Fergus, ICCV 2015): ``median(f) / f_c``,
  ``f_c`` class ``c``'s pixels over the labelled pixels of the images
  where ``c`` appears.

Ignored labels (outside the classes) are not counted. Both are then scaled
so that a pixel's expected weight ``sum_c p_c w_c`` is 1, the DLN's mean-1
convention, so they read on the same scale as the weights an L2T run logs.
mmseg's cross-entropy divides a class-weighted mean by the labels' weights,
so there the scale cancels; a loss given an ``avg_factor``, or summed,
would otherwise grow several-fold.
"""
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from mmseg.datasets.transforms import LoadAnnotations

RULES = ('inverse_log', 'median_frequency')
ENET_C = 1.02  # ENet's constant: bounds a rare class's weight at 1/ln(1.02)


class ClassBalanceError(ValueError):
    """A rule or a dataset the weights cannot be computed with; one line
    that says what to change."""


@dataclass
class PixelCounts:
    """Per class: its labelled pixels (``pixels``), and the labelled pixels
    of the images in which it appears (``pixels_of_its_images``)."""
    pixels: np.ndarray
    pixels_of_its_images: np.ndarray


def pixel_class_counts(dataset, num_classes: int) -> PixelCounts:
    """Count ``dataset``'s segmentation maps as mmseg's ``LoadAnnotations``
    reads them (each sample's ``reduce_zero_label`` and ``label_map``
    applied; decoded with its default backend, not the pipeline's); labels
    outside ``[0, num_classes)``, the ignore index among them, are not
    counted. ``dataset`` is any mmengine dataset whose
    ``get_data_info`` gives ``seg_map_path`` (wrappers such as
    ``RepeatDataset`` included)."""
    pixels = np.zeros(num_classes, dtype=np.int64)
    pixels_of_its_images = np.zeros(num_classes, dtype=np.int64)
    for index in range(len(dataset)):
        info = dict(dataset.get_data_info(index), seg_fields=[])
        if 'seg_map_path' not in info:
            raise ClassBalanceError(
                f'sample {index} of the dataset has no seg_map_path: class '
                'weights are counted from segmentation maps; point '
                'train_dataloader.dataset at a segmentation dataset (a '
                'BaseSegDataset with data_prefix.seg_map_path)')
        # A new reader per sample: mmseg's caches the first sample's
        # reduce_zero_label and asserts every later one matches it, which
        # the parts of a ConcatDataset need not.
        label = LoadAnnotations()(info)['gt_seg_map']
        label = label[label < num_classes]
        image = np.bincount(label, minlength=num_classes)
        pixels += image
        pixels_of_its_images += (image > 0) * label.size
    return PixelCounts(pixels, pixels_of_its_images)


def class_weights(counts: PixelCounts, rule: str,
                  class_names: Sequence[str]) -> np.ndarray:
    """Weights of ``rule`` for ``counts``, scaled to an expected weight of 1
    per pixel (module docstring)."""
    if rule not in RULES:
        raise ClassBalanceError(
            f'rule={rule!r} is not a class-weight rule; use one of {RULES}')
    pixels = counts.pixels.astype(np.float64)
    if pixels.sum() <= 0:
        raise ClassBalanceError('the dataset has no labelled pixels')
    share = pixels / pixels.sum()
    if rule == 'median_frequency':
        absent = [name for name, n in zip(class_names, pixels) if n == 0]
        if absent:
            raise ClassBalanceError(
                f'median_frequency: class(es) {absent} have no pixels in the '
                'training set, so their weight median/0 is infinite; use '
                "rule='inverse_log' (bounded) or data that has every class")
        frequency = pixels / counts.pixels_of_its_images
        weights = np.median(frequency) / frequency
    else:
        weights = np.array([1 / math.log(ENET_C + p) for p in share])
    return weights / float((share * weights).sum())
