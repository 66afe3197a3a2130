"""Probe the DLN meta-gradient of an L2T config over many batches.

    python tools/probe_meta_gradient.py configs/fcn_l2t.py CHECKPOINT \
        --data-root data/shapes_colour_noisy40 [--batches 16] [--progress 0]
        [--seed 0] [--out probe.json]

At the student (and φ) of CHECKPOINT, computes the meta-gradient g of N
(training batch, teach batch) pairs and scores three directions a teacher
could step along by the noise AUC of the resulting DLN weights (0.5: blind,
above: corrupted labels weighted down): each pair's own step, the sign of
Σ g (what Adam's direction follows: large g outvote the rest) and the sign
of Σ g/‖g‖ (one vote per pair); see l2t_mm/engine/meta_gradient_probe.py.
The look-ahead steps at the optimizer's base lr with fresh momentum (set
``custom_hooks.N.lookahead_lr`` for the lr of a later point of the
schedule); ℓ_val is the hook's own (``custom_hooks.N.val_loss``), and so
is ``lookahead_direction_only``. Needs a
dataset with clean labels beside the noisy ones. Trains nothing.
"""
import argparse
import json
import math
import os.path as osp
import sys
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

from l2t_mm.utils.launch import (LaunchError, add_common_arguments,  # noqa
                                 check_dataset_folders, check_teach_folders,
                                 run)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument('checkpoint', help='checkpoint of the student (an '
                        "L2T run's also sets φ; a baseline's leaves φ at "
                        'identity)')
    parser.add_argument('--batches', type=int, default=16,
                        help='batch pairs to probe, at most one pass over '
                        'the teach split (default 16)')
    parser.add_argument('--progress', type=float, default=0.0,
                        help='training progress t/T the DLNs see (default 0)')
    parser.add_argument('--step-size', type=float, default=None,
                        help="step along each direction's sign (default: "
                        "the hook's dln_lr)")
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the batches drawn (default 0)')
    parser.add_argument('--out', help='write the report as JSON here')
    return parser.parse_args(argv)


def option_error(args: argparse.Namespace) -> str:
    """One line naming a bad option, or ''."""
    if args.batches < 1:
        return f'--batches must be >= 1, got {args.batches}'
    if not 0.0 <= args.progress <= 1.0:
        return f'--progress must be in [0, 1], got {args.progress}'
    if args.step_size is not None and args.step_size <= 0:
        return f'--step-size must be > 0, got {args.step_size}'
    if args.launcher != 'none':
        return ('--launcher: the probe runs in one process; drop '
                f'--launcher {args.launcher}')
    if not osp.isfile(args.checkpoint):
        return f'checkpoint {args.checkpoint!r} does not exist'
    return ''


def prepare(args: argparse.Namespace):
    """The config edit: a teacher hook is required, the seed is set."""
    from l2t_mm.benchmark.variants import is_teacher_hook

    def edit(cfg) -> None:
        if not any(is_teacher_hook(hook)
                   for hook in cfg.get('custom_hooks', [])):
            raise LaunchError('the config has no L2TTeacherHook in '
                              'custom_hooks: probe an L2T config (e.g. '
                              'configs/fcn_l2t.py)')
        check_dataset_folders(cfg, ('train_dataloader', ))
        check_teach_folders(cfg)
        cfg.randomness = dict(cfg.get('randomness', {}), seed=args.seed)

    return edit


def load_student(runner, path: str, dln_names) -> str:
    """Load ``path`` into the model; say where φ comes from. Refuses a
    checkpoint that holds none of the student's parameters."""
    from mmengine.runner.checkpoint import load_state_dict

    from l2t_mm.utils.checkpoint import (load_from_trusted_local,
                                         model_state_dict)
    state = model_state_dict(load_from_trusted_local(path, map_location='cpu'))
    names = {name for name, _ in runner.model.named_parameters()}
    dln_names = set(dln_names)
    if not (names - dln_names) & state.keys():
        raise LaunchError(f'{path} holds none of this model\'s parameters: '
                          'pass a checkpoint trained with this model')
    load_state_dict(runner.model, state, strict=False, logger=runner.logger)
    return ('from the checkpoint' if dln_names <= state.keys() else
            'at identity (the checkpoint has no DLN parameters)')


def has_corrupted_labels(model, train_data: dict, progress: float) -> bool:
    """Whether the batch has clean labels and a DLN element whose label
    differs from them."""
    from l2t_mm.engine.noise_diagnostic import clean_labelled, noise_reports
    clean_data = clean_labelled(train_data)
    return clean_data is not None and any(
        report.num_corrupted > 0 for report in noise_reports(
            model, train_data, clean_data, progress=progress).values())


def probe(runner, args) -> dict:
    from l2t_mm.engine import L2TTeacherHook
    from l2t_mm.engine.meta_gradient_probe import probe_meta_gradients
    from l2t_mm.engine.student_step import StudentStep
    from l2t_mm.engine.teach_step import partition_parameters

    hook = next(hook for hook in runner.hooks
                if isinstance(hook, L2TTeacherHook))
    model = runner.model
    partition = partition_parameters(model, hook.lookahead_params)
    phi_from = load_student(runner, args.checkpoint, partition.dln)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    params = dict(model.named_parameters())
    student_step = StudentStep(
        runner.optim_wrapper.optimizer,
        {name: params[name] for name in partition.student}, hook.lookahead_lr)
    train_loader = runner.build_dataloader(runner.cfg.train_dataloader,
                                           seed=runner.seed)
    teach_loader = runner.build_dataloader(hook.teach_dataloader_cfg,
                                           seed=runner.seed)
    if args.batches > len(teach_loader):
        raise LaunchError(
            f'--batches {args.batches} exceeds the {len(teach_loader)} '
            'batches of the teach split: pairs would repeat teach batches')
    pairs = []
    for train, teach in zip(train_loader, teach_loader):
        pairs.append((model.data_preprocessor(train, True),
                      model.data_preprocessor(teach, True)))
        if len(pairs) == args.batches:
            break
    if len(pairs) < args.batches:
        raise LaunchError(f'the training split gave {len(pairs)} batches, '
                          f'fewer than --batches {args.batches}')
    if not any(has_corrupted_labels(model, train, args.progress)
               for train, _ in pairs):
        raise LaunchError(
            'no training batch has a corrupted label beside its clean one, '
            'so there is nothing for the noise AUC to find: point '
            '--data-root at a dataset made by tools/make_dataset.py with '
            '--noise-class-flip/--noise-drop-box')
    step_size = hook.dln_lr if args.step_size is None else args.step_size
    lrs = sorted({group['lr'] for group in
                  runner.optim_wrapper.optimizer.param_groups})
    model.train()
    report = probe_meta_gradients(
        model, partition, student_step, pairs, step_size=step_size,
        progress=args.progress, objective=hook.meta_objective(runner))
    return dict(
        checkpoint=args.checkpoint, phi=phi_from, seed=args.seed,
        progress=args.progress, step_size=step_size,
        lookahead_lr=hook.lookahead_lr if hook.lookahead_lr else lrs,
        teacher=hook.teacher_cfg.get('type'), val_loss=hook.val_loss,
        lookahead_direction_only=hook.lookahead_direction_only,
        mean_cosine=_finite_or_none(report.mean_cosine),
        batches=[dict(meta_grad_norm=float(batch.meta_grad.norm()),
                      val_loss=batch.val_loss,
                      own_auc=_finite_values(batch.own_auc))
                 for batch in report.batches],
        aggregate_auc={name: _finite_values(aucs)
                       for name, aucs in report.aggregate_auc.items()})


def _finite_or_none(value: float):
    return value if math.isfinite(value) else None  # strict JSON: no NaN


def _finite_values(values: dict) -> dict:
    return {name: _finite_or_none(value) for name, value in values.items()}


def format_report(result: dict) -> str:
    modules = sorted({name for batch in result['batches']
                      for name in batch['own_auc']})

    def auc(value) -> str:
        return 'n/a' if value is None else f'{value:.3f}'

    lines = [f'student and φ of {result["checkpoint"]} (φ '
             f'{result["phi"]}); look-ahead lr {result["lookahead_lr"]}, '
             'fresh momentum'
             + (', φ through the direction of the look-ahead gradient only'
                if result['lookahead_direction_only'] else '')
             + f'; steps of a fresh AdamTeacher (sign g, '
             f'size {result["step_size"]}); seed {result["seed"]}',
             '| pair | ‖g‖ | ' + ' | '.join(f'AUC {name}'
                                            for name in modules) + ' |',
             '|---|---|' + '---|' * len(modules)]
    for index, batch in enumerate(result['batches']):
        lines.append(f'| {index} | {batch["meta_grad_norm"]:.2e} | ' +
                     ' | '.join(auc(batch['own_auc'].get(name))
                                for name in modules) + ' |')
    down = [sum(1 for batch in result['batches']
                if (batch['own_auc'].get(name) is not None
                    and batch['own_auc'][name] > 0.5))
            for name in modules]
    lines.append('| own step weights corrupted down | | ' + ' | '.join(
        f'{count} of {len(result["batches"])}' for count in down) + ' |')
    for name, values in result['aggregate_auc'].items():
        lines.append(f'| {name} | | ' + ' | '.join(
            auc(values.get(module)) for module in modules) + ' |')
    cosine = result['mean_cosine']
    lines.append('mean cosine between pairs: ' +
                 ('n/a' if cosine is None else f'{cosine:.3f}'))
    if result['teacher'] not in (None, 'AdamTeacher'):
        lines.append(f'(the config teaches with {result["teacher"]}; the '
                     'steps above are those of a fresh AdamTeacher)')
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    error = option_error(args)
    if error:
        print(f'probe_meta_gradient.py: {error}', file=sys.stderr)
        return 2
    if args.work_dir is None:
        args.work_dir = osp.join('work_dirs', 'probe')

    def action(runner, task: str) -> None:
        result = probe(runner, args)
        print(format_report(result))
        if args.out:
            with open(args.out, 'w') as file:
                json.dump(result, file, indent=1)

    return run('probe_meta_gradient.py', args, prepare(args), action)


if __name__ == '__main__':
    sys.exit(main())
