"""Print fixed class weights for a segmentation config's training set.

    python tools/class_weights.py CONFIG [--data-root DIR]
        [--rule median_frequency|inverse_log] [--cfg-options key=value ...]

Counts the labelled pixels of each class over the training set
(``train_dataloader.dataset``) and prints, per class, the pixels, their
share and the weight, then the ``class_weight=[...]`` to put in the loss
(``ClassWeightedCrossEntropyLoss(class_weight=...)``: mmseg's own
``CrossEntropyLoss`` stops on labels with the ignore index). The rules and
the scaling (a pixel's expected weight is 1) are in
:mod:`l2t_mm.datasets.class_balance`.
configs/fcn_classweight.py was written with it. Exit code 2 with one line
for a config or dataset it cannot use.
"""
import argparse
import sys
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import DATASETS, init_default_scope  # noqa: E402

from l2t_mm.datasets.class_balance import (RULES,  # noqa: E402
                                           ClassBalanceError, class_weights,
                                           pixel_class_counts)
from l2t_mm.utils.launch import (LaunchError,  # noqa: E402
                                 check_dataset_folders, load_config,
                                 relocate_data_root, task_of)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='an mmseg config, e.g. '
                        'configs/fcn_baseline.py')
    parser.add_argument('--data-root', help='count this folder\'s training '
                        'set instead of the config\'s')
    parser.add_argument('--rule', default='inverse_log', choices=RULES)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, args.cfg_options)
        if task_of(cfg) != 'segmentation':
            raise LaunchError(f'{args.config}: class weights are counted from '
                              'segmentation maps; this is a detection config')
        if args.data_root:
            relocate_data_root(cfg, args.data_root)
        check_dataset_folders(cfg, ('train_dataloader', ))
        init_default_scope(cfg.default_scope)
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        names = list(dataset.metainfo['classes'])
        counts = pixel_class_counts(dataset, len(names))
        weights = class_weights(counts, args.rule, names)
    except (LaunchError, ClassBalanceError) as error:
        print(f'class_weights.py: {error}', file=sys.stderr)
        return 2
    total = counts.pixels.sum()
    print(f'{args.rule} weights, {len(dataset)} training images '
          f'(expected weight per pixel 1)')
    print(f'{"class":<16}{"pixels":>12}{"share":>9}{"weight":>9}')
    for name, count, weight in zip(names, counts.pixels, weights):
        print(f'{name:<16}{count:>12}{count / total:>9.4f}{weight:>9.4f}')
    print('class_weight=[' + ', '.join(f'{w:.4f}' for w in weights) + ']')
    return 0


if __name__ == '__main__':
    sys.exit(main())
