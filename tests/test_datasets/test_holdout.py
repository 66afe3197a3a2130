"""HoldoutDataset: a fixed split of a real mmdet dataset into two sides."""
import pytest
from mmengine.registry import init_default_scope

from l2t_mm.datasets import HoldoutDataset


@pytest.fixture(scope='module')
def coco_cfg(shapes_dataset):
    init_default_scope('mmdet')
    return dict(type='CocoDataset', data_root=str(shapes_dataset) + '/',
                ann_file='annotations/instances_train.json',
                data_prefix=dict(img='img_dir/train/'),
                metainfo=dict(classes=('circle', 'square', 'triangle',
                                       'star', 'cross', 'ring')),
                pipeline=[dict(type='LoadImageFromFile')])


def test_sides_are_disjoint_cover_the_dataset_and_repeat(coco_cfg):
    train = HoldoutDataset(coco_cfg, fraction=0.25, split='train')
    teach = HoldoutDataset(coco_cfg, fraction=0.25, split='teach')
    assert len(teach) == 2 and len(train) == 6
    assert set(train.indices).isdisjoint(teach.indices)
    assert sorted(train.indices + teach.indices) == list(range(8))
    assert HoldoutDataset(coco_cfg, 0.25, 'teach').indices == teach.indices
    other_seed = HoldoutDataset(coco_cfg, 0.25, 'teach', seed=1)
    assert other_seed.indices != teach.indices
    sample = teach[0]
    path = train.dataset.get_data_info(teach.indices[0])['img_path']
    assert sample['img_path'] == path
    assert teach.get_data_info(0)['img_path'] == path
    assert teach.metainfo['classes'][0] == 'circle'


@pytest.mark.parametrize('options, key', [
    (dict(fraction=1.0), 'fraction'), (dict(fraction=0.0), 'fraction'),
    (dict(split='val'), 'split'), (dict(fraction=0.01, split='teach'),
                                   'is empty')])
def test_bad_settings_name_the_key(coco_cfg, options, key):
    with pytest.raises(ValueError, match=key):
        HoldoutDataset(coco_cfg, **options)
