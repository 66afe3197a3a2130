"""Plot how the teacher shaped the losses during one training run.

    python tools/analyze_teacher.py WORK_DIR [--out DIR]

Reads the newest run's ``vis_data/scalars.json`` in WORK_DIR (written by
tools/train.py) and draws, against the iteration: the DLN weights of every
loss term (mean and min–max band; for DynamicLossHead one line per term), the
teacher's update norm ‖βΔφ‖ and the meta-gradient norm ‖g‖, the
validation loss of the looked-ahead student before and after the teacher's
update, and the mean slope of each DLN's hidden units (near 0: saturated,
the weights flatten and the meta-gradient vanishes). From
``l2t_class_weights.jsonl`` (same run folder) it draws the mean DLN weight
per class of each classification loss, one panel per loss. From the
checkpoint named in WORK_DIR/last_checkpoint it reads where the teacher left
φ: the norm (and, for one-element tensors, the value) of every DLN
parameter, e.g. a WeightingDLN's output bias, which starts at log(e - 1).
With clean labels beside the noisy ones it also draws the noise AUC of
every DLN over training (how well low weights pick out corrupted labels;
0.5 = blind; dashed: the same among elements of one target only; the
summary gives its first and last value and its mean over the teach steps,
as the benchmark does) and,
from ``l2t_noise_elements.json``, each DLN's weight against its element's
loss at the last teach step, corrupted elements in red (the
Meta-Weight-Net figure). Writes ``teacher_analysis.png``,
``class_weights.png`` (if the run has per-class weights),
``noise_weights.png`` (if it has clean labels) and
``teacher_analysis.json``.
"""
import argparse
import json
import sys
import warnings
from collections import defaultdict
from pathlib import Path

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

from l2t_mm.benchmark.logs import run_mean_per_module  # noqa: E402
from l2t_mm.engine.log_schema import (NOISE_AUC_PREFIXES,  # noqa: E402
                                      SLOPE_PREFIX, WEIGHT_KEY,
                                      taught_in, teach_result_key)
from l2t_mm.utils.checkpoint import load_from_trusted_local  # noqa: E402
from l2t_mm.utils.run_logs import (is_training_row,  # noqa: E402
                                   read_class_weights, read_noise_elements,
                                   read_scalars)

TEACH_KEYS = ('meta_grad_norm', 'update_norm', 'val_loss_before',
              'val_loss_after')


def collect(rows: list) -> dict:
    """Series per DLN statistic and per teach-step scalar, by iteration,
    from the training rows of ``scalars.json``.

    Teach-step scalars are kept only on rows where ``l2t/teach_steps``
    advanced: other rows repeat the last value.
    """
    weights = defaultdict(lambda: defaultdict(list))
    slopes = defaultdict(list)
    noise_aucs = {name: defaultdict(list) for name in NOISE_AUC_PREFIXES}
    teach = defaultdict(list)
    steps_seen = 0
    for row in rows:
        for key, value in row.items():
            match = WEIGHT_KEY.match(key)
            if match:
                weights[match['module']][match['stat']].append(
                    (row['iter'], value))
            elif key.startswith(SLOPE_PREFIX):
                slopes[key[len(SLOPE_PREFIX):]].append((row['iter'], value))
            for name, prefix in NOISE_AUC_PREFIXES.items():
                if key.startswith(prefix):
                    noise_aucs[name][key[len(prefix):]].append(
                        (row['iter'], value))
        steps = taught_in(row, steps_seen)
        if steps is not None:
            for key in TEACH_KEYS:  # val_loss_after: learned teachers only
                if teach_result_key(key) in row:
                    teach[key].append((row['iter'],
                                       row[teach_result_key(key)]))
            steps_seen = steps
    if not weights and not teach:
        raise SystemExit('analyze_teacher.py: the run logged no l2t/ '
                         'scalars; was it trained with L2TTeacherHook?')
    return dict(weights={m: dict(s) for m, s in weights.items()},
                slopes=dict(slopes), teach=dict(teach),
                **{name: dict(series) for name, series in noise_aucs.items()},
                teach_steps=steps_seen)


def plot(series: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    panels = 5 if series['noise_auc'] else 4
    fig, axes = plt.subplots(panels, 1, figsize=(7, 3.2 * panels),
                             sharex=True)
    for module, stats in sorted(series['weights'].items()):
        for stat, points in sorted(stats.items()):
            if stat in ('min', 'max'):
                continue
            xs, ys = zip(*points)
            label = module if stat == 'mean' else f'{module}/{stat}'
            line, = axes[0].plot(xs, ys, label=label, linewidth=1)
            if stat == 'mean' and 'min' in stats and 'max' in stats:
                low = [v for _, v in stats['min']]
                high = [v for _, v in stats['max']]
                axes[0].fill_between(xs, low, high, alpha=0.15,
                                     color=line.get_color())
    axes[0].set_ylabel('DLN weight (mean, min–max)')
    axes[0].legend(fontsize=6)
    panels = ((axes[1], ('update_norm', 'meta_grad_norm'), 'norm'),
              (axes[2], ('val_loss_before', 'val_loss_after'),
               'validation loss after look-ahead'))
    for ax, keys, ylabel in panels:
        for key in keys:
            if series['teach'].get(key):
                xs, ys = zip(*series['teach'][key])
                ax.plot(xs, ys, marker='.', label=key, linewidth=1)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    axes[1].set_yscale('log')
    for module, points in sorted(series['slopes'].items()):
        xs, ys = zip(*points)
        axes[3].plot(xs, ys, label=module, linewidth=1)
    axes[3].set_ylim(0, 1.05)
    axes[3].set_ylabel('DLN hidden slope (0: saturated)')
    if series['slopes']:
        axes[3].legend(fontsize=6)
    if series['noise_auc']:
        for module, points in sorted(series['noise_auc'].items()):
            xs, ys = zip(*points)
            line, = axes[4].plot(xs, ys, marker='.', label=module,
                                 linewidth=1)
            within = series['noise_auc_within'].get(module)
            if within:
                xs, ys = zip(*within)
                axes[4].plot(xs, ys, linestyle='--', linewidth=1,
                             color=line.get_color(),
                             label=f'{module} (within target)')
        axes[4].axhline(0.5, color='grey', linewidth=0.5, linestyle=':')
        axes[4].set_ylim(0, 1)
        axes[4].set_ylabel('noise AUC (0.5: blind)')
        axes[4].legend(fontsize=6)
    axes[-1].set_xlabel('iteration')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def collect_classes(lines: list) -> dict:
    """Per classification loss: {class name: [(iter, mean weight), ...]}.
    Indices past the dataset's classes are mmdet's extra background class."""
    per_module = defaultdict(lambda: defaultdict(list))
    for line in lines:
        names = line.get('classes') or []
        for module, stats in line['modules'].items():
            for index, weight in enumerate(stats['mean']):
                if weight is None:  # no element of that class this interval
                    continue
                name = names[index] if index < len(names) else (
                    'background' if names else str(index))
                per_module[module][name].append((line['iter'], weight))
    return {module: dict(classes) for module, classes in per_module.items()}


def plot_classes(class_series: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    modules = sorted(class_series)
    fig, axes = plt.subplots(len(modules), 1, figsize=(7, 3 * len(modules)),
                             sharex=True, squeeze=False)
    for ax, module in zip(axes[:, 0], modules):
        for name, points in sorted(class_series[module].items()):
            xs, ys = zip(*points)
            ax.plot(xs, ys, label=name, linewidth=1)
        ax.axhline(1.0, color='grey', linewidth=0.5, linestyle=':')
        ax.set_title(f'{module}: mean DLN weight per class', fontsize=9)
        ax.set_ylabel('weight')
        ax.legend(fontsize=6, ncol=2)
    axes[-1, 0].set_xlabel('iteration')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_noise_elements(elements: dict, path: Path) -> None:
    """Weight against stock loss per element at the last teach step,
    corrupted elements in red: a DLN that found the noise puts them low."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    modules = sorted(elements['modules'])
    fig, axes = plt.subplots(len(modules), 1, figsize=(6, 3.2 * len(modules)),
                             squeeze=False)
    for ax, module in zip(axes[:, 0], modules):
        sample = elements['modules'][module]
        for corrupted, colour, label in ((False, 'tab:blue', 'clean'),
                                         (True, 'tab:red', 'corrupted')):
            points = [(loss, weight) for loss, weight, flag in zip(
                sample['loss'], sample['weight'], sample['corrupted'])
                      if flag == corrupted]
            if points:
                xs, ys = zip(*points)
                ax.scatter(xs, ys, s=3, alpha=0.4, color=colour, label=label)
        ax.set_xscale('log')
        ax.set_title(f"{module} at iter {elements['iter']}: noise AUC "
                     f"{sample['auc']:.3f}", fontsize=9)
        ax.set_xlabel('stock loss of the element')
        ax.set_ylabel('DLN weight')
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summarise(series: dict, rows: list) -> dict:
    """First and last mean weight of each DLN, its hidden units' slope, the
    update norms, and the noise AUCs: first, last and, from the training
    ``rows``, their mean over the teach steps as the benchmark reports it."""
    summary = dict(teach_steps=series['teach_steps'], modules={})
    for module, stats in series['weights'].items():
        if 'mean' in stats:
            summary['modules'][module] = dict(
                first_mean=stats['mean'][0][1], last_mean=stats['mean'][-1][1],
                last_min=stats.get('min', [[None, None]])[-1][1],
                last_max=stats.get('max', [[None, None]])[-1][1])
        else:  # DynamicLossHead: one series per loss term
            summary['modules'][module] = {
                term: points[-1][1] for term, points in stats.items()}
    summary['classes'] = {
        module: {name: dict(first=points[0][1], last=points[-1][1])
                 for name, points in classes.items()}
        for module, classes in series.get('classes', {}).items()
    }
    summary['slopes'] = {
        module: dict(first=points[0][1], last=points[-1][1],
                     min=min(value for _, value in points))
        for module, points in series['slopes'].items()
    }
    for key, prefix in NOISE_AUC_PREFIXES.items():
        run_means = run_mean_per_module(rows, prefix)
        summary[key] = {
            module: dict(first=points[0][1], last=points[-1][1],
                         run_mean=run_means[module])
            for module, points in series[key].items()
        }
    updates = [v for _, v in series['teach'].get('update_norm', [])]
    if updates:
        summary['update_norm'] = dict(first=updates[0], last=updates[-1],
                                      max=max(updates))
    return summary


def read_dln_parameters(work_dir: Path, modules: list) -> dict:
    """Per DLN module: {parameter name: {'norm', 'value'?}} from the
    checkpoint mmengine marked as the latest in ``work_dir``; empty if there
    is none. Looked up inside ``work_dir`` by file name, so a run folder
    copied elsewhere still finds its own checkpoint."""
    marker = work_dir / 'last_checkpoint'
    if not marker.is_file():
        return {}
    checkpoint = work_dir / Path(marker.read_text().strip()).name
    if not checkpoint.is_file():
        return {}
    state = load_from_trusted_local(str(checkpoint),
                                    map_location='cpu')['state_dict']
    parameters = {}
    for module in modules:
        prefix = f'{module}.dln.'
        parameters[module] = {}
        for key, tensor in state.items():
            if not key.startswith(prefix):
                continue
            entry = dict(norm=tensor.float().norm().item())
            if tensor.numel() == 1:
                entry['value'] = tensor.item()
            parameters[module][key[len(prefix):]] = entry
    return parameters


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir', help='work dir of an L2T training run')
    parser.add_argument('--out', help='output folder (default: work_dir)')
    args = parser.parse_args(argv)
    if not Path(args.work_dir).is_dir():
        print(f'analyze_teacher.py: {args.work_dir!r} is not a folder',
              file=sys.stderr)
        return 2
    out = Path(args.out or args.work_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = [row for row in read_scalars(args.work_dir)
            if is_training_row(row)]
    series = collect(rows)
    series['classes'] = collect_classes(read_class_weights(args.work_dir))
    plot(series, out / 'teacher_analysis.png')
    written = [out / 'teacher_analysis.png']
    if series['classes']:
        plot_classes(series['classes'], out / 'class_weights.png')
        written.append(out / 'class_weights.png')
    elements = read_noise_elements(args.work_dir)
    if elements:
        plot_noise_elements(elements, out / 'noise_weights.png')
        written.append(out / 'noise_weights.png')
    summary = summarise(series, rows)
    summary['dln_parameters'] = read_dln_parameters(
        Path(args.work_dir), sorted(summary['modules']))
    (out / 'teacher_analysis.json').write_text(json.dumps(
        dict(summary=summary, series=series), indent=1))
    print(json.dumps(summary, indent=1))
    print(f'wrote {", ".join(str(path) for path in written)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
