"""Train an L2T config and its baseline twin side by side and compare them.

    python tools/benchmark.py configs/yolo_l2t.py [--baseline CONFIG]
        [--peers CONFIG ...] [--seeds 0 1 2] [--max-iters N] [--evals K]
        [--data-root DIR] [--out DIR] [--quick] [--cfg-options key=value ...]
    python tools/benchmark.py STOCK_CONFIG --derive-l2t [--teach-fraction F]

All variants (baseline, L2T and any --peers, e.g. configs/yolo_uw.py) run
through tools/train.py with the same data, schedule and seeds, interleaved
(the order rotates per seed), each in its own process. Reported per run and
as mean ± std: the task's metrics (mAP, mAP_50, AP_small / mIoU and
per-class IoU), seconds per iteration, the teach step's share of training
time and peak resident memory of the run's process tree; ratios variant /
baseline are computed only from the runs in the report, which were measured
together, interleaved. Writes a Markdown table to stdout,
``benchmark.json`` and PNG curves to ``--out``. The logic is in
:mod:`l2t_mm.benchmark`; this script parses the arguments.
"""
import argparse
import sys
import warnings
from pathlib import Path

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

from mmengine.config import DictAction  # noqa: E402

from l2t_mm.benchmark import (BenchmarkError,  # noqa: E402
                              BenchmarkSettings, run_benchmark)
from l2t_mm.benchmark.schema import REPORT_FILE  # noqa: E402
from l2t_mm.benchmark.table import markdown  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
QUICK = dict(seeds=[0, 1], max_iters=12, evals=1, val_images=24,
             teach_interval=4)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config',
                        help='an L2T config, e.g. configs/yolo_l2t.py (a '
                        'stock config with --derive-l2t)')
    parser.add_argument('--baseline',
                        help='its baseline twin (default: *_l2t.py -> '
                        '*_baseline.py)')
    parser.add_argument('--derive-l2t', action='store_true',
                        help='CONFIG is a stock (non-L2T) config: derive the '
                        'L2T variant (every loss wrapped in L2TLoss, the '
                        'teacher hook added) and its baseline, both training '
                        'on the same HoldoutDataset side of its training set')
    parser.add_argument('--teach-fraction', type=float, default=0.1,
                        help='with --derive-l2t: share of the training set '
                        'held out for the teacher (default 0.1)')
    parser.add_argument('--peers', nargs='+', default=[],
                        help='more configs to train alongside, e.g. the '
                        'adaptive-weighting peers configs/yolo_uw.py '
                        'configs/yolo_dwa.py')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--max-iters', type=int,
                        help='override the configs\' schedule length')
    parser.add_argument('--evals', type=int, default=4,
                        help='validations per run (for the metric curves)')
    parser.add_argument('--val-images', type=int,
                        help='evaluate on the first N validation images only')
    parser.add_argument('--teach-interval', type=int,
                        help='override L2TTeacherHook.interval (L2T runs)')
    parser.add_argument('--data-root', help='passed to tools/train.py')
    parser.add_argument('--out', help='output folder (default '
                        'work_dirs/benchmark/<config name>)')
    parser.add_argument('--quick', action='store_true',
                        help='CI-sized check: seeds 0 1, 12 iterations, '
                        'teaching every 4, one evaluation on 24 images '
                        '(explicit options win)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='extra options for every variant')
    parser.add_argument('--l2t-cfg-options', nargs='+', action=DictAction,
                        default={}, help='extra options for the L2T variant '
                        'only, e.g. custom_hooks.0.dln_lr=10 for an ablation '
                        'against the same baseline')
    parser.add_argument('--teacher-from', metavar='PATH',
                        help='start the L2T runs\' teacher from a trained '
                        'one: a run folder, checkpoint or file of '
                        'tools/export_teacher.py (sets L2TTeacherHook.'
                        'init_teacher.checkpoint; the parts loaded are the '
                        "config's init_teacher.load, every part by default, "
                        'and of its init_teacher.dlns, every DLN by default '
                        '(set both with --l2t-cfg-options); README, '
                        '"Reusing a teacher")')
    parser.add_argument('--reuse-runs', action='store_true',
                        help='read back runs of an earlier invocation that '
                        'finished (same --out) instead of training them '
                        'again; a run trained with other settings is '
                        'trained again')
    args = parser.parse_args(argv)
    if args.quick:
        given = set(argv if argv is not None else sys.argv[1:])
        for key, value in QUICK.items():
            if f'--{key.replace("_", "-")}' not in given:
                setattr(args, key, value)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out or REPO / 'work_dirs' / 'benchmark' /
               Path(args.config).stem)
    settings = BenchmarkSettings(**dict(vars(args), out=out))
    try:
        report = run_benchmark(settings, train_script=REPO / 'tools' /
                               'train.py', cwd=REPO,
                               command=' '.join([sys.executable, *sys.argv]))
    except BenchmarkError as error:
        raise SystemExit(f'benchmark.py: {error}') from None
    print(markdown(report))
    print(f'\nwrote {out / REPORT_FILE} and {", ".join(report["plots"])}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
