"""What ``tools/train.py`` and ``tools/test.py`` share: their common command
line, loading a config with clear errors, adapting it to the machine, and a
CPU-safe distributed launch around the runner."""
import argparse
import gc
import os
import os.path as osp
import sys
from typing import Callable, Iterator, Optional, Sequence, Tuple

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, DictAction

from ..models.wrapper_config import lift_head_keys

TASKS = {'mmdet': 'detection', 'mmseg': 'segmentation'}


class LaunchError(RuntimeError):
    """A user-facing problem with the config or the machine; one line."""


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    if not osp.isfile(path):
        raise LaunchError(f'config file {path!r} does not exist; the shipped '
                          'configs are in configs/ (e.g. configs/yolo_l2t.py)')
    try:
        cfg = Config.fromfile(path)
    except (ModuleNotFoundError, ImportError, FileNotFoundError) as error:
        text = str(error)
        if '::' in text or 'pkg_resources' in text or 'mmdet' in text \
                or 'mmseg' in text:
            raise LaunchError(
                f'{path}: cannot resolve its "mmdet::"/"mmseg::" base config '
                f'({text}). mmengine finds them through pkg_resources: keep '
                '"setuptools<82" installed and install mmdet==3.3.0 / '
                'mmsegmentation==1.2.2 (make setup does both).') from error
        raise
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def task_of(cfg: Config) -> str:
    scope = cfg.get('default_scope')
    if scope not in TASKS:
        raise LaunchError(
            f'default_scope={scope!r}: l2t_mm tools handle "mmdet" '
            '(detection) and "mmseg" (segmentation) configs')
    return TASKS[scope]


def iter_dicts(node) -> Iterator[dict]:
    """Every dict nested in a config node (dicts, lists), outermost first."""
    if isinstance(node, dict):
        yield node
        children = node.values()
    elif isinstance(node, (list, tuple)):
        children = node
    else:
        return
    for child in children:
        yield from iter_dicts(child)


def replace_sync_bn(model_cfg: dict) -> None:
    """SyncBN needs CUDA; on a CPU machine use plain BN (same parameters)."""
    for node in iter_dicts(model_cfg):
        if node.get('type') in ('SyncBN', 'MMSyncBN'):
            node['type'] = 'BN'


def lift_l2t_head_keys(cfg: Config) -> None:
    """Hand-written ``L2TLoss`` configs may keep ``use_sigmoid``,
    ``class_weight`` ... inside ``loss``; heads read them at the top level
    (:mod:`l2t_mm.models.wrapper_config`), so move them there."""
    for node in iter_dicts(cfg.get('model')):
        if node.get('type') == 'L2TLoss':
            lift_head_keys(node)


def leaf_datasets(dataset: dict, key: str) -> Iterator[Tuple[str, dict]]:
    """(config key, dict) of each dataset under ``key`` that reads files,
    inside wrappers: ``dataset`` of RepeatDataset, MultiImageMixDataset
    ..., ``datasets`` of ConcatDataset."""
    if 'dataset' in dataset:
        yield from leaf_datasets(dataset['dataset'], f'{key}.dataset')
    elif 'datasets' in dataset:
        for index, child in enumerate(dataset['datasets']):
            yield from leaf_datasets(child, f'{key}.datasets.{index}')
    else:
        yield key, dataset


def _missing_part(key: str, dataset: dict, root: str) -> Optional[str]:
    """Which of this dataset's ``ann_file`` and ``data_prefix`` paths is
    missing under its existing local ``root``, as one line naming the key;
    None when all are there. Relative paths are under ``root``, as
    mmengine's ``BaseDataset`` joins them; ``ann_file`` may be a folder
    (mmseg lists ``img_path`` then)."""
    prefix = dataset.get('data_prefix')
    paths = [('ann_file', dataset.get('ann_file'))]
    paths += [(f'data_prefix.{name}', path) for name, path in
              (prefix.items() if isinstance(prefix, dict) else ())]
    for name, path in paths:
        if not isinstance(path, str) or not path or '://' in path:
            continue
        if not osp.exists(osp.join(root, path)):
            where = f' under data_root={root!r}' if root else ''
            return f'{key}.{name}={path!r} does not exist{where}'
    return None


def _check_loader_folders(loader: dict, loader_key: str, fix: str) -> None:
    for key, dataset in leaf_datasets(loader['dataset'],
                                      f'{loader_key}.dataset'):
        root = dataset.get('data_root') or ''
        if '://' in root:  # remote (s3://...): the file backend's to check
            continue
        if root and not osp.isdir(root):
            raise LaunchError(
                f'{key}.data_root={root!r} does not exist. Generate the '
                'built-in dataset with `python tools/make_dataset.py --out '
                f'{root.rstrip("/")}` (or `make data`), or point data_root '
                'at your own data with --cfg-options.')
        missing = _missing_part(key, dataset, root)
        if missing:  # the root is there: the user's data lacks a part
            raise LaunchError(f'{missing}: {fix}')


TRAIN_LOADERS = ('train_dataloader', 'val_dataloader')
TEST_LOADERS = ('test_dataloader', )


def check_dataset_folders(cfg: Config, loader_keys: Sequence[str]) -> None:
    """Fail before building the runner when a dataset folder or annotation
    file that the tool reads (``loader_keys``) is missing, in any child of
    a wrapper too: one line naming the key, not a traceback from deep inside
    the dataset's build."""
    for loader_key in loader_keys:
        loader = cfg.get(loader_key)
        if loader:
            _check_loader_folders(
                loader, loader_key, 'point it at your data with '
                '--cfg-options.')


def check_teach_folders(cfg: Config) -> None:
    """The same check for the teacher's held-out split, which only tools
    that teach read (``tools/test.py`` evaluates without one)."""
    for index, hook in enumerate(cfg.get('custom_hooks') or []):
        loader = hook.get('teach_dataloader')
        if isinstance(loader, dict) and 'dataset' in loader:
            key = f'custom_hooks.{index}.teach_dataloader'
            _check_loader_folders(
                loader, key, f'point {key}.dataset at a held-out split of '
                'your data with --cfg-options (the teacher needs annotated '
                'images the student does not train on).')


def relocate_data_root(cfg: Config, data_root: str) -> None:
    """Point every dataset of the config at ``data_root``: the train/val/test
    dataloaders, the teacher's ``teach_dataloader`` and evaluator
    ``ann_file`` paths under the old root. One switch instead of a
    ``--cfg-options`` entry per dataloader."""
    new_root = data_root.rstrip('/') + '/'
    nodes = list(iter_dicts([cfg[key] for key in cfg.keys()]))
    old_roots = {
        node['data_root']
        for node in nodes if isinstance(node.get('data_root'), str)
    }
    if not old_roots:
        raise LaunchError('--data-root: the config has no data_root to '
                          'replace; set dataset paths with --cfg-options')
    for node in nodes:
        if isinstance(node.get('data_root'), str):
            node['data_root'] = new_root
        elif isinstance(node.get('ann_file'), str):
            for old in old_roots:
                if node['ann_file'].startswith(old):
                    node['ann_file'] = new_root + node['ann_file'][len(old):]


def prepare_config(cfg: Config, config_path: str, launcher: str,
                   work_dir: Optional[str], amp: bool = False) -> Config:
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(config_path))[0]
        cfg.work_dir = osp.join('./work_dirs', name)
    if not torch.cuda.is_available():
        replace_sync_bn(cfg.model)
        if launcher != 'none':
            cfg.env_cfg = dict(cfg.get('env_cfg', {}),
                               dist_cfg=dict(backend='gloo'))
            # What mmengine builds without a wrapper config, minus the
            # CUDA device id.
            wrapper = dict(type='MMDistributedDataParallel',
                           broadcast_buffers=False,
                           find_unused_parameters=cfg.get(
                               'find_unused_parameters', False))
            wrapper.update(cfg.get('model_wrapper_cfg') or {})
            wrapper['device_ids'] = None
            cfg.model_wrapper_cfg = wrapper
    if amp:
        if not torch.cuda.is_available():
            raise LaunchError('--amp needs a CUDA device; this machine has '
                              'none (drop --amp to train in fp32)')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    return cfg


def init_cpu_distributed(launcher: str) -> None:
    """mmengine's ``init_dist`` calls ``torch.cuda.set_device``; on a CPU
    machine start the gloo group ourselves (the Runner then reuses it)."""
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise LaunchError(f'--launcher {launcher} is not supported on a CPU '
                          'machine; use --launcher pytorch with torchrun')
    if 'RANK' not in os.environ:
        raise LaunchError('--launcher pytorch expects torchrun to set RANK/'
                          'WORLD_SIZE; use tools/dist_train.sh or torchrun')
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo')


def destroy_distributed(synchronize: bool = True) -> None:
    """Tear the process group down at exit. After a successful run all ranks
    meet at a barrier first: a rank that leaves while a peer still talks to
    it makes gloo abort the peer ('terminate called without an active
    exception'). After an error there is no barrier (the peer may be gone)."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        if synchronize:
            torch_dist.barrier()
        torch_dist.destroy_process_group()


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments train.py and test.py share (mmdet/mmseg conventions)."""
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--data-root',
        help='point every dataset of the config (train/val/test and the '
        "teacher's teach split) at this folder, e.g. another shapes dataset")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def configure(args: argparse.Namespace, amp: bool = False):
    """Config ready for this machine, and the task; raises LaunchError."""
    cfg = load_config(args.config, args.cfg_options)
    task = task_of(cfg)
    lift_l2t_head_keys(cfg)
    if args.data_root:
        relocate_data_root(cfg, args.data_root)
    return prepare_config(cfg, args.config, args.launcher, args.work_dir,
                          amp), task


def run(tool: str, args: argparse.Namespace,
        edit_config: Callable[[Config], None], action: Callable,
        amp: bool = False) -> int:
    """Configure, let ``edit_config`` adapt the config to the tool (and
    check the datasets the tool reads), start the process group, build the
    runner, call ``action(runner, task)``, tear down. A LaunchError, from
    the set-up or the action, is one line on stderr and exit code 2."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from .checkpoint import trusted_local_checkpoints
    try:
        cfg, task = configure(args, amp)
        edit_config(cfg)
        init_cpu_distributed(args.launcher)
    except LaunchError as error:
        print(f'{tool}: {error}', file=sys.stderr)
        return 2
    try:
        # The runner resumes or loads your own checkpoints: see
        # trusted_local_checkpoints; mmengine's loader is back afterwards.
        with trusted_local_checkpoints():
            runner = RUNNERS.build(cfg) if 'runner_type' in cfg \
                else Runner.from_cfg(cfg)
            action(runner, task)
    except LaunchError as error:  # found by the action, e.g. in the data
        destroy_distributed(synchronize=False)
        print(f'{tool}: {error}', file=sys.stderr)
        return 2
    except BaseException:
        destroy_distributed(synchronize=False)
        raise
    # DDP's reducer holds the process group and gloo's pending work; left to
    # interpreter finalisation, freeing them can abort a rank ('terminate
    # called without an active exception'). Free them while Python is whole.
    del runner
    gc.collect()
    destroy_distributed()
    return 0
