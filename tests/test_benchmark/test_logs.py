"""What a run's scalars.json says, on hand-written rows."""
import json

import pytest

from l2t_mm.benchmark.logs import (robust_time_per_iter, summarise_rows,
                                   summarise_run)
from l2t_mm.utils.run_logs import is_training_row

# Six iterations, a teach step after iterations 2, 4 and 6 (the count
# advances; 0.5 s each), one validation after iteration 3 and one at the
# end. Rows without a new teach step repeat the last teach values.
ROWS = [
    {'iter': 1, 'loss': 4.0, 'time': 1.0},
    {'iter': 2, 'loss': 3.0, 'time': 1.0, 'l2t/teach_steps': 1,
     'l2t/teach_time': 0.5, 'l2t/noise_auc/bbox_head.loss_cls': 0.6},
    {'iter': 3, 'loss': 2.5, 'time': 1.0, 'l2t/teach_steps': 1,
     'l2t/teach_time': 0.5, 'l2t/noise_auc/bbox_head.loss_cls': 0.6},
    {'coco/bbox_mAP': 0.1, 'coco/bbox_mAP_50': 0.2, 'step': 1},
    {'iter': 4, 'loss': 2.0, 'time': 1.0, 'l2t/teach_steps': 2,
     'l2t/teach_time': 0.5, 'l2t/noise_auc/bbox_head.loss_cls': 0.7},
    {'iter': 5, 'loss': 1.5, 'time': 1.0, 'l2t/teach_steps': 2,
     'l2t/teach_time': 0.5, 'l2t/noise_auc/bbox_head.loss_cls': 0.7},
    {'iter': 6, 'loss': 1.0, 'time': 1.0, 'l2t/teach_steps': 3,
     'l2t/teach_time': 0.5, 'l2t/noise_auc/bbox_head.loss_cls': 0.8,
     'l2t/noise_auc_within/bbox_head.loss_cls': 0.55},
    {'coco/bbox_mAP': 0.3, 'coco/bbox_mAP_50': 0.4, 'coco/bbox_mAP_s': 0.0,
     'step': 1},
]


def test_robust_time_is_the_median_window_after_warm_up():
    # Warm-up (3) dropped; windows of 2: (1, 1), (1, 9), (2, 2); the burst
    # of load moves one window only.
    times = [50.0, 20.0, 10.0, 1.0, 1.0, 1.0, 9.0, 2.0, 2.0, 7.0]
    assert robust_time_per_iter(times, 2) == 2.0
    assert robust_time_per_iter([3.0, 5.0], 4) == 4.0  # all in warm-up


def test_summary_of_a_run():
    summary = summarise_rows(ROWS, 'detection', window=2)
    assert summary['metrics'] == {'coco/bbox_mAP': 0.3,
                                  'coco/bbox_mAP_50': 0.4,
                                  'coco/bbox_mAP_s': 0.0}
    assert summary['noise_auc'] == {'bbox_head.loss_cls': 0.8}
    assert summary['noise_auc_within'] == {'bbox_head.loss_cls': 0.55}
    # Averaged over the rows where a teach step was applied (iterations 2,
    # 4, 6), not over the rows that repeat the last value.
    assert summary['noise_auc_run_mean'] == {
        'bbox_head.loss_cls': pytest.approx(0.7)}
    assert summary['noise_auc_within_run_mean'] == {
        'bbox_head.loss_cls': 0.55}
    assert summary['teach_steps'] == 3
    # The last teach step is in no row's time: it is added to the last.
    assert summary['teach_time_share'] == pytest.approx(1.5 / 6.5)
    assert summary['time_per_iter_mean_s'] == pytest.approx(3.5 / 3)
    assert summary['time_per_iter_s'] == 1.0  # windows (1, 1), (1.5)
    assert summary['curves']['loss'] == [[1, 4.0], [2, 3.0], [3, 2.5],
                                         [4, 2.0], [5, 1.5], [6, 1.0]]
    # A validation row belongs to the iteration before it.
    assert [step for step, _ in summary['curves']['val']] == [3, 6]
    assert summary['curves']['val'][0][1]['coco/bbox_mAP_s'] is None


def test_run_mean_counts_only_the_teach_steps_that_measured_the_auc():
    # Step 2's batch had no corrupted label: the hook logged no AUC, so its
    # row repeats step 1's 0.6 without advancing the measured count.
    key = 'l2t/noise_auc/decode_head.loss_decode'
    rows = [{'iter': i, 'loss': 1.0, 'time': 1.0, 'l2t/teach_steps': i,
             'l2t/teach_time': 0.1, key: auc,
             'l2t/measured/noise_auc/decode_head.loss_decode': count}
            for i, auc, count in ((1, 0.6, 1), (2, 0.6, 1), (3, 0.9, 2))]
    summary = summarise_rows(rows, 'segmentation', window=1)
    assert summary['noise_auc_run_mean'] == {
        'decode_head.loss_decode': pytest.approx(0.75)}
    assert summary['noise_auc'] == {'decode_head.loss_decode': 0.9}


def test_a_warmups_summing_counts_in_the_teach_share():
    # Two warm-up iterations (0.4 s and 0.6 s of summing, a running total
    # that later rows repeat), then the warm-up's teach step (0.5 s).
    rows = [{'iter': 1, 'loss': 1.0, 'time': 1.0, 'l2t/warmup_seconds': 0.4},
            {'iter': 2, 'loss': 1.0, 'time': 1.4, 'l2t/warmup_seconds': 1.0},
            {'iter': 3, 'loss': 1.0, 'time': 1.6, 'l2t/warmup_seconds': 1.0,
             'l2t/teach_steps': 1, 'l2t/teach_time': 0.5},
            {'iter': 4, 'loss': 1.0, 'time': 1.5, 'l2t/warmup_seconds': 1.0,
             'l2t/teach_steps': 1, 'l2t/teach_time': 0.5}]
    summary = summarise_rows(rows, 'segmentation', window=1)
    assert summary['teach_time_share'] == pytest.approx(1.5 / 5.5)


def test_training_rows_are_those_with_an_iteration():
    assert [is_training_row(row) for row in ROWS] == [
        True, True, True, False, True, True, True, False]


def test_a_run_without_teaching_or_validation():
    rows = [{'iter': i, 'loss': 1.0, 'time': 2.0} for i in (1, 2)]
    summary = summarise_rows(rows, 'segmentation', window=10)
    assert summary['teach_steps'] == 0 and summary['teach_time_share'] == 0
    assert summary['metrics'] == {'mIoU': None, 'aAcc': None}
    assert summary['noise_auc'] == {} and summary['curves']['val'] == []
    assert summary['noise_auc_within'] == {}
    assert summary['noise_auc_run_mean'] == {}


def test_summarise_run_reads_the_newest_run_and_per_class_iou(tmp_path):
    for stamp, miou in (('20240101_000000', 1.0), ('20240102_000000', 2.0)):
        run = tmp_path / stamp
        (run / 'vis_data').mkdir(parents=True)
        rows = [{'iter': 1, 'loss': 1.0, 'time': 1.0},
                {'mIoU': miou, 'aAcc': 50.0, 'step': 1}]
        (run / 'vis_data' / 'scalars.json').write_text(
            '\n'.join(json.dumps(row) for row in rows))
        (run / f'{stamp}.log').write_text(
            'per class results:\n+-------+------+\n| Class | IoU  |\n'
            f'+-------+------+\n| background | {miou * 10} |\n'
            '| circle | 5.5 |\n+-------+------+\nnext line\n')
    summary = summarise_run(tmp_path, 'segmentation', window=1)
    assert summary['metrics']['mIoU'] == 2.0
    assert summary['per_class_iou'] == {'background': 20.0, 'circle': 5.5}
