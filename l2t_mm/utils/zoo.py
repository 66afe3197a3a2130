"""Sweep the model zoo: does every stock config train and teach with its
losses wrapped in ``L2TLoss``? The logic of ``tools/zoo_sweep.py``.

For each stock config (made tiny by :mod:`l2t_mm.utils.zoo_config`) an
mmengine Runner trains a few iterations with a teach step after each, then
every DLN's meta-gradient is measured once more on a fresh batch. A config
*passes* when every teach step was applied (finite) and every DLN got a
finite, non-zero meta-gradient; it is *refused* when L2TLoss refuses one of
its losses at build time (the reason is the refusal's one line); anything
else *fails* with the error's first line.
"""
import gc
import json
import os.path as osp
import re
import time
import traceback
from dataclasses import asdict, dataclass, field
from typing import Dict, List, NamedTuple, Sequence, Tuple

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from ..engine.l2t_teacher_hook import L2TTeacherHook
from ..engine.student_step import StudentStep
from ..engine.teach_step import (dln_meta_gradient, lookahead_tensors,
                                 partition_parameters)
from ..models.loss_readers import LossRefused
from .zoo_config import load_stock_config, sweep_config


class ZooEntry(NamedTuple):
    config: str  # 'mmdet::<folder>/<file>.py' or 'mmseg::...'
    kind: str
    min_image_size: int = 0  # the run uses at least this size


ONE_STAGE, TWO_STAGE = 'one-stage', 'two-stage'
TRANSFORMER, INSTANCE, SEMANTIC = 'transformer', 'instance', 'semantic'
SAMPLE = [
    ZooEntry('mmdet::retinanet/retinanet_r18_fpn_1x_coco.py', ONE_STAGE),
    ZooEntry('mmdet::ghm/retinanet_r50_fpn_ghm-1x_coco.py', ONE_STAGE),
    ZooEntry('mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py', ONE_STAGE),
    ZooEntry('mmdet::gfl/gfl_r50_fpn_1x_coco.py', ONE_STAGE),
    # RTMDet at 128 px: too few positives for loss_bbox's DLN to have any
    # freedom (weights are mean 1 over them), so a zero meta-gradient.
    ZooEntry('mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py', ONE_STAGE,
             min_image_size=256),
    ZooEntry('mmdet::yolox/yolox_tiny_8xb8-300e_coco.py', ONE_STAGE),
    ZooEntry('mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py',
             ONE_STAGE),
    ZooEntry('mmdet::centernet/centernet_r18_8xb16-crop512-140e_coco.py',
             ONE_STAGE),
    ZooEntry('mmdet::centernet/centernet-update_r50-caffe_fpn_ms-1x_coco.py',
             ONE_STAGE),
    ZooEntry('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', TWO_STAGE),
    ZooEntry('mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
             TWO_STAGE),
    ZooEntry('mmdet::detr/detr_r18_8xb2-500e_coco.py', TRANSFORMER),
    ZooEntry('mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py',
             TRANSFORMER),
    # DINO picks 900 queries among the encoder's positions: >= 208 px.
    ZooEntry('mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', TRANSFORMER,
             min_image_size=256),
    ZooEntry('mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', INSTANCE),
    ZooEntry('mmdet::seesaw_loss/'
             'mask-rcnn_r50_fpn_seesaw-loss_random-ms-2x_lvis-v1.py',
             INSTANCE),
    ZooEntry('mmseg::fcn/fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py',
             SEMANTIC),
    ZooEntry('mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py',
             SEMANTIC),
    ZooEntry('mmseg::deeplabv3plus/'
             'deeplabv3plus_r18-d8_4xb2-80k_cityscapes-512x1024.py',
             SEMANTIC),
    ZooEntry('mmseg::upernet/upernet_r18_4xb2-40k_cityscapes-512x1024.py',
             SEMANTIC),
    ZooEntry('mmseg::segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py',
             SEMANTIC),
    ZooEntry('mmseg::ocrnet/ocrnet_hr18_4xb2-40k_cityscapes-512x1024.py',
             SEMANTIC),
    ZooEntry('mmseg::point_rend/pointrend_r50_4xb2-80k_cityscapes-512x1024.py',
             SEMANTIC),
    ZooEntry('mmseg::mask2former/'
             'mask2former_r50_8xb2-90k_cityscapes-512x1024.py', SEMANTIC),
    ZooEntry('mmseg::pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py',
             SEMANTIC),
]


@dataclass
class SweepResult:
    config: str
    kind: str
    status: str  # 'pass', 'refused' or 'fail'
    seconds: float
    reason: str = ''
    meta_grad_norms: Dict[str, float] = field(default_factory=dict)


def sweep(entries: Sequence[ZooEntry], data_root: str, work_root: str,
          image_size: int = 128, iters: int = 2) -> List[SweepResult]:
    """Run every entry in this process, one after the other."""
    return [
        sweep_one(entry, data_root, osp.join(work_root, _slug(entry.config)),
                  image_size, iters) for entry in entries
    ]


def sweep_one(entry: ZooEntry, data_root: str, work_dir: str,
              image_size: int = 128, iters: int = 2) -> SweepResult:
    start = time.perf_counter()

    def result(status: str, reason: str = '', norms=None) -> SweepResult:
        return SweepResult(entry.config, entry.kind, status,
                           round(time.perf_counter() - start, 1), reason,
                           norms or {})

    try:
        cfg = load_stock_config(entry.config)
        task = 'detection' if cfg.get('default_scope') == 'mmdet' \
            else 'segmentation'
        sweep_config(cfg, task, data_root, work_dir,
                     max(image_size, entry.min_image_size), iters,
                     name=_slug(entry.config))
        runner = Runner.from_cfg(cfg)
    except LossRefused as error:
        return result('refused', one_line(error))
    except Exception as error:  # the table reports it
        return result('fail', 'build: ' + one_line(error))
    try:
        runner.train()
        norms, unused = check_teaching(runner, iters)
    except Exception as error:
        return result('fail', one_line(error))
    finally:
        del runner
        gc.collect()
    bad = {name: norm for name, norm in norms.items() if not 0 < norm < 1e30}
    if bad or not norms:
        return result('fail', f'zero or non-finite meta-gradient: {bad}',
                      norms)
    note = f'; loss not computed in this run: {unused}' if unused else ''
    return result('pass', f'{len(norms)} DLN(s) taught{note}', norms)


def check_teaching(runner: Runner,
                   iters: int) -> Tuple[Dict[str, float], List[str]]:
    """Every teach step was applied. Returns the meta-gradient norm of each
    DLN whose loss the last iteration computed, measured once more on a
    fresh training batch and teach batch, and the DLNs whose loss it did
    not compute (YOLOX's ``loss_l1`` before its mode switch)."""
    [hook] = [h for h in runner.hooks if isinstance(h, L2TTeacherHook)]
    if hook.teach_steps != iters:
        raise RuntimeError(f'{hook.teach_steps} of {iters} teach steps were '
                           f'applied ({hook.skipped_steps} skipped as '
                           'non-finite)')
    model = runner.model.module if is_model_wrapper(runner.model) \
        else runner.model
    used = {name for name, record in hook.records.items() if record.summary()}
    partition = partition_parameters(model, hook.lookahead_params)
    student, constants, phi = lookahead_tensors(model, partition)
    params = dict(model.named_parameters())
    student_step = StudentStep(
        runner.optim_wrapper.optimizer,
        {name: params[name] for name in partition.student},
        hook.lookahead_lr)
    train_data = model.data_preprocessor(
        next(iter(runner.train_dataloader)), True)
    val_data = model.data_preprocessor(next(iter(hook.teach_dataloader)),
                                       True)
    # The DLNs' progress input of the last iteration, as training left it.
    progress = hook.progress(runner, runner.iter - 1)
    meta_grad, _, _ = dln_meta_gradient(
        model, student, constants, phi, train_data, val_data, student_step,
        hook.meta_objective(runner), progress=progress)
    sizes = [tensor.numel() for tensor in phi.values()]
    pieces = dict(zip(phi, meta_grad.split(sizes)))
    return {
        module: torch.sqrt(sum(pieces[name].square().sum()
                               for name in names)).item()
        for module, names in partition.dln_by_module.items()
        if module in used
    }, sorted(set(partition.dln_by_module) - used)


_BUILD_PREFIX = re.compile(r'^(class `\w+` in [^:]+: )+')


def one_line(error: BaseException) -> str:
    """The error's first line without mmengine's nested "class `X` in path:"
    prefixes; other than a refusal, with its type and where it was raised."""
    lines = str(error).strip().splitlines()
    text = _BUILD_PREFIX.sub('', lines[0] if lines else '')
    if isinstance(error, LossRefused):
        return text
    where = traceback.extract_tb(error.__traceback__)[-1]
    if len(text) > 160:
        text = text[:157] + '...'
    return (f'{type(error).__name__}: {text} '
            f'({osp.basename(where.filename)}:{where.lineno})')


def _slug(config: str) -> str:
    return osp.splitext(config.replace('::', '_').replace('/', '_'))[0]


def format_table(results: Sequence[SweepResult]) -> str:
    """Markdown table: config, kind, status, seconds, reason."""
    lines = ['| config | kind | status | s | reason |',
             '|---|---|---|---|---|']
    lines += [
        f'| {r.config} | {r.kind} | {r.status} | {r.seconds:.0f} | '
        f'{r.reason} |' for r in results
    ]
    return '\n'.join(lines)


_COUNTED = {'pass': 'passed', 'refused': 'refused', 'fail': 'failed'}


def coverage(results: Sequence[SweepResult]) -> Dict[str, Dict[str, int]]:
    """Per kind: how many configs passed, were refused, failed."""
    counts: Dict[str, Dict[str, int]] = {}
    for r in results:
        kind = counts.setdefault(r.kind, dict.fromkeys(
            list(_COUNTED.values()) + ['total'], 0))
        kind[_COUNTED[r.status]] += 1
        kind['total'] += 1
    return counts


def write_json(results: Sequence[SweepResult], path: str, **options) -> None:
    with open(path, 'w') as file:
        json.dump(dict(options=options, coverage=coverage(results),
                       results=[asdict(r) for r in results]), file, indent=1)
