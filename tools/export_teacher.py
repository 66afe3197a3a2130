"""Write the teacher of an L2T run alone, to start other runs from it.

    python tools/export_teacher.py RUN_DIR_OR_CHECKPOINT [--out FILE]

RUN_DIR: the checkpoint its ``last_checkpoint`` names, else its newest
``iter_*.pth`` / ``epoch_*.pth``. The file (default
``teacher_<checkpoint>.pth`` beside the checkpoint) holds the teacher's
record without its optimizer and counters (type, config, task, ψ and its
memory, the coordinate layout, every DLN's φ) plus the run's config text,
the checkpoint's path and iteration; only tensors and plain values, so
``torch.load(weights_only=True)`` reads it. Use it with
``L2TTeacherHook.init_teacher=dict(checkpoint=FILE)`` (README, "Reusing a
teacher"). Exit code 2 with one line when there is nothing to export.
"""
import argparse
import sys
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

from l2t_mm.engine.teacher_transfer import (TeacherSourceError,  # noqa: E402
                                            describe, export_teacher)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('source', help='run folder or checkpoint of an L2T '
                        'training run')
    parser.add_argument('--out', help='teacher file to write (default: '
                        'teacher_<checkpoint name>.pth beside the checkpoint)')
    args = parser.parse_args(argv)
    try:
        out, record = export_teacher(args.source, args.out)
    except TeacherSourceError as error:
        print(f'export_teacher.py: {error}', file=sys.stderr)
        return 2
    print(f'wrote {out} ({describe(record)}, from {record["source"]}); '
          f"start a run from it with L2TTeacherHook.init_teacher="
          f"dict(checkpoint='{out}')")
    return 0


if __name__ == '__main__':
    sys.exit(main())
