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

from l2t_mm.datasets.shapes import (FLIP_MODES, PRESETS, OptionError,
                                    ShapesOptions, generate_dataset,
                                    preset_options)

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
    """The CLI; every ``ShapesOptions`` field is a flag. Flags left out
    take the ``--preset``'s value, so their parser default is ``None`` and
    the help shows the 'hard' preset's (the default) value."""
    defaults = PRESETS['hard']
    parser = OneLineParser(
        prog=PROG, allow_abbrev=False,
        description='Write the deterministic shapes dataset (COCO '
        'instances + seg maps, splits train/val/teach) to --out.')
    parser.add_argument('--out', default='data/shapes',
                        help='output folder (default: %(default)s)')
    parser.add_argument(
        '--preset', choices=sorted(PRESETS), default='hard',
        help="starting values of the options below: 'hard' (long-tailed, "
        "mostly small objects) or 'easy' (balanced classes, objects of "
        f"{PRESETS['easy'].min_size}-{PRESETS['easy'].max_size} px); "
        'flags given override them (default: %(default)s)')

    def option(flag: str, help_text: str, **kwargs) -> None:
        field = flag.lstrip('-').replace('-', '_')
        parser.add_argument(
            flag, default=None,
            help=f'{help_text} (hard: {getattr(defaults, field)})', **kwargs)

    option('--seed', 'same seed and options, same bytes', type=int)
    option('--size', 'image side in pixels', type=int)
    option('--min-size', 'smallest object diameter', type=int)
    option('--max-size', 'largest object diameter', type=int)
    for split in ('train', 'val', 'teach'):
        option(f'--num-{split}', f'{split} images', type=int)
    option('--class-prior', 'class frequencies',
           choices=('uniform', 'longtail'))
    parser.add_argument(
        '--class-colours', action='store_true', default=None,
        help='tint each object with its class colour, so classes are told '
        'apart by colour as well as outline (hard: off)')
    option('--imbalance-ratio', 'most / least frequent class probability '
           'for the longtail prior', type=float)
    option('--noise-class-flip', 'train: probability of a wrong class label',
           type=float, metavar='P')
    option('--noise-flip-mode', "train: where a flipped label goes: "
           "'uniform' (any other class) or 'pair' (always the next class; "
           "needs --noise-class-flip > 0)",
           choices=FLIP_MODES)
    option('--noise-drop-box', 'train: probability of a missing box',
           type=float, metavar='P')
    option('--noise-box-jitter', 'train: move box sides by up to F x box '
           'size', type=float, metavar='F')
    option('--noise-mask-erode', 'train: erode masks and seg maps by PX '
           'pixels', type=int, metavar='PX')
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
    try:
        options = preset_options(args.preset, **{
            field.name: getattr(args, field.name)
            for field in dataclasses.fields(ShapesOptions)
            if getattr(args, field.name) is not None
        })
        generate_dataset(args.out, options, workers=args.workers,
                         overwrite=args.overwrite)
    except OptionError as error:
        print(f'{PROG}: {error}', file=sys.stderr)
        return USAGE_ERROR
    return 0


if __name__ == '__main__':
    sys.exit(main())
