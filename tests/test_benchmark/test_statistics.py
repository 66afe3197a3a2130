"""Mean ± std per variant and the comparison with the baseline, checked
against hand computations."""
import statistics

import pytest

from l2t_mm.benchmark.statistics import (classification_noise_auc,
                                         mean_std, summarise)


def _run(variant, seed, miou, seconds, rss, share=0.0, noise_auc=None,
         within=None, run_mean=None):
    return dict(variant=variant, seed=seed,
                metrics=dict(mIoU=miou, aAcc=None),
                time_per_iter_s=seconds, time_per_iter_mean_s=seconds + 1,
                peak_rss_mb=rss, teach_time_share=share,
                noise_auc=noise_auc or {}, noise_auc_within=within or {},
                noise_auc_run_mean=run_mean or {},
                noise_auc_within_run_mean={})


RUNS = [
    _run('baseline', 0, 18.0, 2.0, 1000),
    _run('l2t', 0, 19.0, 2.5, 1200, 0.2,
         {'decode_head.loss_decode': 0.6, 'auxiliary_head.loss_decode': 0.1},
         run_mean={'decode_head.loss_decode': 0.9}),
    _run('dwa', 0, 17.0, 2.2, 1100),
    _run('l2t', 1, 18.0, 2.7, 1300, 0.3, {'decode_head.loss_decode': 0.8},
         {'decode_head.loss_decode': 0.65}),
    _run('baseline', 1, 20.0, 2.0, 1000),
    _run('dwa', 1, 16.0, 2.0, 1000),
]


def test_mean_std_of_the_values_present():
    assert mean_std([1.0, None, 3.0]) == dict(mean=2.0,
                                              std=2 ** 0.5, n=2)
    assert mean_std([4.0]) == dict(mean=4.0, std=None, n=1)
    assert mean_std([None, None]) == dict(mean=None, std=None, n=0)


def test_noise_auc_is_that_of_the_classification_dln():
    assert classification_noise_auc(RUNS[1]) == 0.6
    assert classification_noise_auc(
        dict(noise_auc={'bbox_head.loss_conf': 0.4,
                        'bbox_head.loss_cls': 0.7})) == 0.7
    assert classification_noise_auc(RUNS[0]) is None
    assert classification_noise_auc(RUNS[3], 'noise_auc_within') == 0.65
    assert classification_noise_auc(RUNS[1], 'noise_auc_within') is None
    assert classification_noise_auc(RUNS[1], 'noise_auc_run_mean') == 0.9
    # A summary written before the within-target AUC existed.
    assert classification_noise_auc(dict(noise_auc={}),
                                    'noise_auc_within') is None


def test_summary_per_variant_and_against_the_baseline():
    summary = summarise(RUNS, 'segmentation')
    assert list(summary) == ['baseline', 'l2t', 'dwa', 'ratios', 'delta']
    assert summary['l2t']['mIoU'] == dict(
        mean=18.5, std=statistics.stdev([19.0, 18.0]), n=2)
    assert summary['l2t']['aAcc'] == dict(mean=None, std=None, n=0)
    assert summary['l2t']['time_per_iter_mean_s']['mean'] == \
        pytest.approx(3.6)
    assert summary['l2t']['teach_time_share']['mean'] == pytest.approx(0.25)
    assert summary['l2t']['noise_auc'] == dict(
        mean=pytest.approx(0.7), std=pytest.approx(0.1414, abs=1e-4), n=2)
    assert summary['baseline']['noise_auc']['n'] == 0
    assert summary['l2t']['noise_auc_within'] == dict(mean=0.65, std=None,
                                                      n=1)
    assert summary['l2t']['noise_auc_run_mean'] == dict(mean=0.9, std=None,
                                                        n=1)
    assert summary['l2t']['noise_auc_within_run_mean']['n'] == 0
    # Ratios of means, from these runs only.
    assert summary['ratios'] == {
        'l2t': dict(time_per_iter_s=pytest.approx(2.6 / 2.0),
                    time_per_iter_mean_s=pytest.approx(3.6 / 3.0),
                    peak_rss_mb=pytest.approx(1250 / 1000)),
        'dwa': dict(time_per_iter_s=pytest.approx(2.1 / 2.0),
                    time_per_iter_mean_s=pytest.approx(3.1 / 3.0),
                    peak_rss_mb=pytest.approx(1050 / 1000)),
    }
    assert summary['delta'] == {
        'l2t': dict(mIoU=pytest.approx(18.5 - 19.0), aAcc=None),
        'dwa': dict(mIoU=pytest.approx(16.5 - 19.0), aAcc=None),
    }


def test_a_report_without_baseline_runs_is_an_error():
    with pytest.raises(KeyError, match='baseline'):
        summarise([RUNS[1]], 'segmentation')
