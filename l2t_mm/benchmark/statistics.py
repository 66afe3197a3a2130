"""Mean ± std per variant, and each variant against the baseline."""
import statistics
from typing import Dict, List, Optional

from ..engine.log_schema import NOISE_AUC_PREFIXES
from .logs import RUN_MEAN
from .schema import METRICS

COSTS = ('time_per_iter_s', 'time_per_iter_mean_s', 'peak_rss_mb',
         'teach_time_share')
RATIOS = ('time_per_iter_s', 'time_per_iter_mean_s',
          'peak_rss_mb')  # variant / baseline


# Keys of a run summary: the noise AUCs at the last teach step, then their
# means over the run's teach steps.
NOISE_AUCS = (*NOISE_AUC_PREFIXES, *(name + RUN_MEAN
                                     for name in NOISE_AUC_PREFIXES))


def classification_noise_auc(run: dict,
                             key: str = 'noise_auc') -> Optional[float]:
    """The noise AUC ``key`` (one of :data:`NOISE_AUCS`: plain or
    within-target, last teach step or mean over the run) of the run's
    classification DLN (a detector's ``loss_cls``, a segmenter's decode
    head), the one whose labels the class flips corrupt; ``None`` without
    one."""
    for module, value in sorted(run.get(key, {}).items()):
        if module.endswith('loss_cls') or module.startswith('decode_head'):
            return value
    return None


def mean_std(values: List[Optional[float]]) -> Dict[str, Optional[float]]:
    """Mean, sample standard deviation and count of the values present
    (``None``: not measured). One value has no spread: its std is
    ``None``, not 0, so that no table shows a single run as exact."""
    present = [v for v in values if v is not None]
    if not present:
        return dict(mean=None, std=None, n=0)
    std = statistics.stdev(present) if len(present) > 1 else None
    return dict(mean=statistics.mean(present), std=std, n=len(present))


def summarise(runs: List[dict], task: str) -> dict:
    """Per variant: mean ± std of every metric and cost; ``ratios`` and
    ``delta``: each other variant against the baseline (means). Only the
    runs given are used; whether they were measured together (interleaved)
    or some were read back is the table's to say."""
    names = list(dict.fromkeys(r['variant'] for r in runs))
    summary = {}
    for variant in names:
        group = [r for r in runs if r['variant'] == variant]
        summary[variant] = {
            name: mean_std([r['metrics'][name] for r in group])
            for name in METRICS[task]
        }
        for key in COSTS:
            summary[variant][key] = mean_std([r[key] for r in group])
        for key in NOISE_AUCS:
            summary[variant][key] = mean_std(
                [classification_noise_auc(r, key) for r in group])
    base = summary['baseline']
    others = [name for name in names if name != 'baseline']
    summary['ratios'] = {
        variant: {key: summary[variant][key]['mean'] / base[key]['mean']
                  for key in RATIOS}
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
