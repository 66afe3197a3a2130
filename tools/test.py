"""Evaluate a trained detector or segmentor checkpoint on the test split.

    python tools/test.py configs/yolo_l2t.py work_dirs/yolo_l2t/iter_600.pth
        [--work-dir DIR] [--data-root DIR] [--cfg-options key=value ...]
        [--launcher pytorch]
"""
import argparse
import os.path as osp
import sys
import warnings

# mmengine 0.10 imports pkg_resources, which setuptools deprecates loudly; we
# keep it on purpose (it resolves `mmdet::` bases), so the warning is noise.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

from l2t_mm.utils.launch import (TEST_LOADERS, LaunchError,  # noqa
                                 add_common_arguments, check_dataset_folders,
                                 run)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)

    def load_checkpoint(cfg) -> None:
        check_dataset_folders(cfg, TEST_LOADERS)
        if not osp.isfile(args.checkpoint):
            raise LaunchError(f'checkpoint {args.checkpoint!r} does not exist')
        cfg.load_from = args.checkpoint

    def test(runner, task: str) -> None:
        runner.logger.info(f'l2t_mm: testing a {task} model from '
                           f'{args.checkpoint}')
        metrics = runner.test()
        runner.logger.info(f'l2t_mm: test metrics {metrics}')

    return run('test.py', args, load_checkpoint, test)


if __name__ == '__main__':
    sys.exit(main())
