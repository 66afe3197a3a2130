"""Evaluate a trained detector or segmentor checkpoint on the test split.

    python tools/test.py configs/yolo_l2t.py work_dirs/yolo_l2t/iter_600.pth
        [--work-dir DIR] [--data-root DIR] [--cfg-options key=value ...]
        [--launcher pytorch]
"""
import argparse
import sys
import warnings

# mmengine 0.10 imports pkg_resources, which setuptools deprecates loudly; we
# keep it on purpose (it resolves `mmdet::` bases), so the warning is noise.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

from mmengine.config import DictAction  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs and metrics go')
    parser.add_argument('--data-root',
                        help='point every dataset of the config here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import os.path as osp

    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from l2t_mm.utils import trust_local_checkpoints
    from l2t_mm.utils.launch import (LaunchError, check_dataset_folders,
                                     destroy_distributed,
                                     init_cpu_distributed, load_config,
                                     prepare_config, relocate_data_root,
                                     task_of)
    try:
        if not osp.isfile(args.checkpoint):
            raise LaunchError(f'checkpoint {args.checkpoint!r} does not exist')
        cfg = load_config(args.config, args.cfg_options)
        task = task_of(cfg)
        if args.data_root:
            relocate_data_root(cfg, args.data_root)
        cfg = prepare_config(cfg, args.config, args.launcher, args.work_dir)
        check_dataset_folders(cfg)
        cfg.load_from = args.checkpoint
        init_cpu_distributed(args.launcher)
        trust_local_checkpoints()  # your own checkpoints: see its docstring
    except LaunchError as error:
        print(f'test.py: {error}', file=sys.stderr)
        return 2
    try:
        runner = RUNNERS.build(cfg) if 'runner_type' in cfg \
            else Runner.from_cfg(cfg)
        runner.logger.info(f'l2t_mm: testing a {task} model from '
                           f'{args.checkpoint}')
        metrics = runner.test()
        runner.logger.info(f'l2t_mm: test metrics {metrics}')
    except BaseException:
        destroy_distributed(synchronize=False)
        raise
    destroy_distributed()
    return 0


if __name__ == '__main__':
    sys.exit(main())
