"""Train a detector or segmentor (mmdet / mmseg config) with or without L2T.

    python tools/train.py configs/yolo_l2t.py [--work-dir DIR] [--resume]
        [--cfg-options key=value ...] [--launcher pytorch] [--amp]
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
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work dir when no path is given')
    parser.add_argument(
        '--data-root',
        help='point every dataset of the config (train/val/test and the '
        'teacher\'s teach split) at this folder, e.g. another shapes dataset')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (CUDA only)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from l2t_mm.utils.launch import (LaunchError, check_dataset_folders,
                                     destroy_distributed,
                                     init_cpu_distributed, load_config,
                                     prepare_config, relocate_data_root,
                                     task_of)
    from l2t_mm.utils import trust_local_checkpoints
    try:
        cfg = load_config(args.config, args.cfg_options)
        task = task_of(cfg)
        if args.data_root:
            relocate_data_root(cfg, args.data_root)
        cfg = prepare_config(cfg, args.config, args.launcher, args.work_dir,
                             args.amp)
        check_dataset_folders(cfg)
        if args.resume == 'auto':
            cfg.resume, cfg.load_from = True, None
        elif args.resume is not None:
            cfg.resume, cfg.load_from = True, args.resume
        init_cpu_distributed(args.launcher)
        trust_local_checkpoints()  # your own checkpoints: see its docstring
    except LaunchError as error:
        print(f'train.py: {error}', file=sys.stderr)
        return 2
    try:
        runner = RUNNERS.build(cfg) if 'runner_type' in cfg \
            else Runner.from_cfg(cfg)
        runner.logger.info(f'l2t_mm: training a {task} model from '
                           f'{args.config}')
        runner.train()
    except BaseException:
        destroy_distributed(synchronize=False)
        raise
    destroy_distributed()
    return 0


if __name__ == '__main__':
    sys.exit(main())
