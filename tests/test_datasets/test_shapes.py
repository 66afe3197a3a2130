"""The shapes generator: deterministic, valid COCO/seg files, the class prior
and label noise as documented, loadable by mmdet/mmseg, safe CLI."""
import dataclasses
import hashlib
import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Dict

import cv2
import numpy as np
import pytest
from mmdet.datasets import CocoDataset
from mmengine import Config
from mmengine.registry import DATASETS, METRICS, init_default_scope
from mmseg.datasets import BaseSegDataset
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from tool_helpers import run_tool

from l2t_mm.datasets import shapes
from l2t_mm.datasets.shapes import (SHAPES_CLASSES, SHAPES_PALETTE,
                                    OptionError, ShapesOptions,
                                    generate_dataset)

REPO_ROOT = Path(__file__).resolve().parents[2]
MAKE_DATASET = REPO_ROOT / 'tools' / 'make_dataset.py'


def _load_tool() -> ModuleType:
    """Import tools/make_dataset.py (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location('make_dataset', MAKE_DATASET)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_dataset = _load_tool()

SMALL = dict(size=128, num_train=6, num_val=3, num_teach=3)
NOISE = dict(noise_class_flip=0.5, noise_drop_box=0.3, noise_box_jitter=0.2,
             noise_mask_erode=1)
SPLIT_SIZES = dict(train=8, val=4, teach=4)  # the shapes_dataset fixture


def _make(root: Path, name: str, workers: int = 1, **overrides) -> Path:
    out = root / name
    assert generate_dataset(out, ShapesOptions(**{**SMALL, **overrides}),
                            workers=workers) == 'generated'
    return out


def _hashes_on_disk(root: Path) -> Dict[str, str]:
    return {
        path.relative_to(root).as_posix():
        hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob('*')) if path.is_file()
    }


def _read_seg_map(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def _manifest(root: Path) -> dict:
    return json.loads((root / 'manifest.json').read_text())


# --- determinism --------------------------------------------------------


def test_output_depends_on_seed_only_not_on_workers(tmp_path: Path) -> None:
    one_worker = _make(tmp_path, 'a', workers=1)
    two_workers = _make(tmp_path, 'b', workers=2)
    other_seed = _make(tmp_path, 'c', workers=2, seed=1)
    assert _hashes_on_disk(one_worker) == _hashes_on_disk(two_workers)
    images = [f'img_dir/{split}/{index:06d}.png'
              for split, n in (('train', 6), ('val', 3), ('teach', 3))
              for index in range(n)]
    first, other = _hashes_on_disk(one_worker), _hashes_on_disk(other_seed)
    assert all(first[image] != other[image] for image in images)


def test_split_images_do_not_depend_on_other_split_sizes(
        tmp_path: Path, shapes_dataset: Path) -> None:
    smaller = _make(tmp_path, 'smaller', num_train=2, num_val=1, num_teach=1)
    for image in ('train/000001.png', 'val/000000.png', 'teach/000000.png'):
        assert (smaller / 'img_dir' / image).read_bytes() == \
            (shapes_dataset / 'img_dir' / image).read_bytes()


# --- layout and format validity -------------------------------------------


def test_manifest_lists_every_file_with_its_hash_and_counts(
        shapes_dataset: Path) -> None:
    manifest = _manifest(shapes_dataset)
    on_disk = _hashes_on_disk(shapes_dataset)
    assert on_disk.pop('manifest.json')
    assert manifest['files'] == on_disk
    expected = {f'annotations/instances_{name}.json'
                for name in ('train', 'val', 'teach', 'train_clean')}
    for split, size in SPLIT_SIZES.items():
        names = [f'{index:06d}.png' for index in range(size)]
        expected |= {f'img_dir/{split}/{n}' for n in names}
        expected |= {f'ann_dir/{split}/{n}' for n in names}
        if split == 'train':
            expected |= {f'ann_dir_clean/train/{n}' for n in names}
    assert set(on_disk) == expected
    assert manifest['options']['seed'] == 0
    assert manifest['options']['size'] == 128
    for name in ('train', 'val', 'teach', 'train_clean'):
        coco_path = shapes_dataset / f'annotations/instances_{name}.json'
        coco = json.loads(coco_path.read_text())
        counts = manifest['counts'][name]
        assert counts['images'] == len(coco['images'])
        assert counts['instances'] == len(coco['annotations'])
        assert sum(counts['per_class'].values()) == counts['instances']


@pytest.mark.parametrize('coco_name, seg_folder', [
    ('train', 'ann_dir/train'), ('train_clean', 'ann_dir_clean/train'),
    ('val', 'ann_dir/val'), ('teach', 'ann_dir/teach')
])
def test_coco_masks_match_seg_maps(shapes_dataset: Path, coco_name: str,
                                   seg_folder: str) -> None:
    coco_path = shapes_dataset / f'annotations/instances_{coco_name}.json'
    coco = COCO(str(coco_path))
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == \
        list(SHAPES_CLASSES)
    assert coco.getCatIds() == [1, 2, 3, 4, 5, 6]
    num_instances = 0
    for image_info in coco.loadImgs(coco.getImgIds()):
        height, width = image_info['height'], image_info['width']
        image = cv2.imread(
            str(shapes_dataset / 'img_dir' / seg_folder.split('/')[1] /
                image_info['file_name']), cv2.IMREAD_UNCHANGED)
        assert image.shape == (height, width, 3) and image.dtype == np.uint8
        seg_map = _read_seg_map(shapes_dataset / seg_folder /
                                image_info['file_name'])
        assert seg_map.dtype == np.uint8 and seg_map.shape == (height, width)
        assert set(np.unique(seg_map)) <= set(range(7)) | {255}
        expected = np.zeros_like(seg_map)
        for annotation in coco.loadAnns(coco.getAnnIds(image_info['id'])):
            mask = coco.annToMask(annotation).astype(bool)
            assert annotation['iscrowd'] == 0
            assert isinstance(annotation['segmentation']['counts'], str)
            assert annotation['area'] == mask.sum() >= 20
            x, y, w, h = annotation['bbox']
            assert 0 <= x and 0 <= y and x + w <= width and y + h <= height
            assert annotation['bbox'] == list(
                mask_utils.toBbox(annotation['segmentation']))
            assert not expected[mask].any(), 'visible masks must not overlap'
            expected[mask] = annotation['category_id']
            boundary = mask & ~shapes.erode(mask, 1)
            assert (seg_map[boundary] == 255).all()
            num_instances += 1
        labelled = seg_map != 255
        assert (seg_map[labelled] == expected[labelled]).all()
    assert num_instances > 0


def test_occlusion_keeps_visible_parts_of_large_enough_instances() -> None:
    options = ShapesOptions(size=128, max_size=96)
    occluded = 0
    for index in range(20):
        render_rng, _ = shapes.image_streams(0, 'train', index)
        sample = shapes.render_sample(options, render_rng)
        covered = sample.ignore.copy()
        for instance in sample.instances:
            assert instance.mask.sum() >= 20
            assert not (covered & instance.mask).any()
            covered |= instance.mask
        occluded += int(sample.ignore.any())
    assert occluded > 0, 'some objects should be hidden and ignored'


def test_class_colours_tint_objects_towards_their_class_colour() -> None:
    """Same geometry either way; with the option every object's pixels are
    closer to its palette colour (the cue of the 'colour' regime)."""
    for index in range(5):
        samples = [
            shapes.render_sample(
                ShapesOptions(size=128, class_colours=colours),
                shapes.image_streams(0, 'val', index)[0])
            for colours in (False, True)
        ]
        plain, tinted = samples
        assert [i.category for i in plain.instances] == \
            [i.category for i in tinted.instances]
        for before, after in zip(plain.instances, tinted.instances):
            assert (before.mask == after.mask).all()
            colour = np.asarray(SHAPES_PALETTE[after.category], np.float32)
            distance = [
                np.abs(sample.image[instance.mask] - colour).mean()
                for sample, instance in ((plain, before), (tinted, after))
            ]
            assert distance[1] < distance[0]


def test_class_colours_must_be_a_bool() -> None:
    with pytest.raises(OptionError, match='--class-colours must be True'):
        ShapesOptions(class_colours='yes').validate()


# --- class prior and label noise ------------------------------------------


def test_class_probabilities() -> None:
    longtail = shapes.class_probabilities('longtail', 10.0)
    assert longtail.sum() == pytest.approx(1)
    assert longtail[0] / longtail[-1] == pytest.approx(10)
    assert (np.diff(longtail) < 0).all()
    assert shapes.class_probabilities('uniform', 10.0) == \
        pytest.approx(np.full(6, 1 / 6))


def test_longtail_prior_shifts_counts_to_the_head_classes(
        tmp_path: Path) -> None:
    small = dict(size=64, max_size=32, num_train=40, num_val=0, num_teach=0)
    uniform = _manifest(_make(tmp_path, 'u', class_prior='uniform', **small))
    longtail = _manifest(
        _make(tmp_path, 'l', class_prior='longtail', imbalance_ratio=20,
              **small))
    uniform_counts = uniform['counts']['train']['per_class']
    longtail_counts = longtail['counts']['train']['per_class']
    head, tail = SHAPES_CLASSES[0], SHAPES_CLASSES[-1]
    assert longtail_counts[head] > 4 * longtail_counts[tail]
    assert longtail_counts[head] > uniform_counts[head]
    assert longtail_counts[tail] < uniform_counts[tail]


def _rendered_instances(images: int = 10) -> list:
    """The clean instances of the first ``images`` val images at 128 px."""
    options = ShapesOptions(size=128)
    instances = []
    for index in range(images):
        render_rng, _ = shapes.image_streams(0, 'val', index)
        instances += shapes.render_sample(options, render_rng).instances
    return instances


def test_label_noise_corrupts_each_label_kind() -> None:
    instances = _rendered_instances()
    rng = np.random.default_rng(0)

    flipped, kept = shapes.apply_label_noise(
        instances, ShapesOptions(size=128, noise_class_flip=1.0), rng)
    assert len(flipped) == len(instances)
    assert all(f.category != i.category for f, i in zip(flipped, instances))
    assert [i.category for i in kept] == [i.category for i in flipped]

    seg, det = shapes.apply_label_noise(
        instances, ShapesOptions(size=128, noise_drop_box=1.0), rng)
    assert det == [] and len(seg) == len(instances)

    seg, det = shapes.apply_label_noise(
        instances, ShapesOptions(size=128, noise_box_jitter=0.5), rng)
    assert all(d.bbox != i.bbox for d, i in zip(det, instances))
    assert all(0 <= x and 0 <= y and w >= 1 and h >= 1 and x + w <= 128 and
               y + h <= 128 for x, y, w, h in (d.bbox for d in det))
    assert [s.bbox for s in seg] == [i.bbox for i in instances]

    seg, det = shapes.apply_label_noise(
        instances, ShapesOptions(size=128, noise_mask_erode=2), rng)
    assert 0 < len(seg) <= len(instances) and len(det) == len(seg)
    for eroded in seg:
        assert any((eroded.mask <= clean.mask).all()
                   and eroded.mask.sum() < clean.mask.sum()
                   for clean in instances)


def test_pair_flips_go_to_the_next_class_on_the_same_objects() -> None:
    instances = _rendered_instances()
    flips = dict(noise_class_flip=0.4, noise_drop_box=0.3)
    uniform, uniform_det = shapes.apply_label_noise(
        instances, ShapesOptions(size=128, **flips),
        np.random.default_rng(0))
    pair, pair_det = shapes.apply_label_noise(
        instances, ShapesOptions(size=128, noise_flip_mode='pair', **flips),
        np.random.default_rng(0))
    num_classes = len(SHAPES_CLASSES)
    flipped = [u.category != i.category for u, i in zip(uniform, instances)]
    assert 0 < sum(flipped) < len(instances)
    for was_flipped, noisy, clean in zip(flipped, pair, instances):
        assert noisy.category == ((clean.category + 1) % num_classes
                                  if was_flipped else clean.category)
    # Same objects dropped, the clean class recorded for both.
    assert [d.clean_category for d in pair_det] == \
        [d.clean_category for d in uniform_det]
    with pytest.raises(OptionError, match="--noise-flip-mode must be one of "
                       r"\('uniform', 'pair'\), got 'next'"):
        ShapesOptions(noise_flip_mode='next').validate()
    with pytest.raises(OptionError, match="--noise-flip-mode 'pair' needs "
                       "--noise-class-flip > 0; set a flip rate"):
        ShapesOptions(noise_flip_mode='pair').validate()


def test_manifest_without_a_later_field_reads_as_its_default(
        tmp_path: Path) -> None:
    out = _make(tmp_path, 'shapes', num_train=1, num_val=0, num_teach=0)
    manifest = _manifest(out)
    del manifest['options']['noise_flip_mode']  # written before it existed
    (out / 'manifest.json').write_text(json.dumps(manifest))
    options = ShapesOptions(**{**SMALL, 'num_train': 1, 'num_val': 0,
                               'num_teach': 0})
    assert generate_dataset(out, options) == 'up to date'
    with pytest.raises(OptionError, match="noise_flip_mode: 'uniform' -> "
                       "'pair'.*pass --overwrite"):
        generate_dataset(out, dataclasses.replace(
            options, noise_class_flip=0.5, noise_flip_mode='pair'))


def test_noise_touches_train_labels_only_and_keeps_clean_labels(
        tmp_path: Path) -> None:
    clean = _hashes_on_disk(_make(tmp_path, 'clean'))
    noisy = _hashes_on_disk(_make(tmp_path, 'noisy', **NOISE))
    for path in clean:
        if path.startswith(('img_dir/', 'ann_dir/val/', 'ann_dir/teach/',
                            'ann_dir_clean/')) or path in (
                                'annotations/instances_val.json',
                                'annotations/instances_teach.json',
                                'annotations/instances_train_clean.json'):
            assert noisy[path] == clean[path], path
    for index in range(6):
        name = f'{index:06d}.png'
        assert clean[f'ann_dir_clean/train/{name}'] == \
            clean[f'ann_dir/train/{name}']
    assert clean['annotations/instances_train_clean.json'] == \
        clean['annotations/instances_train.json']
    assert noisy['annotations/instances_train.json'] != \
        clean['annotations/instances_train.json']
    assert sum(noisy[f'ann_dir/train/{i:06d}.png'] !=
               clean[f'ann_dir/train/{i:06d}.png'] for i in range(6)) == 6


# --- mmdet / mmseg / configs ----------------------------------------------


def _det_pipeline() -> list:
    return [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='Resize', scale=(64, 64), keep_ratio=True),
        dict(type='PackDetInputs')
    ]


def _seg_pipeline() -> list:
    return [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]


def test_mmdet_coco_dataset_runs_a_train_pipeline(
        shapes_dataset: Path) -> None:
    init_default_scope('mmdet')
    dataset = CocoDataset(
        data_root=str(shapes_dataset),
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='img_dir/train/'),
        metainfo=dict(classes=SHAPES_CLASSES),
        pipeline=_det_pipeline())
    coco = COCO(str(shapes_dataset / 'annotations/instances_train.json'))
    assert len(dataset) == SPLIT_SIZES['train']
    for index in range(len(dataset)):
        packed = dataset[index]
        instances = packed['data_samples'].gt_instances
        image_id = packed['data_samples'].img_id
        expected = [a['category_id'] - 1
                    for a in coco.loadAnns(coco.getAnnIds(image_id))]
        assert packed['inputs'].shape == (3, 64, 64)
        assert instances.labels.tolist() == expected
        assert instances.bboxes.tensor.shape == (len(expected), 4)
        assert instances.masks.masks.shape == (len(expected), 64, 64)
        assert instances.masks.masks.any(axis=(1, 2)).all()


def test_mmseg_dataset_runs_a_pipeline(shapes_dataset: Path) -> None:
    init_default_scope('mmseg')
    dataset = BaseSegDataset(
        data_root=str(shapes_dataset),
        img_suffix='.png',
        seg_map_suffix='.png',
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        metainfo=dict(classes=('background', ) + SHAPES_CLASSES),
        pipeline=_seg_pipeline())
    assert len(dataset) == SPLIT_SIZES['val']
    for index in range(len(dataset)):
        packed = dataset[index]
        seg_map = _read_seg_map(shapes_dataset / 'ann_dir/val' /
                                f'{index:06d}.png')
        assert packed['inputs'].shape == (3, 128, 128)
        assert (packed['data_samples'].gt_sem_seg.data[0].numpy() ==
                seg_map).all()


@pytest.mark.parametrize('config_name, scope, prefix, num_classes', [
    ('shapes_detection.py', 'mmdet', 'shapes_det_', 6),
    ('shapes_segmentation.py', 'mmseg', 'shapes_seg_', 7),
])
def test_dataset_configs_build(shapes_dataset: Path, config_name: str,
                               scope: str, prefix: str,
                               num_classes: int) -> None:
    cfg = Config.fromfile(
        str(REPO_ROOT / 'configs/_base_/datasets' / config_name))
    # custom_imports is the one unprefixed key: the datasets and transforms
    # are l2t_mm's, and mmdet/mmseg's stock configs do not set it.
    assert all(key.startswith('shapes_') for key in cfg.keys()
               if key != 'custom_imports'), \
        'unprefixed keys would clash with a stock base config'
    assert cfg.custom_imports.imports == ['l2t_mm']
    assert list(cfg.shapes_classes)[-6:] == list(SHAPES_CLASSES)
    assert [tuple(c) for c in cfg.shapes_palette][-6:] == SHAPES_PALETTE
    init_default_scope(scope)
    pipeline = _det_pipeline() if scope == 'mmdet' else _seg_pipeline()
    for split, size in SPLIT_SIZES.items():
        dataset_cfg = cfg[f'{prefix}{split}_dataset']
        assert 'pipeline' not in dataset_cfg
        dataset = DATASETS.build(
            dict(dataset_cfg, data_root=str(shapes_dataset),
                 pipeline=pipeline))
        assert len(dataset) == size
        assert len(dataset.metainfo['classes']) == num_classes
        assert dataset[0]['inputs'].shape[0] == 3
    evaluator_cfg = dict(cfg[f'{prefix}val_evaluator'])
    if scope == 'mmdet':
        assert evaluator_cfg['ann_file'] == \
            'data/shapes/annotations/instances_val.json'
        evaluator_cfg['ann_file'] = str(
            shapes_dataset / 'annotations/instances_val.json')
    assert METRICS.build(evaluator_cfg) is not None


# --- command line ---------------------------------------------------------

BAD_INPUTS = [
    (['--num-train', '-1'], '--num-train must be >= 0, got -1'),
    (['--num-val', '-3'], '--num-val'),
    (['--min-size', '50', '--max-size', '40'], '--min-size'),
    (['--max-size', '300'], '--max-size'),
    (['--size', '64'], '--max-size'),
    (['--noise-class-flip', '1.5'], '--noise-class-flip'),
    (['--noise-drop-box', '-0.1'], '--noise-drop-box'),
    (['--noise-box-jitter', '2'], '--noise-box-jitter'),
    (['--noise-mask-erode', '-1'], '--noise-mask-erode'),
    (['--imbalance-ratio', '0.5'], '--imbalance-ratio'),
    (['--class-prior', 'zipf'], '--class-prior'),
    (['--noise-flip-mode', 'random'], '--noise-flip-mode'),
    (['--num-train', 'many'], '--num-train'),
    (['--workers', '0'], '--workers'),
    (['--foo', '1'], 'unknown option --foo; see --help'),
    (['--preset', 'medium'], "--preset: invalid choice: 'medium'"),
    (['--preset', 'easy', '--max-size', '120', '--size', '100'],
     '--max-size'),
    (['data/shapes'], 'unexpected argument data/shapes; see --help'),
    (['--noise-flip-mode', 'pair'],
     "--noise-flip-mode 'pair' needs --noise-class-flip > 0"),
]


@pytest.mark.parametrize('argv, expected', BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture, argv: list,
        expected: str) -> None:
    out = tmp_path / 'out'
    assert make_dataset.main(['--out', str(out)] + argv) == 2
    error_lines = capsys.readouterr().err.splitlines()
    assert len(error_lines) == 1 and expected in error_lines[0]
    assert error_lines[0].startswith('make_dataset.py: ')
    assert list(tmp_path.iterdir()) == []


def test_preset_sets_options_and_flags_override_it(tmp_path: Path) -> None:
    argv = ['--preset', 'easy', '--num-train', '2', '--num-val', '1',
            '--num-teach', '1', '--size', '128', '--workers', '1']
    assert make_dataset.main(['--out', str(tmp_path / 'easy')] + argv) == 0
    options = _manifest(tmp_path / 'easy')['options']
    easy = shapes.PRESETS['easy']
    assert options['class_prior'] == easy.class_prior == 'uniform'
    assert options['min_size'] == easy.min_size
    assert options['max_size'] == easy.max_size
    assert (options['size'], options['num_train']) == (128, 2)
    assert shapes.PRESETS['hard'] == ShapesOptions(), 'hard is the default'
    assert make_dataset.main(['--out', str(tmp_path / 'colour'),
                              '--class-colours'] + argv) == 0
    assert _manifest(tmp_path / 'colour')['options']['class_colours']
    assert not options['class_colours']


def test_preset_options_names_the_bad_preset() -> None:
    with pytest.raises(OptionError, match="--preset must be one of"):
        shapes.preset_options('medium')


def test_unwritable_out_is_one_line_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    out = blocker / 'nested' / 'shapes'
    assert make_dataset.main(['--out', str(out), '--num-train', '1']) == 2
    error_lines = capsys.readouterr().err.splitlines()
    assert len(error_lines) == 1
    assert error_lines[0].startswith(f'make_dataset.py: --out: cannot write '
                                     f'to {out}: ')
    assert list(tmp_path.iterdir()) == [blocker]


def test_creates_missing_parent_folders(tmp_path: Path) -> None:
    out = _make(tmp_path / 'new' / 'parents', 'shapes', num_train=1,
                num_val=0, num_teach=0)
    assert (out / 'manifest.json').is_file()
    assert os.listdir(out.parent) == ['shapes']


def test_fills_an_empty_out_folder(tmp_path: Path) -> None:
    (tmp_path / 'shapes').mkdir()
    out = _make(tmp_path, 'shapes', num_train=1, num_val=0, num_teach=0)
    assert (out / 'manifest.json').is_file()
    assert os.listdir(tmp_path) == ['shapes']


def test_up_to_date_rerun_writes_nothing(shapes_dataset: Path) -> None:
    mtimes = {p: p.stat().st_mtime_ns for p in shapes_dataset.rglob('*')}
    result = run_tool('make_dataset.py', '--out', str(shapes_dataset),
                      '--size', '128', '--num-train', '8', '--num-val', '4',
                      '--num-teach', '4', '--seed', '0')
    assert result.returncode == 0, result.stderr
    assert 'up to date' in result.stdout
    assert {p: p.stat().st_mtime_ns
            for p in shapes_dataset.rglob('*')} == mtimes
    assert os.listdir(shapes_dataset.parent) == ['shapes']


def test_script_reports_unknown_option_on_one_line(tmp_path: Path) -> None:
    # A fresh interpreter: the one line must not come with import warnings.
    result = run_tool('make_dataset.py', '--out', str(tmp_path / 'o'),
                      '--foo', fresh=True)
    assert result.returncode == 2
    assert result.stderr == \
        'make_dataset.py: unknown option --foo; see --help\n'
    assert list(tmp_path.iterdir()) == []


def test_other_options_need_overwrite(tmp_path: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    out = _make(tmp_path, 'shapes', num_train=2, num_val=1, num_teach=1)
    before = _hashes_on_disk(out)
    argv = ['--out', str(out), '--size', '128', '--num-train', '2',
            '--num-val', '1', '--num-teach', '1', '--seed', '5']
    assert make_dataset.main(argv) == 2
    error_lines = capsys.readouterr().err.splitlines()
    assert len(error_lines) == 1 and '--overwrite' in error_lines[0]
    assert 'seed' in error_lines[0]
    assert _hashes_on_disk(out) == before

    assert make_dataset.main(argv + ['--overwrite', '--workers', '1']) == 0
    assert _manifest(out)['options']['seed'] == 5
    assert _hashes_on_disk(out) != before
    assert os.listdir(tmp_path) == ['shapes'], 'no temporary folders left'


def test_failure_leaves_no_partial_dataset(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate_image = shapes._generate_image

    def fail_on_val(task: tuple) -> dict:
        if task[1] == 'val':
            raise RuntimeError('disk full')
        return generate_image(task)

    monkeypatch.setattr(shapes, '_generate_image', fail_on_val)
    with pytest.raises(RuntimeError, match='disk full'):
        generate_dataset(tmp_path / 'shapes', ShapesOptions(**SMALL),
                         workers=1)
    assert list(tmp_path.iterdir()) == []
