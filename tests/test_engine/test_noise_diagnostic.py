"""Clean labels travel beside the noisy ones; the diagnostic compares them."""
import copy

import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import DATASETS, init_default_scope
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample
from tool_helpers import REPO

import l2t_mm  # noqa: F401
from l2t_mm.engine.noise_diagnostic import clean_labelled
from l2t_mm.models.dln import ElementwiseLoss


def _train_dataset(config: str, data_root, scope: str):
    init_default_scope(scope)
    cfg = Config.fromfile(str(REPO / 'configs' / config))
    dataset = cfg.train_dataloader.dataset
    dataset.data_root = f'{data_root}/'
    if 'ann_file' in dataset:  # the detection configs read COCO json
        dataset.pop('filter_cfg', None)
    return DATASETS.build(dataset)


def test_detection_samples_carry_the_clean_class_of_each_box(
        noisy_shapes_dataset, shapes_dataset):
    noisy = _train_dataset('yolo_l2t.py', noisy_shapes_dataset, 'mmdet')
    flipped = 0
    for index in range(len(noisy)):
        instances = noisy[index]['data_samples'].gt_instances
        assert len(instances.clean_labels) == len(instances.labels)
        flipped += int((instances.clean_labels != instances.labels).sum())
    assert flipped > 0
    # Without class flips the annotations carry no clean classes (they are
    # the labels): nothing to attach, the diagnostic stays off.
    clean = _train_dataset('yolo_l2t.py', shapes_dataset, 'mmdet')
    assert 'clean_labels' not in clean[0]['data_samples'].gt_instances


def test_segmentation_samples_carry_the_clean_map(noisy_shapes_dataset):
    dataset = _train_dataset('fcn_l2t.py', noisy_shapes_dataset, 'mmseg')
    sample = dataset[0]['data_samples']
    noisy, clean = sample.gt_sem_seg.data, sample.gt_sem_seg_clean.data
    assert noisy.shape == clean.shape
    assert 0 < int((noisy != clean).sum()) < noisy.numel()


def test_clean_labelled_leaves_the_noisy_batch_alone():
    det = DetDataSample()
    det.gt_instances = InstanceData(
        bboxes=torch.zeros(2, 4), labels=torch.tensor([1, 2]),
        clean_labels=torch.tensor([1, 0]))
    seg = SegDataSample()
    seg.gt_sem_seg = PixelData(data=torch.ones(1, 4, 6, dtype=torch.uint8))
    seg.gt_sem_seg_clean = PixelData(data=torch.zeros(1, 3, 5,
                                                      dtype=torch.uint8))
    for sample in (det, seg):
        data = dict(inputs=torch.zeros(1), data_samples=[sample])
        before = copy.deepcopy(sample)
        [relabelled] = clean_labelled(data)['data_samples']
        if sample is det:
            assert relabelled.gt_instances.labels.tolist() == [1, 0]
            assert torch.equal(det.gt_instances.labels,
                               before.gt_instances.labels)
        else:  # padded like mmseg pads the noisy map: ignore index 255
            clean = relabelled.gt_sem_seg.data
            assert clean.shape == (1, 4, 6)
            assert clean[0, :3, :5].eq(0).all() and clean[0, 3].eq(255).all()
            assert torch.equal(seg.gt_sem_seg.data, before.gt_sem_seg.data)
    without = DetDataSample()
    without.gt_instances = InstanceData(labels=torch.tensor([1]))
    assert clean_labelled(dict(data_samples=[det, without])) is None


def _elementwise(kind, target):
    values = torch.ones(target.shape)
    return ElementwiseLoss(values=values, confidence=values, top=values,
                           positive=values, valid=values.bool(), progress=0.,
                           kind=kind, pred=values, target=target)


def test_within_target_groups_are_discrete_for_every_loss_kind():
    soft = torch.tensor([0.0, 0.31, 0.0, 0.87])  # QFL/VFL/YOLOX IoU targets
    assert _elementwise('sigmoid', soft).target_groups().tolist() == \
        [0, 1, 0, 1]
    classes = torch.tensor([3, 0, 3, 6])
    assert _elementwise('softmax', classes).target_groups().tolist() == \
        [3, 0, 3, 6]
    boxes = torch.tensor([1.5, -0.2, 7.0])
    assert _elementwise('regression', boxes).target_groups().tolist() == \
        [0, 0, 0]
