"""Train stock mmdet/mmseg configs with every loss wrapped in L2TLoss.

    python tools/zoo_sweep.py --data-root data/shapes            # the sample
    python tools/zoo_sweep.py --data-root data/shapes \\
        mmdet::retinanet/retinanet_r18_fpn_1x_coco.py ...    # any configs

Each config trains a few iterations on the shapes data at a small image
size, from random weights, with a teach step after every iteration
(l2t_mm/utils/zoo.py); the tool prints a table (config, kind, status,
seconds, reason) and writes it as JSON. Exit code 1 if any config failed.
"""
import argparse
import os.path as osp
import sys
import warnings

# mmengine 0.10 imports pkg_resources, which setuptools deprecates loudly.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

from mmengine.utils import mkdir_or_exist  # noqa: E402

from l2t_mm.utils.zoo import (SAMPLE, ZooEntry, coverage,  # noqa: E402
                              format_table, sweep, write_json)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'configs', nargs='*',
        help='stock configs, "mmdet::<folder>/<file>.py" or "mmseg::...", '
        'optionally "=<kind>"; default: the sample in l2t_mm/utils/zoo.py')
    parser.add_argument('--data-root', required=True,
                        help='shapes dataset (python tools/make_dataset.py)')
    parser.add_argument('--work-dir', default='work_dirs/zoo_sweep',
                        help='runs go in a folder per config here')
    parser.add_argument('--out', help='JSON report (default: '
                        'WORK_DIR/zoo_sweep.json)')
    parser.add_argument('--image-size', type=int, default=128)
    parser.add_argument('--iters', type=int, default=2,
                        help='training iterations, each with a teach step')
    return parser.parse_args(argv)


def entries(configs) -> list:
    if not configs:
        return SAMPLE
    known = {entry.config: entry for entry in SAMPLE}
    chosen = []
    for text in configs:
        config, _, kind = text.partition('=')
        entry = known.get(config, ZooEntry(config, '?'))
        chosen.append(entry._replace(kind=kind) if kind else entry)
    return chosen


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isfile(osp.join(args.data_root, 'annotations',
                               'instances_train.json')):
        print(f'zoo_sweep.py: {args.data_root!r} holds no shapes dataset; '
              'write one with `python tools/make_dataset.py --out '
              f'{args.data_root}`', file=sys.stderr)
        return 2
    mkdir_or_exist(args.work_dir)
    results = sweep(entries(args.configs), args.data_root, args.work_dir,
                    args.image_size, args.iters)
    out = args.out or osp.join(args.work_dir, 'zoo_sweep.json')
    write_json(results, out, data_root=args.data_root,
               image_size=args.image_size, iters=args.iters)
    print(format_table(results))
    for kind, counts in coverage(results).items():
        print(f'{kind}: {counts["passed"]}/{counts["total"]} passed, '
              f'{counts["refused"]} refused, {counts["failed"]} failed')
    print(f'report: {out}')
    return int(any(result.status == 'fail' for result in results))


if __name__ == '__main__':
    sys.exit(main())
