"""What a finished run's logs say: the task's metrics, time per iteration,
the teaching's share of it (teach steps and a warm-up's summing), the noise
AUCs of each DLN (at the last teach step and averaged over the run), and the
curves."""
import statistics
from pathlib import Path
from typing import Dict, List

from ..engine.log_schema import (NOISE_AUC_PREFIXES, TEACH_TIME,
                                 WARMUP_SECONDS, measured_key, taught_in)
from ..utils.run_logs import (is_training_row, read_per_class_iou,
                              read_scalars)
from .schema import METRICS, WARMUP_ITERS

RUN_MEAN = '_run_mean'  # suffix of a noise AUC's mean over the teach steps


def robust_time_per_iter(times: List[float], window: int) -> float:
    """Median over consecutive windows of ``window`` iterations of their
    mean time. A window as long as the teach interval holds exactly one teach
    step, so the teaching cost is counted, while a burst of load from another
    process on this (shared, noisy) machine moves only a few windows."""
    timed = times[WARMUP_ITERS:] or times
    windows = [timed[i:i + window] for i in range(0, len(timed), window)]
    full = [w for w in windows if len(w) == window] or windows
    return statistics.median(statistics.mean(w) for w in full)


def summarise_rows(rows: List[dict], task: str, window: int) -> Dict:
    """Summary of a run from its ``scalars.json`` rows (training rows:
    :func:`~l2t_mm.utils.run_logs.is_training_row`, with ``loss`` and
    ``time``; validation rows carry the metrics)."""
    train_rows = [row for row in rows if is_training_row(row)]
    # A validation row's own 'step' is the epoch when metrics are logged by
    # epoch; the iteration it belongs to is that of the train row before it.
    val_rows, last_iter = [], 0
    for row in rows:
        if is_training_row(row):
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
    # A warm-up's summing is teaching too. Its running total is restored on
    # resume, so after one it also counts summing from before the rows read
    # here (the benchmark never resumes).
    warmup_seconds = train_rows[-1].get(WARMUP_SECONDS, 0.0)
    final = val_rows[-1] if val_rows else {}
    metrics = {name: final.get(name) for name in METRICS[task]}
    return dict(
        metrics=metrics,
        **{name: _last_per_module(train_rows, prefix)
           for name, prefix in NOISE_AUC_PREFIXES.items()},
        **{name + RUN_MEAN: run_mean_per_module(train_rows, prefix)
           for name, prefix in NOISE_AUC_PREFIXES.items()},
        time_per_iter_s=robust_time_per_iter(times, window),
        time_per_iter_mean_s=statistics.mean(times[WARMUP_ITERS:] or times),
        teach_time_share=(sum(teach_times) + warmup_seconds) / sum(times),
        teach_steps=previous_steps,
        curves=dict(
            loss=[[r['iter'], r['loss']] for r in train_rows],
            val=[[r['step'], {n: r.get(n) for n in METRICS[task]}]
                 for r in val_rows]))


def _last_per_module(rows: List[dict], prefix: str) -> Dict[str, float]:
    """The last value each DLN logged under ``prefix`` (the noise AUCs:
    only runs on data with clean labels log them)."""
    last = {}
    for row in rows:
        for key, value in row.items():
            if key.startswith(prefix):
                last[key[len(prefix):]] = value
    return last


def run_mean_per_module(rows: List[dict],
                        prefix: str) -> Dict[str, float]:
    """Each DLN's mean under ``prefix`` over the teach steps that measured
    it (:func:`~l2t_mm.engine.log_schema.measured_key`; in logs from before
    that count, the rows in which a teach step was applied), as far as the
    log holds them: every one when the log interval is 1, as in the
    benchmark's runs. A teacher whose direction flips can end at any AUC;
    the mean says which way it weighted the corrupted elements for most of
    the run."""
    values, counts, steps_seen = {}, {}, 0
    for row in rows:
        steps = taught_in(row, steps_seen)
        steps_seen = steps or steps_seen
        for key, value in row.items():
            if not key.startswith(prefix):
                continue
            count = row.get(measured_key(key))
            if count is None:
                measured = steps is not None
            else:
                measured = count > counts.get(key, 0)
                counts[key] = count
            if measured:
                values.setdefault(key[len(prefix):], []).append(value)
    return {module: statistics.mean(points)
            for module, points in values.items()}


def summarise_run(work_dir: Path, task: str, window: int) -> Dict:
    """:func:`summarise_rows` of the newest run in ``work_dir``, with the
    IoU per class for segmentation (from the text log)."""
    result = summarise_rows(read_scalars(work_dir), task, window)
    if task == 'segmentation':
        result['per_class_iou'] = read_per_class_iou(work_dir)
    return result
