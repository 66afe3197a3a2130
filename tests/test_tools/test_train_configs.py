"""Every shipped config trains, teaches and evaluates via tools/train.py."""
import json
import re
import shutil
from pathlib import Path
from typing import List

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS
from tool_helpers import REPO, run_tool, tiny_options

from l2t_mm.utils.launch import (TEST_LOADERS, TRAIN_LOADERS, LaunchError,
                                 check_dataset_folders, check_teach_folders,
                                 load_config, relocate_data_root)
from l2t_mm.utils.run_logs import read_scalars

# Index of L2TTeacherHook in each L2T config's custom_hooks.
L2T_CONFIGS = {
    'yolo_l2t.py': (0, ['loss_cls', 'loss_conf', 'loss_xy', 'loss_wh'],
                    'coco/bbox_mAP'),
    'yolox_l2t.py': (2, ['loss_cls', 'loss_bbox', 'loss_obj'],
                     'coco/bbox_mAP'),
    'deeplabv3plus_l2t.py': (0, ['decode_head.loss_decode',
                                 'auxiliary_head.loss_decode'], 'mIoU'),
    'fcn_l2t.py': (0, ['decode_head.loss_decode',
                       'auxiliary_head.loss_decode'], 'mIoU'),
}
# fcn_baseline.py trains through tools/train.py in test_benchmark.py's
# quick benchmark, which checks its mIoU.
BASELINES = {
    'yolo_baseline.py': 'coco/bbox_mAP',
    'yolox_baseline.py': 'coco/bbox_mAP',
    'deeplabv3plus_baseline.py': 'mIoU',
}


# A detector two iterations old scores every box near zero; keep them all so
# that the COCO metric has predictions to evaluate.
KEEP_ALL_BOXES = {
    'yolo': ['model.test_cfg.score_thr=0', 'model.test_cfg.conf_thr=0'],
    'yolox': ['model.test_cfg.score_thr=0'],
}


def _train(config: str, work_dir: Path, data_root: Path, extra=()) -> list:
    # A fixed seed: which images (and so which flipped boxes) reach the last
    # teach step must not change from run to run.
    result = run_tool('train.py', f'configs/{config}', '--work-dir',
                      str(work_dir), '--data-root', str(data_root),
                      '--cfg-options', *tiny_options(), 'randomness.seed=0',
                      *KEEP_ALL_BOXES.get(config.split('_')[0], []), *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return read_scalars(work_dir)


@pytest.fixture(scope='module')
def l2t_run(noisy_shapes_dataset, tmp_path_factory):
    """Train an L2T config once for this module (a teach step every
    iteration, teach batches of 2) and return its work dir and scalars:
    several tests read the same FCN run."""
    runs = {}

    def train(config: str) -> tuple:
        if config not in runs:
            hook_index = L2T_CONFIGS[config][0]
            work_dir = tmp_path_factory.mktemp(config[:-len('.py')])
            runs[config] = work_dir, _train(
                config, work_dir, noisy_shapes_dataset, [
                    f'custom_hooks.{hook_index}.interval=1',
                    f'custom_hooks.{hook_index}.teach_dataloader.batch_size=2'
                ])
        return runs[config]

    return train


@pytest.mark.parametrize('config', sorted(L2T_CONFIGS))
def test_l2t_config_trains_teaches_and_evaluates(config, l2t_run):
    _, loss_terms, metric = L2T_CONFIGS[config]
    work_dir, scalars = l2t_run(config)
    train_rows = [row for row in scalars if 'loss' in row]
    assert len(train_rows) == 2
    for row in train_rows:
        assert all(v == v and abs(v) != float('inf') for k, v in row.items()
                   if isinstance(v, float)), row
    last = train_rows[-1]
    # No val_loss_after: the default AdamTeacher needs no second look-ahead.
    for key in ('l2t/val_loss_before', 'l2t/meta_grad_norm',
                'l2t/update_norm'):
        assert key in last, (key, sorted(last))
    prefix = 'bbox_head.' if 'head.' not in loss_terms[0] else ''
    for term in loss_terms:
        assert f'l2t/w/{prefix}{term}/mean' in last, (term, sorted(last))
        assert 0 < last[f'l2t/slope/{prefix}{term}'] <= 1, sorted(last)
    assert any(metric in row for row in scalars), scalars[-1]
    # Per-class DLN weights of the classification loss, named by class.
    [log] = work_dir.rglob('l2t_class_weights.jsonl')
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line['iter'] for line in lines] == [1, 2]
    classification = f'{prefix}{loss_terms[0]}'
    per_class = lines[-1]['modules'][classification]
    assert len(per_class['mean']) == len(lines[-1]['classes'])
    assert 'circle' in lines[-1]['classes']
    # The noise diagnostic: clean labels travel with the noisy ones, so the
    # classification DLN's weights are ranked against the corrupted ones.
    # YOLOX's SimOTA assigns by class scores too, so with clean labels it
    # may pick other positives: then the elements cannot be paired and that
    # step reports nothing for loss_cls (README); not checked here.
    if config == 'yolox_l2t.py':
        return
    assert 0 <= last[f'l2t/noise_auc/{classification}'] <= 1, sorted(last)
    # Counted, so the benchmark's run mean skips steps that measured none.
    assert last[f'l2t/measured/noise_auc/{classification}'] >= 1
    [elements] = work_dir.rglob('l2t_noise_elements.json')
    sample = json.loads(elements.read_text())['modules'][classification]
    assert sample['corrupted_elements'] > 0
    # Within the same target: a number in [0, 1] whenever the batch had a
    # target with corrupted and clean elements, also logged as a scalar.
    within = sample['auc_within_target']
    assert within != within or 0 <= within <= 1
    assert (within != within) == (
        f'l2t/noise_auc_within/{classification}' not in last)
    assert len(sample['loss']) == len(sample['weight']) == len(
        sample['corrupted']) > 0


def test_class_mean_val_loss_teaches_a_segmenter(l2t_run, noisy_shapes_dataset,
                                                 tmp_path):
    _, stock = l2t_run('fcn_l2t.py')
    balanced = _train('fcn_l2t.py', tmp_path, noisy_shapes_dataset, [
        'custom_hooks.0.interval=1',
        'custom_hooks.0.teach_dataloader.batch_size=2',
        'custom_hooks.0.val_loss=class_mean'
    ])
    before = [[row['l2t/val_loss_before'] for row in scalars
               if 'l2t/val_loss_before' in row]
              for scalars in (stock, balanced)]
    assert len(before[0]) == len(before[1]) == 2
    # The same seed and the same first teach batch: only ℓ_val's form
    # differs, and the rare classes' higher losses raise the class mean.
    assert before[1][0] > before[0][0] > 0


def test_class_mean_val_loss_is_refused_for_sigmoid_losses(shapes_dataset,
                                                           tmp_path):
    result = run_tool('train.py', 'configs/yolo_l2t.py', '--work-dir',
                      str(tmp_path), '--data-root', str(shapes_dataset),
                      '--cfg-options', *tiny_options(),
                      'custom_hooks.0.interval=1',
                      'custom_hooks.0.val_loss=class_mean')
    assert result.returncode != 0
    # Refused before training: YOLOv3's classification loss is a sigmoid.
    assert ("val_loss='class_mean': 'bbox_head.loss_cls' wraps a sigmoid "
            'loss' in result.stderr), result.stderr[-3000:]


@pytest.mark.parametrize('config', sorted(BASELINES))
def test_baseline_config_trains_and_evaluates(config, shapes_dataset,
                                              tmp_path):
    scalars = _train(config, tmp_path, shapes_dataset)
    assert not any(k.startswith('l2t/') for row in scalars for k in row)
    assert any(BASELINES[config] in row for row in scalars), scalars[-1]


# Peers of L2T: DynamicLossHead weightings without a teacher.
PEERS = {'yolo_uw.py': 'UncertaintyWeighting',
         'yolo_dwa.py': 'DynamicWeightAverage'}


@pytest.mark.parametrize('config', sorted(PEERS))
def test_peer_config_trains_logs_term_weights_and_evaluates(
        config, shapes_dataset, tmp_path):
    extra = ['model.bbox_head.dln.window=1'] if 'dwa' in config else []
    scalars = _train(config, tmp_path, shapes_dataset, extra)
    train_rows = [row for row in scalars if 'loss' in row]
    assert len(train_rows) == 2
    assert not any(k.startswith('l2t/') for row in scalars for k in row)
    for term in ('cls', 'conf', 'xy', 'wh'):
        assert all(f'weight_{term}' in row for row in train_rows)
    # Uncertainty weighting adds its log-variance regulariser to the loss.
    assert all(('loss_weighting_reg' in row) == ('uw' in config)
               for row in train_rows)
    assert any('coco/bbox_mAP' in row for row in scalars), scalars[-1]


def test_ohem_peer_mines_a_subset_of_pixels_and_trains(shapes_dataset,
                                                       tmp_path):
    config = Config.fromfile(str(REPO / 'configs' / 'fcn_ohem.py'))
    init_default_scope('mmseg')
    head = MODELS.build(config.model.decode_head)
    height, width = config.crop_size
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(head.out_channels, (2, 1, height, width),
                           generator=generator)
    # A student right on 95 % of the pixels, each with its own confidence.
    confidence = 2 + 8 * torch.rand(2, 1, height, width, generator=generator)
    logits = confidence * torch.nn.functional.one_hot(
        labels[:, 0], head.out_channels).permute(0, 3, 1, 2).float()
    hard = torch.rand(2, height, width, generator=generator) < 0.05
    logits = torch.where(hard[:, None], torch.zeros_like(logits), logits)
    kept = head.sampler.sample(logits, labels).bool()
    # Every hard pixel, topped up to min_kept per image of the batch: a
    # share of the pixels, not all of them (mmseg's min_kept for 512x1024
    # crops would keep every pixel here).
    assert kept[hard].all()
    assert kept.sum() == 2 * head.sampler.min_kept
    assert kept.sum() < 0.5 * kept.numel()
    scalars = _train('fcn_ohem.py', tmp_path, shapes_dataset)
    assert any('mIoU' in row for row in scalars), scalars[-1]


def test_class_weight_peers_weight_the_shapes_up_in_both_heads_and_train(
        shapes_dataset, tmp_path):
    init_default_scope('mmseg')
    for config in ('fcn_classweight.py', 'fcn_classweight_median.py'):
        model = Config.fromfile(str(REPO / 'configs' / config)).model
        for head in (model.decode_head, model.auxiliary_head):
            loss = MODELS.build(head.loss_decode)
            weights = torch.as_tensor(loss.class_weight)
            assert weights.shape == (head.num_classes, )
            assert weights[0] < 1 < weights[1:].min()
    # The two differ only in the weights' numbers: one of them trains.
    scalars = _train('fcn_classweight.py', tmp_path, shapes_dataset)
    assert any('mIoU' in row for row in scalars), scalars[-1]


def _train_images(config: str, data_root: Path) -> List[str]:
    """Image paths of the config's training set, its data at ``data_root``
    (as ``tools/train.py --data-root`` points it)."""
    cfg = load_config(str(REPO / 'configs' / config))
    relocate_data_root(cfg, str(data_root))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return sorted(dataset.get_data_info(index)['img_path']
                  for index in range(len(dataset)))


def test_data_peers_train_on_the_teach_images_with_and_without_the_rest(
        shapes_dataset, noisy_shapes_dataset, tmp_path):
    init_default_scope('mmseg')
    train = _train_images('fcn_baseline.py', shapes_dataset)
    teach_dir = shapes_dataset / 'img_dir' / 'teach'
    teach = sorted(str(path) for path in teach_dir.iterdir())
    assert len(train) == 8 and len(teach) == 4
    assert not set(train) & set(teach)
    assert _train_images('fcn_teachonly.py', shapes_dataset) == teach
    assert _train_images('fcn_plusteach.py', shapes_dataset) == sorted(
        train + teach)
    # The two datasets of one ConcatDataset, with --data-root moving both,
    # on noisy data: a batch mixes train images that carry a clean map
    # with teach images that carry none, as in the benchmark's runs.
    scalars = _train('fcn_plusteach.py', tmp_path, noisy_shapes_dataset)
    assert any('mIoU' in row for row in scalars), scalars[-1]


def test_missing_config_and_dataset_give_one_line_errors(tmp_path):
    # A fresh interpreter: the one line must not come with import warnings.
    result = run_tool('train.py', 'configs/nope.py', fresh=True)
    assert result.returncode == 2
    assert "config file 'configs/nope.py' does not exist" in result.stderr
    result = run_tool('train.py', 'configs/yolo_baseline.py', '--data-root',
                      str(tmp_path / 'absent'), fresh=True)
    assert result.returncode == 2
    assert 'tools/make_dataset.py --out' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_missing_folder_inside_a_concat_dataset_is_named(shapes_dataset,
                                                           tmp_path):
    cfg = load_config(str(REPO / 'configs' / 'fcn_plusteach.py'))
    relocate_data_root(cfg, str(shapes_dataset))
    check_dataset_folders(cfg, TRAIN_LOADERS)  # both datasets there
    absent = str(tmp_path / 'absent')
    cfg.train_dataloader.dataset.datasets[1].data_root = absent
    with pytest.raises(LaunchError, match=re.escape(
            'train_dataloader.dataset.datasets.1.data_root='
            f"'{absent}' does not exist")):
        check_dataset_folders(cfg, TRAIN_LOADERS)
    # Each tool checks what it reads: evaluation reads no training data.
    check_dataset_folders(cfg, TEST_LOADERS)


def test_a_missing_annotation_file_or_prefix_folder_is_named(
        shapes_dataset):
    cfg = load_config(str(REPO / 'configs' / 'yolo_l2t.py'))
    relocate_data_root(cfg, str(shapes_dataset))
    check_dataset_folders(cfg, TRAIN_LOADERS + TEST_LOADERS)
    check_teach_folders(cfg)
    cfg.val_dataloader.dataset.ann_file = 'annotations/absent.json'
    with pytest.raises(LaunchError, match=re.escape(
            "val_dataloader.dataset.ann_file='annotations/absent.json' does "
            f"not exist under data_root='{shapes_dataset}/': point it at "
            'your data')) as error:
        check_dataset_folders(cfg, TRAIN_LOADERS)
    # The root is there: generating the built-in data would not help.
    assert 'make_dataset' not in str(error.value)
    # mmseg takes a folder for ann_file (no split file: list img_path).
    seg_cfg = load_config(str(REPO / 'configs' / 'fcn_l2t.py'))
    relocate_data_root(seg_cfg, str(shapes_dataset))
    seg_cfg.train_dataloader.dataset.ann_file = 'img_dir/train'
    check_dataset_folders(seg_cfg, TRAIN_LOADERS)


def test_a_missing_teach_split_is_named_only_for_training(shapes_dataset,
                                                          tmp_path):
    # A user's own data without a held-out split: the training, val and
    # test folders are there, the teacher's are not.
    data = tmp_path / 'data'
    shutil.copytree(shapes_dataset, data,
                    ignore=shutil.ignore_patterns('teach'))
    cfg = load_config(str(REPO / 'configs' / 'fcn_l2t.py'))
    relocate_data_root(cfg, str(data))
    check_dataset_folders(cfg, TRAIN_LOADERS + TEST_LOADERS)
    with pytest.raises(LaunchError, match=re.escape(
            'custom_hooks.0.teach_dataloader.dataset.data_prefix.img_path='
            "'img_dir/teach' does not exist")) as error:
        check_teach_folders(cfg)
    assert 'point custom_hooks.0.teach_dataloader.dataset at a held-out ' \
        'split' in str(error.value)
    assert 'make_dataset' not in str(error.value)
    # Through the tool: one line, exit code 2, before the runner is built.
    result = run_tool('train.py', 'configs/fcn_l2t.py', '--work-dir',
                      str(tmp_path / 'work'), '--data-root', str(data),
                      fresh=True)
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.startswith(
        'train.py: custom_hooks.0.teach_dataloader.dataset.data_prefix.'
        "img_path='img_dir/teach' does not exist"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / 'work').exists()


def test_test_tool_evaluates_an_l2t_checkpoint_without_a_teach_split(
        l2t_run, noisy_shapes_dataset, tmp_path):
    train_dir, _ = l2t_run('fcn_l2t.py')
    # Evaluation needs no teach split: a copy of the data without one.
    data = tmp_path / 'data'
    shutil.copytree(noisy_shapes_dataset, data,
                    ignore=shutil.ignore_patterns('teach'))
    assert not list(data.rglob('teach'))
    result = run_tool('test.py', 'configs/fcn_l2t.py',
                      str(train_dir / 'iter_2.pth'), '--work-dir',
                      str(tmp_path / 'test'), '--data-root', str(data),
                      '--cfg-options', *tiny_options())
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'mIoU' in result.stdout + result.stderr
