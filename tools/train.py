"""Train a detector or segmentor (mmdet / mmseg config) with or without L2T.

    python tools/train.py configs/yolo_l2t.py [--work-dir DIR] [--resume]
        [--data-root DIR] [--cfg-options key=value ...] [--launcher pytorch]
        [--amp]
"""
import argparse
import sys
import warnings

# mmengine 0.10 imports pkg_resources, which setuptools deprecates loudly; we
# keep it on purpose (it resolves `mmdet::` bases), so the warning is noise.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

from l2t_mm.utils.launch import (TRAIN_LOADERS,  # noqa: E402
                                 add_common_arguments, check_dataset_folders,
                                 check_teach_folders, run)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work dir when no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (CUDA only)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)

    def prepare_training(cfg) -> None:
        check_dataset_folders(cfg, TRAIN_LOADERS)
        check_teach_folders(cfg)
        if args.resume == 'auto':
            cfg.resume, cfg.load_from = True, None
        elif args.resume is not None:
            cfg.resume, cfg.load_from = True, args.resume

    def train(runner, task: str) -> None:
        runner.logger.info(f'l2t_mm: training a {task} model from '
                           f'{args.config}')
        runner.train()

    return run('train.py', args, prepare_training, train, amp=args.amp)


if __name__ == '__main__':
    sys.exit(main())
