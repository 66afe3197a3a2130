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
``benchmark.json`` and PNG curves to ``--out``.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

import psutil  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from l2t_mm.engine.log_schema import (NOISE_AUC_PREFIX,  # noqa: E402
                                      TEACH_TIME, taught_in)
from l2t_mm.engine.teacher_transfer import (TeacherSourceError,  # noqa: E402
                                            find_checkpoint)
from l2t_mm.utils.derive import derive_pair  # noqa: E402
from l2t_mm.utils.launch import load_config, task_of  # noqa: E402
from l2t_mm.utils.run_logs import (read_per_class_iou,  # noqa: E402
                                   read_scalars)

METRICS = {
    'detection': ['coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_s'],
    'segmentation': ['mIoU', 'aAcc'],
}
WARMUP_ITERS = 3  # first iterations pay for lazy initialisation
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
                        'tools/export_teacher.py (L2TTeacherHook.init_teacher'
                        ' with every part; README, "Reusing a teacher")')
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


def baseline_twin(config: str) -> str:
    path = Path(config)
    if not path.stem.endswith('_l2t'):
        raise SystemExit(f'benchmark.py: cannot derive the baseline of '
                         f'{config}; pass --baseline CONFIG')
    twin = path.with_name(path.stem[:-len('_l2t')] + '_baseline.py')
    if not twin.is_file():
        raise SystemExit(f'benchmark.py: baseline twin {twin} does not '
                         'exist; pass --baseline CONFIG')
    return str(twin)


def variants(config: str, baseline: str, peers: List[str]) -> List[tuple]:
    """(name, config) of every variant; a peer is named by what its file name
    adds to the L2T config's prefix (configs/yolo_uw.py -> 'uw')."""
    prefix = Path(config).stem[:-len('l2t')]
    named = [('baseline', baseline), ('l2t', config)]
    for peer in peers:
        if not Path(peer).is_file():
            raise SystemExit(f'benchmark.py: --peers: {peer} does not exist')
        stem = Path(peer).stem
        name = stem[len(prefix):] if stem.startswith(prefix) else stem
        if name in dict(named):
            raise SystemExit(f'benchmark.py: --peers: {peer} would be named '
                             f'{name!r} like another variant; rename it')
        named.append((name, peer))
    return named


def write_derived_pair(config: str, out: Path,
                       teach_fraction: float) -> Tuple[str, str]:
    """Derive (L2T, baseline) from a stock config into ``out``; their paths.
    """
    try:
        baseline, l2t = derive_pair(load_config(config), teach_fraction)
    except ValueError as error:
        raise SystemExit(f'benchmark.py: {error}') from None
    paths = out / 'derived_l2t.py', out / 'derived_baseline.py'
    l2t.dump(paths[0])
    baseline.dump(paths[1])
    print(f'[benchmark] derived {paths[0]} and {paths[1]} from {config}',
          file=sys.stderr)
    return str(paths[0]), str(paths[1])


def run_options(args: argparse.Namespace, max_iters: int, seed: int) -> list:
    """--cfg-options shared by both variants of one seed."""
    val_interval = max(1, max_iters // max(1, args.evals))
    options = {
        'randomness.seed': seed,
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': val_interval,
        'default_hooks.checkpoint.interval': max_iters,
        'default_hooks.logger.interval': 1,
        # Raw per-iteration times in the log, not a 10-iteration mean.
        'log_processor.window_size': 1,
    }
    if args.val_images:
        options['val_dataloader.dataset.indices'] = args.val_images
    options.update(args.cfg_options)
    return [f'{key}={value}' for key, value in options.items()]


def teach_interval(config: str, override: Optional[int]) -> int:
    """The L2T config's teach interval (the timing window of both runs)."""
    if override is not None:
        return override
    hooks = load_config(config).get('custom_hooks', [])
    return next((hook.get('interval', 10) for hook in hooks
                 if hook.get('type') == 'L2TTeacherHook'), 10)


def teacher_hook_index(config: str, flag: str) -> int:
    """Position of L2TTeacherHook in the config's custom_hooks."""
    hooks = load_config(config).get('custom_hooks', [])
    index = next((i for i, hook in enumerate(hooks)
                  if hook.get('type') == 'L2TTeacherHook'), None)
    if index is None:
        raise SystemExit(f'benchmark.py: {flag}: {config} has no '
                         'L2TTeacherHook in custom_hooks')
    return index


def teach_interval_option(config: str, interval: Optional[int]) -> list:
    """--cfg-options entry setting the teacher hook's interval, if asked."""
    if interval is None:
        return []
    index = teacher_hook_index(config, '--teach-interval')
    return [f'custom_hooks.{index}.interval={interval}']


def init_teacher_option(config: str, teacher_from: Optional[str]) -> list:
    """--cfg-options entry starting the teacher from a trained one, if
    asked. A run folder is resolved to its checkpoint here, once, so the
    runs (and --reuse-runs, which compares options) name the file used."""
    if teacher_from is None:
        return []
    try:
        path = find_checkpoint(teacher_from).resolve()
    except TeacherSourceError as error:
        raise SystemExit(f'benchmark.py: --teacher-from: {error}') from None
    index = teacher_hook_index(config, '--teacher-from')
    return [f'custom_hooks.{index}.init_teacher.checkpoint={path}']


def train_and_measure(config: str, work_dir: Path, options: list,
                      data_root: Optional[str], reuse: bool = False) -> dict:
    """Run tools/train.py, sampling the RSS of its process tree. With
    ``reuse``, a run that finished before (``measurement.json`` written at
    its end) is read back instead of trained again."""
    work_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(REPO / 'tools' / 'train.py'), config,
               '--work-dir', str(work_dir)]
    if data_root:
        command += ['--data-root', data_root]
    command += ['--cfg-options', *options]
    measurement = work_dir / 'measurement.json'
    settings = dict(config=config, options=options, data_root=data_root)
    if reuse and measurement.is_file():
        earlier = json.loads(measurement.read_text())
        recorded = earlier.get('settings')
        if recorded is None:
            print(f'[benchmark] {work_dir} does not record its settings; '
                  'reusing it as if they matched', file=sys.stderr)
        if recorded in (None, settings):
            print(f'[benchmark] reusing the finished run in {work_dir}',
                  file=sys.stderr)
            return dict(peak_rss_mb=earlier['peak_rss_mb'],
                        wall_time_s=earlier['wall_time_s'])
        print(f'[benchmark] {work_dir} was trained with other settings '
              f'({recorded}); training it again', file=sys.stderr)
    start = time.perf_counter()
    with open(work_dir / 'benchmark_stdout.log', 'w') as log:
        process = psutil.Popen(command, cwd=REPO, stdout=log,
                               stderr=subprocess.STDOUT)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss(process))
            time.sleep(0.2)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        tail = (work_dir / 'benchmark_stdout.log').read_text()[-2000:]
        raise SystemExit(f'benchmark.py: training {config} failed '
                         f'(exit {process.returncode}):\n{tail}')
    measured = dict(peak_rss_mb=peak / 2**20, wall_time_s=wall)
    measurement.write_text(json.dumps(dict(measured, settings=settings)))
    return measured


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total


def robust_time_per_iter(times: List[float], window: int) -> float:
    """Median over consecutive windows of ``window`` iterations of their
    mean time. A window as long as the teach interval holds exactly one teach
    step, so the teaching cost is counted, while a burst of load from another
    process on this (shared, noisy) machine moves only a few windows."""
    timed = times[WARMUP_ITERS:] or times
    windows = [timed[i:i + window] for i in range(0, len(timed), window)]
    full = [w for w in windows if len(w) == window] or windows
    return statistics.median(statistics.mean(w) for w in full)


def summarise_run(work_dir: Path, task: str, window: int) -> dict:
    rows = read_scalars(work_dir)
    train_rows = [r for r in rows if 'iter' in r and 'loss' in r]
    # A validation row's own 'step' is the epoch when metrics are logged by
    # epoch; the iteration it belongs to is that of the train row before it.
    val_rows, last_iter = [], 0
    for row in rows:
        if 'iter' in row:
            last_iter = row['iter']
        else:
            val_rows.append(dict(row, step=last_iter))
    teach_times, previous_steps = [], 0
    for row in train_rows:
        steps = taught_in(row, previous_steps)
        teach_times.append(0.0 if steps is None else row[TEACH_TIME])
        previous_steps = steps or previous_steps
    # IterTimerHook times an iteration from one after_train_iter to the next,
    # so a teach step is counted in the *next* iteration's time; the final
    # iteration's teach step is in no row and is added here.
    times = [row['time'] for row in train_rows]
    times[-1] += teach_times[-1]
    final = val_rows[-1] if val_rows else {}
    metrics = {name: final.get(name) for name in METRICS[task]}
    # The last noise AUC each DLN logged (runs on data with clean labels).
    noise_auc = {}
    for row in train_rows:
        for key, value in row.items():
            if key.startswith(NOISE_AUC_PREFIX):
                noise_auc[key[len(NOISE_AUC_PREFIX):]] = value
    result = dict(
        metrics=metrics,
        noise_auc=noise_auc,
        time_per_iter_s=robust_time_per_iter(times, window),
        time_per_iter_mean_s=statistics.mean(times[WARMUP_ITERS:] or times),
        teach_time_share=sum(teach_times) / sum(times),
        teach_steps=previous_steps,
        curves=dict(
            loss=[[r['iter'], r['loss']] for r in train_rows],
            val=[[r['step'], {n: r.get(n) for n in METRICS[task]}]
                 for r in val_rows]))
    if task == 'segmentation':
        result['per_class_iou'] = read_per_class_iou(work_dir)
    return result


def classification_noise_auc(run: dict) -> Optional[float]:
    """The final noise AUC of the run's classification DLN (a detector's
    ``loss_cls``, a segmenter's decode head), the one whose labels the
    class flips corrupt; ``None`` without one."""
    for module, value in sorted(run.get('noise_auc', {}).items()):
        if module.endswith('loss_cls') or module.startswith('decode_head'):
            return value
    return None


def mean_std(values: List[Optional[float]]) -> Dict[str, Optional[float]]:
    present = [v for v in values if v is not None]
    if not present:
        return dict(mean=None, std=None, n=0)
    std = statistics.stdev(present) if len(present) > 1 else 0.0
    return dict(mean=statistics.mean(present), std=std, n=len(present))


def summarise(runs: List[dict], task: str) -> dict:
    """Per variant: mean ± std of every metric and cost; ``ratios`` and
    ``delta``: each other variant against the baseline (means)."""
    names = list(dict.fromkeys(r['variant'] for r in runs))
    summary = {}
    for variant in names:
        group = [r for r in runs if r['variant'] == variant]
        summary[variant] = {
            name: mean_std([r['metrics'][name] for r in group])
            for name in METRICS[task]
        }
        for key in ('time_per_iter_s', 'time_per_iter_mean_s', 'peak_rss_mb',
                    'teach_time_share'):
            summary[variant][key] = mean_std([r[key] for r in group])
        summary[variant]['noise_auc'] = mean_std(
            [classification_noise_auc(r) for r in group])
    base = summary['baseline']
    others = [name for name in names if name != 'baseline']
    summary['ratios'] = {
        variant: {key: summary[variant][key]['mean'] / base[key]['mean']
                  for key in ('time_per_iter_s', 'peak_rss_mb')}
        for variant in others
    }
    summary['delta'] = {
        variant: {
            name: (None if summary[variant][name]['mean'] is None
                   or base[name]['mean'] is None else
                   summary[variant][name]['mean'] - base[name]['mean'])
            for name in METRICS[task]
        }
        for variant in others
    }
    return summary


def _fmt(value, digits: int = 3) -> str:
    return 'n/a' if value is None else f'{value:.{digits}f}'


def markdown(report: dict) -> str:
    task = report['benchmark']['task']
    names = METRICS[task]
    header = ['variant', 'seed', *names, 'noise AUC', 's/iter',
              'teach share', 'peak RSS (MB)']
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    for run in report['runs']:
        lines.append('| ' + ' | '.join([
            run['variant'], str(run['seed']),
            *[_fmt(run['metrics'][n]) for n in names],
            _fmt(classification_noise_auc(run)),
            _fmt(run['time_per_iter_s']), _fmt(run['teach_time_share']),
            _fmt(run['peak_rss_mb'], 0)
        ]) + ' |')
    summary = report['summary']
    variant_names = list(dict.fromkeys(r['variant'] for r in report['runs']))
    for variant in variant_names:
        s = summary[variant]
        cells = [f"{_fmt(s[n]['mean'])} ± {_fmt(s[n]['std'])}"
                 for n in names]
        lines.append('| ' + ' | '.join([
            f'**{variant} mean ± std**', '', *cells,
            f"{_fmt(s['noise_auc']['mean'])} ± {_fmt(s['noise_auc']['std'])}",
            _fmt(s['time_per_iter_s']['mean']),
            _fmt(s['teach_time_share']['mean']),
            _fmt(s['peak_rss_mb']['mean'], 0)
        ]) + ' |')
    lines.append('')
    for variant, ratios in summary['ratios'].items():
        delta = summary['delta'][variant][names[0]]
        lines.append(f"{variant} / baseline (runs measured together): time "
                     f"per iteration {ratios['time_per_iter_s']:.2f}x, peak "
                     f"RSS {ratios['peak_rss_mb']:.2f}x, {names[0]} "
                     f'{_fmt(delta, 4)} (mean difference).')
    lines.append('noise AUC: how well low weights of the classification '
                 'DLN pick out corrupted labels at the last teach step (0.5: '
                 'blind; n/a without clean labels or teacher).')
    lines.append(f"s/iter is the median over windows of "
                 f"{report['benchmark']['timing_window']} iterations (one "
                 'teach interval) of their mean time.')
    return '\n'.join(lines)


def plot(report: dict, out: Path) -> List[str]:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    task = report['benchmark']['task']
    metric = METRICS[task][0]
    palette = ['tab:blue', 'tab:orange', 'tab:green', 'tab:red',
               'tab:purple', 'tab:brown']
    colours = {
        variant: palette[i % len(palette)] for i, variant in
        enumerate(dict.fromkeys(r['variant'] for r in report['runs']))
    }
    written = []
    for kind, ylabel in (('val', metric), ('loss', 'training loss')):
        fig, ax = plt.subplots(figsize=(6, 4))
        for run in report['runs']:
            points = run['curves'][kind]
            if kind == 'val':
                points = [(i, v[metric]) for i, v in points
                          if v[metric] is not None]
            if not points:
                continue
            xs, ys = zip(*points)
            ax.plot(xs, ys, color=colours[run['variant']], alpha=0.8,
                    marker='o' if kind == 'val' else None, linewidth=1,
                    label=f"{run['variant']} seed {run['seed']}")
        ax.set_xlabel('iteration')
        ax.set_ylabel(ylabel)
        ax.set_title(f"{Path(report['benchmark']['l2t_config']).stem}: "
                     f'{ylabel}')
        ax.legend(fontsize=7)
        if kind == 'loss':
            ax.set_yscale('log')
        path = out / f'{kind}_curves.png'
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(str(path))
    return written


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out or REPO / 'work_dirs' / 'benchmark' /
               Path(args.config).stem)
    out.mkdir(parents=True, exist_ok=True)
    if args.derive_l2t:
        args.config, baseline = write_derived_pair(args.config, out,
                                                   args.teach_fraction)
    else:
        baseline = args.baseline or baseline_twin(args.config)
    cfg = load_config(args.config)
    task = task_of(cfg)
    max_iters = args.max_iters or cfg.train_cfg.max_iters
    window = teach_interval(args.config, args.teach_interval)
    named = variants(args.config, baseline, args.peers)
    teacher_from = init_teacher_option(args.config, args.teacher_from)
    runs = []
    for position, seed in enumerate(args.seeds):
        # Rotate who runs first per seed: slow drift of the machine's load
        # does not favour one variant.
        shift = position % len(named)
        for variant, config in named[shift:] + named[:shift]:
            work_dir = out / f'{variant}_seed{seed}'
            print(f'[benchmark] {variant} seed {seed}: {config}',
                  file=sys.stderr, flush=True)
            options = run_options(args, max_iters, seed)
            if variant == 'l2t':
                options += teach_interval_option(config, args.teach_interval)
                options += teacher_from
                options += [f'{key}={value}' for key, value in
                            args.l2t_cfg_options.items()]
            measured = train_and_measure(config, work_dir, options,
                                         args.data_root, args.reuse_runs)
            runs.append(dict(variant=variant, seed=seed, config=config,
                             work_dir=str(work_dir), **measured,
                             **summarise_run(work_dir, task, window)))
    report = dict(
        benchmark=dict(
            l2t_config=args.config, baseline_config=baseline,
            peer_configs=dict(named[2:]), derived=args.derive_l2t,
            teach_fraction=args.teach_fraction if args.derive_l2t else None,
            task=task,
            seeds=args.seeds, max_iters=max_iters, evals=args.evals,
            val_images=args.val_images, quick=args.quick,
            teach_interval=args.teach_interval, timing_window=window,
            data_root=args.data_root, cfg_options=args.cfg_options,
            l2t_cfg_options=args.l2t_cfg_options,
            teacher_from=args.teacher_from,
            cpu_count=os.cpu_count(), platform=platform.platform(),
            command=' '.join([sys.executable, *sys.argv])),
        runs=runs,
        summary=summarise(runs, task))
    report['plots'] = plot(report, out)
    (out / 'benchmark.json').write_text(json.dumps(report, indent=1))
    print(markdown(report))
    print(f'\nwrote {out / "benchmark.json"} and {", ".join(report["plots"])}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
