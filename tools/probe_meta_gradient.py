"""Probe the DLN meta-gradient of an L2T config over many batches.

    python tools/probe_meta_gradient.py configs/fcn_l2t.py CHECKPOINT \
        --data-root data/shapes_colour_noisy40 [--batches 16] [--progress 0]
        [--out probe.json]

At the student (and φ) of CHECKPOINT, computes the meta-gradient g of N
(training batch, teach batch) pairs and scores three directions a teacher
could step along by the noise AUC of the resulting DLN weights (0.5: blind,
above: corrupted labels weighted down): each pair's own step, the sign of
Σ g (what Adam's direction follows: large g outvote the rest) and the sign
of Σ g/‖g‖ (one vote per pair); see l2t_mm/engine/meta_gradient_probe.py.
Needs a dataset with clean labels beside the noisy ones. Trains nothing.
"""
import argparse
import itertools
import json
import os.path as osp
import sys
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

from l2t_mm.utils.launch import (LaunchError, add_common_arguments,  # noqa
                                 run)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument('checkpoint', help='checkpoint of the student (an '
                        "L2T run's also sets φ; a baseline's leaves φ at "
                        'identity)')
    parser.add_argument('--batches', type=int, default=16,
                        help='batch pairs to probe (default 16)')
    parser.add_argument('--progress', type=float, default=0.0,
                        help='training progress t/T the DLNs see (default 0)')
    parser.add_argument('--step-size', type=float, default=None,
                        help="step along each direction's sign (default: "
                        "the hook's dln_lr)")
    parser.add_argument('--out', help='write the report as JSON here')
    return parser.parse_args(argv)


def require_teacher_hook(cfg) -> None:
    from l2t_mm.benchmark.variants import is_teacher_hook
    if not any(is_teacher_hook(hook) for hook in cfg.get('custom_hooks', [])):
        raise LaunchError('the config has no L2TTeacherHook in custom_hooks: '
                          'probe an L2T config (e.g. configs/fcn_l2t.py)')


def probe(runner, args) -> dict:
    import torch

    from l2t_mm.engine import L2TTeacherHook
    from l2t_mm.engine.meta_gradient_probe import probe_meta_gradients
    from l2t_mm.engine.student_step import StudentStep
    from l2t_mm.engine.teach_step import partition_parameters

    hook = next(hook for hook in runner.hooks
                if isinstance(hook, L2TTeacherHook))
    runner.load_checkpoint(args.checkpoint, strict=False)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    model = runner.model
    partition = partition_parameters(model, hook.lookahead_params)
    params = dict(model.named_parameters())
    student_step = StudentStep(
        runner.optim_wrapper.optimizer,
        {name: params[name] for name in partition.student}, hook.lookahead_lr)
    train_loader = runner.build_dataloader(runner.cfg.train_dataloader,
                                           seed=runner.seed)
    teach_loader = runner.build_dataloader(hook.teach_dataloader_cfg,
                                           seed=runner.seed)
    pairs = ((model.data_preprocessor(train, True),
              model.data_preprocessor(teach, True))
             for train, teach in itertools.islice(
                 zip(train_loader, itertools.cycle(teach_loader)),
                 args.batches))
    step_size = args.step_size if args.step_size else hook.dln_lr
    model.train()
    report = probe_meta_gradients(
        model, partition, student_step, pairs, step_size=step_size,
        progress=args.progress, lookahead_steps=hook.lookahead_steps,
        max_grad_norm=hook.lookahead_clip(runner))
    norms = torch.stack([batch.meta_grad.norm() for batch in report.batches])
    return dict(
        checkpoint=args.checkpoint, progress=args.progress,
        step_size=step_size, mean_cosine=report.mean_cosine,
        batches=[dict(meta_grad_norm=float(norm), val_loss=batch.val_loss,
                      own_auc=batch.own_auc)
                 for norm, batch in zip(norms, report.batches)],
        aggregate_auc=report.aggregate_auc)


def format_report(result: dict) -> str:
    modules = sorted({name for batch in result['batches']
                      for name in batch['own_auc']})

    def aucs(values: dict) -> str:
        return ' | '.join(f'{values.get(name, float("nan")):.3f}'
                          for name in modules)

    lines = ['| pair | ‖g‖ | ' + ' | '.join(f'AUC {name}'
                                            for name in modules) + ' |',
             '|---|---|' + '---|' * len(modules)]
    for index, batch in enumerate(result['batches']):
        lines.append(f'| {index} | {batch["meta_grad_norm"]:.2e} | '
                     f'{aucs(batch["own_auc"])} |')
    for name, values in result['aggregate_auc'].items():
        lines.append(f'| {name} | | {aucs(values)} |')
    lines.append(f'mean cosine between pairs: {result["mean_cosine"]:.3f}')
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.batches < 1:
        print('probe_meta_gradient.py: --batches must be >= 1',
              file=sys.stderr)
        return 2
    if not osp.isfile(args.checkpoint):
        print(f'probe_meta_gradient.py: checkpoint {args.checkpoint!r} does '
              'not exist', file=sys.stderr)
        return 2
    if args.work_dir is None:
        args.work_dir = osp.join('work_dirs', 'probe')

    def action(runner, task: str) -> None:
        result = probe(runner, args)
        print(format_report(result))
        if args.out:
            with open(args.out, 'w') as file:
                json.dump(result, file, indent=1)

    return run('probe_meta_gradient.py', args, require_teacher_hook, action)


if __name__ == '__main__':
    sys.exit(main())
