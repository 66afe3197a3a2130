"""The Markdown table of a benchmark report (``tools/benchmark.py``'s
stdout): one row per run, one mean ± std row per variant, then each
variant against the baseline."""
from typing import Optional

from .schema import METRICS, WARMUP_ITERS
from .statistics import NOISE_AUCS, classification_noise_auc


def fmt(value: Optional[float], digits: int = 3) -> str:
    return 'n/a' if value is None else f'{value:.{digits}f}'


def mean_std_cell(stat: dict) -> str:
    """'mean ± std' of a :func:`~.statistics.mean_std` result; one run has
    no std, so it says so; 'n/a' where nothing was measured."""
    if stat['n'] == 0:
        return 'n/a'
    if stat['n'] == 1:
        return f"{fmt(stat['mean'])} (1 run)"
    return f"{fmt(stat['mean'])} ± {fmt(stat['std'])}"


def _timing_source(report: dict, variant: str) -> str:
    """Whether a variant's ratios to the baseline come from runs trained
    together (interleaved, in one benchmark invocation) or not. A run read
    back with --reuse-runs carries the invocation that trained it; a seed's
    pair trained in one invocation is still a same-run comparison, a pair
    trained in two is not, and a run recorded before invocations were
    recorded cannot say."""
    compared = [run for run in report['runs']
                if run['variant'] in (variant, 'baseline')]
    read_back = sorted({(run['variant'], run['seed'])
                        for run in compared if run.get('read_back')})
    if not read_back:
        return 'runs measured together'
    names = ', '.join(f'{name} {seed}' for name, seed in read_back)
    pairs = {}  # seed -> its compared runs
    for run in compared:
        pairs.setdefault(run['seed'], []).append(run)
    apart = sorted(seed for seed, runs in pairs.items()
                   if _trained_apart(runs))
    if apart:
        seeds = ('seed ' if len(apart) == 1 else 'seeds ') + ', '.join(
            str(seed) for seed in apart)
        return (f'read back with --reuse-runs: {names}; not a same-run '
                f'ratio: {variant} and baseline of {seeds} were trained in '
                'different invocations')
    if all(_trained_together(runs, variant) for runs in pairs.values()):
        return (f'read back with --reuse-runs: {names}; each seed\'s runs '
                'were trained together, in one invocation')
    return (f'read back with --reuse-runs: {names}; a same-run ratio only '
            'if they were trained next to the runs they are compared with')


def _trained_apart(runs: list) -> bool:
    """A run trained now and one read back, or two known invocations."""
    known = {run['invocation'] for run in runs if run.get('invocation')}
    return len({bool(run.get('read_back')) for run in runs}) > 1 \
        or len(known) > 1


def _trained_together(runs: list, variant: str) -> bool:
    """Both runs of the seed present and from one known invocation."""
    ids = {run.get('invocation') for run in runs}
    return ({run['variant'] for run in runs} == {variant, 'baseline'}
            and None not in ids and len(ids) == 1)


def markdown(report: dict) -> str:
    task = report['benchmark']['task']
    names = METRICS[task]
    header = ['variant', 'seed', *names, 'noise AUC', 'within AUC',
              'noise AUC, run mean', 'within AUC, run mean', 's/iter',
              'teach share', 'peak RSS (MB)']
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    for run in report['runs']:
        lines.append('| ' + ' | '.join([
            run['variant'], str(run['seed']),
            *[fmt(run['metrics'][n]) for n in names],
            *[fmt(classification_noise_auc(run, key)) for key in NOISE_AUCS],
            fmt(run['time_per_iter_s']), fmt(run['teach_time_share']),
            fmt(run['peak_rss_mb'], 0)
        ]) + ' |')
    summary = report['summary']
    variant_names = list(dict.fromkeys(r['variant'] for r in report['runs']))
    for variant in variant_names:
        s = summary[variant]
        lines.append('| ' + ' | '.join([
            f'**{variant} mean ± std**', '',
            *[mean_std_cell(s[key]) for key in (*names, *NOISE_AUCS)],
            fmt(s['time_per_iter_s']['mean']),
            fmt(s['teach_time_share']['mean']),
            fmt(s['peak_rss_mb']['mean'], 0)
        ]) + ' |')
    lines.append('')
    for variant, ratios in summary['ratios'].items():
        delta = summary['delta'][variant][names[0]]
        mean_ratio = ratios['time_per_iter_mean_s']
        lines.append(f"{variant} / baseline ({_timing_source(report, variant)}"
                     f"): time per iteration "
                     f"{ratios['time_per_iter_s']:.2f}x (mean over "
                     f"iterations {mean_ratio:.2f}x), peak "
                     f"RSS {ratios['peak_rss_mb']:.2f}x, {names[0]} "
                     f'{fmt(delta, 4)} (mean difference).')
    lines.append('noise AUC: how well low weights of the classification '
                 'DLN pick out corrupted labels at the last teach step (0.5: '
                 'blind; n/a without clean labels or teacher); within AUC: '
                 'the same among elements of one target (class, or '
                 'positive/negative), so it cannot be won by weighting '
                 'whole targets; run mean: their mean over the teach steps '
                 'the log holds, which way the teacher weighted the '
                 'corrupted labels for most of the run (a teacher whose '
                 'direction flips can end at any value).')
    lines.append(f"s/iter is the median over windows of "
                 f"{report['benchmark']['timing_window']} iterations (one "
                 'teach interval) of their mean time; the mean over '
                 'iterations also counts slower stretches, such as a '
                 '`warmup_batches` warm-up\'s (both leave out the first '
                 f'{WARMUP_ITERS} iterations, which pay for lazy '
                 'initialisation).')
    return '\n'.join(lines)
