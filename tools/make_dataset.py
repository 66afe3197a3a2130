"""Generate the procedural shapes dataset (see ``l2t_mm.datasets.shapes``).

Example::

    python tools/make_dataset.py --out data/shapes --noise-class-flip 0.2

Reruns with the same options print "up to date" and write nothing. Any bad
input is reported as one line on stderr, with exit code 2, before anything
is written.
"""
import argparse
import dataclasses
import sys
from typing import List, NoReturn, Optional

from l2t_mm.datasets.shapes import OptionError, ShapesOptions, generate_dataset

PROG = 'make_dataset.py'
USAGE_ERROR = 2


class UsageError(Exception):
    """Bad command-line input; the message is the whole error line."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line and do not exit, so
    ``main`` reports every usage error the same way."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f'{message}; see --help')


def build_parser() -> argparse.ArgumentParser:
    """The CLI; every ``ShapesOptions`` field is a flag with its default."""
    defaults = ShapesOptions()
    parser = OneLineParser(
        prog=PROG, allow_abbrev=False,
        description='Write the deterministic shapes dataset (COCO '
        'instances + seg maps, splits train/val/teach) to --out.')
    parser.add_argument('--out', default='data/shapes',
                        help='output folder (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=defaults.seed,
                        help='same seed and options, same bytes '
                        '(default: %(default)s)')
    parser.add_argument('--size', type=int, default=defaults.size,
                        help='image side in pixels (default: %(default)s)')
    parser.add_argument('--min-size', type=int, default=defaults.min_size,
                        help='smallest object diameter (default: %(default)s)')
    parser.add_argument('--max-size', type=int, default=defaults.max_size,
                        help='largest object diameter (default: %(default)s)')
    for split in ('train', 'val', 'teach'):
        parser.add_argument(f'--num-{split}', type=int,
                            default=getattr(defaults, f'num_{split}'),
                            help=f'{split} images (default: %(default)s)')
    parser.add_argument('--class-prior', choices=('uniform', 'longtail'),
                        default=defaults.class_prior,
                        help='class frequencies (default: %(default)s)')
    parser.add_argument(
        '--imbalance-ratio', type=float, default=defaults.imbalance_ratio,
        help='most / least frequent class probability for the longtail '
        'prior (default: %(default)s)')
    parser.add_argument('--noise-class-flip', type=float,
                        default=defaults.noise_class_flip, metavar='P',
                        help='train: probability of a wrong class label')
    parser.add_argument('--noise-drop-box', type=float,
                        default=defaults.noise_drop_box, metavar='P',
                        help='train: probability of a missing box')
    parser.add_argument('--noise-box-jitter', type=float,
                        default=defaults.noise_box_jitter, metavar='F',
                        help='train: move box sides by up to F x box size')
    parser.add_argument('--noise-mask-erode', type=int,
                        default=defaults.noise_mask_erode, metavar='PX',
                        help='train: erode masks and seg maps by PX pixels')
    parser.add_argument('--workers', type=int, default=2,
                        help='processes; the output does not depend on it')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an --out made with other options '
                        '(one made with the same options is left as is)')
    return parser


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse ``argv``; raises :class:`UsageError` on any bad input."""
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        flags = [arg for arg in unknown if arg.startswith('-')]
        problem = (f'unknown option {flags[0]}'
                   if flags else f'unexpected argument {unknown[0]}')
        raise UsageError(f'{problem}; see --help')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    """Run the tool; returns the exit code (2 for any bad input)."""
    try:
        args = parse_args(argv)
    except SystemExit as exit_request:  # --help
        return int(exit_request.code or 0)
    except UsageError as error:
        print(f'{PROG}: {error}', file=sys.stderr)
        return USAGE_ERROR
    options = ShapesOptions(**{
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(ShapesOptions)
    })
    try:
        generate_dataset(args.out, options, workers=args.workers,
                         overwrite=args.overwrite)
    except OptionError as error:
        print(f'{PROG}: {error}', file=sys.stderr)
        return USAGE_ERROR
    return 0


if __name__ == '__main__':
    sys.exit(main())
