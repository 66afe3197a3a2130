"""Fixed class weights: the two rules against hand computation, pixel
counts read as mmseg reads segmentation maps, and the refusals."""
import math

import numpy as np
import pytest
from mmengine.dataset import ConcatDataset, RepeatDataset
from mmseg.datasets import BaseSegDataset
from PIL import Image

from l2t_mm.datasets import HoldoutDataset
from l2t_mm.datasets.class_balance import (ClassBalanceError, PixelCounts,
                                           class_weights, pixel_class_counts)

NAMES = ('background', 'a', 'b')


def _counts(pixels, pixels_of_its_images=None) -> PixelCounts:
    pixels = np.array(pixels)
    if pixels_of_its_images is None:  # every class in every image
        pixels_of_its_images = np.full_like(pixels, pixels.sum())
    return PixelCounts(pixels, np.array(pixels_of_its_images))


def test_inverse_log_matches_enet_scaled_to_expected_weight_one():
    weights = class_weights(_counts([90, 10, 0]), 'inverse_log', NAMES)
    raw = [1 / math.log(1.02 + f) for f in (0.9, 0.1, 0.0)]
    scale = 0.9 * raw[0] + 0.1 * raw[1]
    assert weights == pytest.approx([r / scale for r in raw])
    # A class without pixels gets ENet's bound, not an infinite weight.
    assert weights[2] == pytest.approx(1 / math.log(1.02) / scale)


def test_median_frequency_matches_hand_computation():
    # Eigen & Fergus: a class's frequency is over the images it appears in.
    # 'a' fills 10 of the 20 pixels of its images, 'b' 10 of 100.
    weights = class_weights(_counts([80, 10, 10], [100, 20, 100]),
                            'median_frequency', NAMES)
    # frequencies 0.8, 0.5, 0.1: median 0.5, raw weights 0.625, 1, 5;
    # pixel shares 0.8, 0.1, 0.1: expected weight 0.5 + 0.1 + 0.5 = 1.1.
    assert weights == pytest.approx([0.625 / 1.1, 1 / 1.1, 5 / 1.1])


def test_refusals_name_the_problem():
    with pytest.raises(ClassBalanceError, match="rule='inverse'"):
        class_weights(_counts([1, 1, 1]), 'inverse', NAMES)
    with pytest.raises(ClassBalanceError, match=r"\['b'\] have no pixels"):
        class_weights(_counts([5, 5, 0]), 'median_frequency', NAMES)
    with pytest.raises(ClassBalanceError, match='no labelled pixels'):
        class_weights(_counts([0, 0, 0]), 'inverse_log', NAMES)


class _ThreeClassSet(BaseSegDataset):
    """A dataset class with its own classes, so a subset gets a label map."""
    METAINFO = dict(classes=NAMES)


def _segmentation_set(root, maps, reduce_zero_label=False,
                      classes=NAMES) -> BaseSegDataset:
    for folder in ('img', 'ann'):
        (root / folder).mkdir(parents=True)
    for index, label in enumerate(maps):
        Image.fromarray(np.zeros((*label.shape, 3), np.uint8)).save(
            root / 'img' / f'{index}.png')
        Image.fromarray(label).save(root / 'ann' / f'{index}.png')
    return _ThreeClassSet(
        data_root=str(root), data_prefix=dict(img_path='img',
                                              seg_map_path='ann'),
        img_suffix='.png', seg_map_suffix='.png', lazy_init=False,
        reduce_zero_label=reduce_zero_label, metainfo=dict(classes=classes))


def test_pixel_counts_leave_out_the_ignore_index_and_follow_reduce_zero(
        tmp_path):
    first = np.array([[0, 0, 1], [2, 255, 0]], np.uint8)
    second = np.array([[1, 1, 1], [3, 0, 255]], np.uint8)
    dataset = _segmentation_set(tmp_path / 'plain', [first, second])
    # Label 3 is outside the three classes, 255 is the ignore index: the
    # first map has 5 labelled pixels, the second 4.
    counts = pixel_class_counts(dataset, 3)
    assert counts.pixels.tolist() == [4, 4, 1]
    assert counts.pixels_of_its_images.tolist() == [9, 9, 5]
    repeated = pixel_class_counts(RepeatDataset(dataset, times=2), 3)
    assert repeated.pixels.tolist() == [8, 8, 2]
    # reduce_zero_label: 0 becomes the ignore index, every label moves down.
    reduced = _segmentation_set(tmp_path / 'reduced', [first, second],
                                reduce_zero_label=True)
    counts = pixel_class_counts(reduced, 3)
    assert counts.pixels.tolist() == [4, 1, 1]
    assert counts.pixels_of_its_images.tolist() == [6, 2, 4]


def test_pixel_counts_through_wrappers_and_a_label_map(tmp_path):
    first = np.array([[0, 0, 1], [2, 255, 0]], np.uint8)
    second = np.array([[1, 1, 1], [3, 0, 255]], np.uint8)
    dataset = _segmentation_set(tmp_path / 'plain', [first, second])
    concatenated = ConcatDataset([dataset, dataset])
    assert pixel_class_counts(concatenated, 3).pixels.tolist() == [8, 8, 2]
    # A Holdout over a wrapper (RepeatDataset is no BaseDataset).
    held = HoldoutDataset(RepeatDataset(dataset, times=3), fraction=0.5,
                          split='train')
    per_map = {0: np.array([3, 1, 1]), 1: np.array([1, 3, 0])}
    expected = sum(per_map[index % 2] for index in held.indices)
    assert pixel_class_counts(held, 3).pixels.tolist() == expected.tolist()
    # Class subset 'background', 'b': mmseg maps b (2) to 1, 'a' to 255.
    subset = _segmentation_set(tmp_path / 'subset', [first, second],
                               classes=('background', 'b'))
    assert subset.label_map == {0: 0, 1: 255, 2: 1}
    assert pixel_class_counts(subset, 2).pixels.tolist() == [4, 1]
