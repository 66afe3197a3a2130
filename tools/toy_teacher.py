"""Teacher ablation on the toy noisy-label problem (seconds per run).

Trains the toy student of ``l2t_mm.testing.noisy_toy`` without teaching and
with each teacher, for every seed, and prints clean test loss, noise AUC
(how well low DLN weights pick out flipped labels; 0.5 = blind) and the
share of teach steps that lowered the validation loss.

    python tools/toy_teacher.py --seeds 0 1 2 --out work_dirs/toy_teacher
    python tools/toy_teacher.py --dln normalise_over=target  # a DLN option
"""
import argparse
import json
import statistics
from dataclasses import asdict
from pathlib import Path

from mmengine.config import DictAction
from mmengine.registry import init_default_scope

from l2t_mm.testing.noisy_toy import make_problem, run_toy

TEACHERS = {
    'none': None,
    'adam': dict(type='AdamTeacher'),
    'mlp': dict(type='MLPTeacher'),
    'lstm': dict(type='LSTMTeacher'),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--teachers', nargs='+', default=list(TEACHERS),
                        choices=list(TEACHERS))
    parser.add_argument('--steps', type=int, default=200)
    parser.add_argument('--noise', type=float, default=0.4)
    parser.add_argument('--dln-lr', type=float, default=0.01)
    parser.add_argument('--dln', nargs='+', action=DictAction, default={},
                        metavar='KEY=VALUE',
                        help='WeightingDLN options of every taught run, '
                        'e.g. normalise_over=target use_top_probability=True')
    parser.add_argument('--lookahead-direction-only', action='store_true',
                        help="φ reaches the look-ahead only through its "
                        "gradient's direction (L2TTeacherHook's "
                        'lookahead_direction_only)')
    parser.add_argument('--out', type=Path, default=None,
                        help='folder for toy_teacher.json')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    init_default_scope('mmdet')
    dln = dict(type='WeightingDLN', **args.dln)
    rows = []
    for seed in args.seeds:
        problem = make_problem(seed, noise=args.noise)
        for name in args.teachers:
            result = run_toy(TEACHERS[name], seed, steps=args.steps,
                             dln_lr=args.dln_lr, dln=dln, problem=problem,
                             lookahead_direction_only=(
                                 args.lookahead_direction_only))
            rows.append(dict(teacher=name, seed=seed, **asdict(result)))
    print(f'| teacher | clean test loss (seeds {args.seeds}) | noise AUC '
          '| val loss lower after update |')
    print('|---|---|---|---|')
    for name in args.teachers:
        mine = [row for row in rows if row['teacher'] == name]

        def column(key: str, digits: int = 2) -> str:
            values = [row[key] for row in mine]
            if any(value != value for value in values):
                return '-'
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            each = ' / '.join(f'{value:.{digits}f}' for value in values)
            return (f'{statistics.mean(values):.{digits}f} ± '
                    f'{spread:.{digits}f} ({each})')

        print(f'| {name} | {column("test_loss")} | {column("auc", 3)} | '
              f'{column("improved")} |')
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / 'toy_teacher.json').write_text(
            json.dumps(dict(args=vars(args) | dict(out=str(args.out)),
                            runs=rows), indent=2))


if __name__ == '__main__':
    main()
