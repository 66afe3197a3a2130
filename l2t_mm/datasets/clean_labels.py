"""Clean labels beside noisy ones, carried to the model for the noise
diagnostic (which elements' labels were corrupted), never trained on.

A training pipeline that should carry them:

    dict(type='LoadAnnotations', ...),
    dict(type='LoadCleanLabels'),        # right after LoadAnnotations
    ...                                  # flips, resizes, crops
    dict(type='PackCleanLabels', pack=dict(type='PackDetInputs'))

Detection: each box's clean class comes from ``clean_category_id`` in the
COCO annotations (``CocoWithCleanLabels``; written by tools/make_dataset.py
for noisy train boxes) and ends in ``gt_instances.clean_labels``.
Segmentation: the clean map is read from the path of the noisy one with
``ann_dir`` replaced by ``ann_dir_clean``, moves with the noisy map through
mmseg's transforms (``seg_fields``) and ends in ``gt_sem_seg_clean``.
Where clean labels are missing or cannot follow the pipeline (a transform
that drops or mixes boxes), nothing is attached and the diagnostic is off.
"""
import os.path as osp
from typing import Optional

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.datasets import CocoDataset
from mmengine.fileio import get
from mmengine.registry import DATASETS, TRANSFORMS
from mmengine.structures import PixelData

CLEAN_BOX_LABELS = 'gt_bboxes_labels_clean'
CLEAN_SEG_MAP = 'gt_seg_map_clean'


@DATASETS.register_module()
class CocoWithCleanLabels(CocoDataset):
    """``CocoDataset`` whose instances keep ``clean_bbox_label`` when the
    annotation has a ``clean_category_id`` (the stock parser drops unknown
    keys). Otherwise the same dataset."""

    def parse_data_info(self, raw_data_info: dict):
        data_info = super().parse_data_info(raw_data_info)
        instances = iter(data_info['instances'])
        instance = next(instances, None)
        # The stock parser skips some annotations (empty, crowd-ignored):
        # walk both in order and pair them by box.
        for ann in raw_data_info['raw_ann_info']:
            if instance is None:
                break
            x, y, w, h = ann['bbox']
            if instance['bbox'] != [x, y, x + w, y + h]:
                continue
            if 'clean_category_id' in ann:
                instance['clean_bbox_label'] = self.cat2label[
                    ann['clean_category_id']]
            instance = next(instances, None)
        return data_info


@TRANSFORMS.register_module()
class LoadCleanLabels(BaseTransform):
    """Load the clean labels of a sample next to its (noisy) annotations;
    place right after ``LoadAnnotations``.

    Args:
        noisy_dir: folder name in a seg map path to replace ...
        clean_dir: ... by this one to find the clean seg map.
    """

    def __init__(self, noisy_dir: str = 'ann_dir',
                 clean_dir: str = 'ann_dir_clean') -> None:
        self.noisy_dir = noisy_dir
        self.clean_dir = clean_dir

    def transform(self, results: dict) -> dict:
        instances = results.get('instances')
        if instances and all('clean_bbox_label' in i for i in instances):
            results[CLEAN_BOX_LABELS] = np.array(
                [i['clean_bbox_label'] for i in instances], dtype=np.int64)
        path = self._clean_path(results.get('seg_map_path'))
        if path is not None and 'gt_seg_map' in results:
            clean = self._like_mmseg(
                mmcv.imfrombytes(get(path), flag='unchanged',
                                 backend='pillow').squeeze().astype(np.uint8),
                results)
            if clean.shape == results['gt_seg_map'].shape:
                results[CLEAN_SEG_MAP] = clean
                results.setdefault('seg_fields', []).append(CLEAN_SEG_MAP)
        return results

    @staticmethod
    def _like_mmseg(seg_map: np.ndarray, results: dict) -> np.ndarray:
        """The label changes mmseg's ``LoadAnnotations`` made to the noisy
        map (``reduce_zero_label``, ``label_map``), made to the clean one."""
        if results.get('reduce_zero_label'):
            seg_map[seg_map == 0] = 255
            seg_map = seg_map - 1
            seg_map[seg_map == 254] = 255
        if results.get('label_map') is not None:
            original = seg_map.copy()
            for old, new in results['label_map'].items():
                seg_map[original == old] = new
        return seg_map

    def _clean_path(self, path: Optional[str]) -> Optional[str]:
        if not path:
            return None
        parts = path.split(osp.sep)
        if self.noisy_dir not in parts:
            return None
        parts[parts.index(self.noisy_dir)] = self.clean_dir
        clean = osp.sep.join(parts)
        return clean if osp.isfile(clean) else None


@TRANSFORMS.register_module()
class PackCleanLabels(BaseTransform):
    """Run the packing transform ``pack`` and attach the clean labels that
    :class:`LoadCleanLabels` loaded to the packed data sample.

    Args:
        pack: config of the stock packing transform (``PackDetInputs``,
            ``PackSegInputs``).
    """

    def __init__(self, pack: dict) -> None:
        self.pack = TRANSFORMS.build(pack)

    def transform(self, results: dict) -> dict:
        packed = self.pack(results)
        sample = packed['data_samples']
        labels = results.get(CLEAN_BOX_LABELS)
        if labels is not None and 'gt_instances' in sample:
            flags = results.get('gt_ignore_flags')
            if flags is not None and len(flags) == len(labels):
                labels = labels[flags == 0]  # as PackDetInputs splits them
            if len(labels) == len(sample.gt_instances):
                sample.gt_instances.clean_labels = torch.from_numpy(labels)
        clean_map = results.get(CLEAN_SEG_MAP)
        if clean_map is not None and 'gt_sem_seg' in sample:
            clean = torch.from_numpy(np.ascontiguousarray(clean_map))[None]
            if clean.shape == sample.gt_sem_seg.data.shape:
                sample.gt_sem_seg_clean = PixelData(
                    data=clean.to(sample.gt_sem_seg.data.dtype))
        return packed
