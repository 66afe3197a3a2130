"""The Markdown table tools/benchmark.py prints, on a hand-written report."""
from l2t_mm.benchmark.statistics import summarise
from l2t_mm.benchmark.table import fmt, markdown
from test_statistics import RUNS


def _report():
    runs = RUNS[:2] + RUNS[3:5]  # baseline and L2T, two seeds each
    return dict(benchmark=dict(task='segmentation', timing_window=10),
                runs=runs, summary=summarise(runs, 'segmentation'))


def test_one_row_per_run_then_per_variant_then_the_comparison():
    lines = markdown(_report()).splitlines()
    assert lines[:2] == [
        '| variant | seed | mIoU | aAcc | noise AUC | within AUC | noise AUC, '
        'run mean | within AUC, run mean | s/iter | teach share | peak RSS '
        '(MB) |',
        '|---|---|---|---|---|---|---|---|---|---|---|']
    assert lines[2] == ('| baseline | 0 | 18.000 | n/a | n/a | n/a | n/a | '
                        'n/a | 2.000 | 0.000 | 1000 |')
    assert lines[3] == ('| l2t | 0 | 19.000 | n/a | 0.600 | n/a | 0.900 | '
                        'n/a | 2.500 | 0.200 | 1200 |')
    assert lines[4] == ('| l2t | 1 | 18.000 | n/a | 0.800 | 0.650 | n/a | '
                        'n/a | 2.700 | 0.300 | 1300 |')
    assert lines[6] == ('| **baseline mean ± std** |  | 19.000 ± 1.414 | '
                        'n/a | n/a | n/a | n/a | n/a | 2.000 | 0.000 | 1000 |')
    # One run has no std: not shown as ± 0.
    assert lines[7] == ('| **l2t mean ± std** |  | 18.500 ± 0.707 | '
                        'n/a | 0.700 ± 0.141 | 0.650 (1 run) | '
                        '0.900 (1 run) | n/a | 2.600 | 0.250 | 1250 |')
    assert lines[8] == ''
    # The median of windows (2.6 / 2.0) and the mean over iterations
    # (3.6 / 3.0): they differ where some stretches run slower.
    assert lines[9] == ('l2t / baseline (runs measured together): time per '
                        'iteration 1.30x (mean over iterations 1.20x), peak '
                        'RSS 1.25x, mIoU -0.5000 (mean difference).')
    assert lines[-1] == ('s/iter is the median over windows of 10 '
                         'iterations (one teach interval) of their mean '
                         'time; the mean over iterations also counts slower '
                         'stretches, such as a `warmup_batches` warm-up\'s '
                         '(both leave out the first 3 iterations, which pay '
                         'for lazy initialisation).')
    assert len(lines) == 12


def _report_where(read_back, invocation):
    """The report with each run's ``read_back`` and ``invocation`` set by
    the functions given."""
    report = _report()
    report['runs'] = [dict(run, read_back=read_back(run),
                           invocation=invocation(run))
                      for run in report['runs']]
    return report


def _ratio_line(report):
    [line] = [line for line in markdown(report).splitlines()
              if line.startswith('l2t / baseline')]
    return line


def test_pairs_read_back_from_one_invocation_each_are_measured_together():
    # Seed 0's pair trained together in an earlier invocation and read back,
    # seed 1's trained now: still one invocation per seed.
    report = _report_where(lambda run: run['seed'] == 0,
                           lambda run: f"run-{run['seed']}")
    assert _ratio_line(report).startswith(
        "l2t / baseline (read back with --reuse-runs: baseline 0, l2t 0; "
        "each seed's runs were trained together, in one invocation): time "
        'per iteration 1.30x')


def test_a_baseline_read_back_from_another_invocation_is_not_same_run():
    report = _report_where(lambda run: run['variant'] == 'baseline',
                           lambda run: f"run-{run['variant']}")
    assert _ratio_line(report).startswith(
        'l2t / baseline (read back with --reuse-runs: baseline 0, baseline '
        '1; not a same-run ratio: l2t and baseline of seeds 0, 1 were '
        'trained in different invocations): time per iteration 1.30x')
    # A baseline recorded before invocations were, next to an L2T run
    # trained now: two invocations all the same.
    for run in report['runs']:
        if run['variant'] == 'baseline':
            run['invocation'] = None
    assert 'of seeds 0, 1 were trained in different invocations' in \
        _ratio_line(report)


def test_unknown_or_unpaired_runs_cannot_be_called_together():
    # Both runs of every seed read back, recorded before invocations were.
    report = _report_where(lambda run: True, lambda run: None)
    assert _ratio_line(report).endswith(
        'l2t 0, l2t 1; a same-run ratio only if they were trained next to '
        'the runs they are compared with): time per iteration 1.30x (mean '
        'over iterations 1.20x), peak RSS 1.25x, mIoU -0.5000 (mean '
        'difference).')
    # Seed 1 has no L2T run: its baseline is no pair, whatever its id.
    report['runs'] = [dict(run, invocation='one') for run in report['runs']
                      if (run['variant'], run['seed']) != ('l2t', 1)]
    assert 'a same-run ratio only if' in _ratio_line(report)


def test_missing_values_read_n_a():
    assert fmt(None) == 'n/a'
    assert fmt(0.12345) == '0.123' and fmt(1234.5, 0) == '1234'
