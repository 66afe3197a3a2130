"""What an L2T run writes, named once: the hook writes these keys and files,
``l2t_mm/benchmark``, ``tools/analyze_teacher.py`` and
``l2t_mm/utils/run_logs.py`` read them.

Scalars are logged to mmengine's message hub as ``train/<key>`` and appear
in ``vis_data/scalars.json`` (and the text log) as ``<key>``.
"""
import re
from typing import Optional

from mmengine.logging import MessageHub

# Files in the run's log folder (<work_dir>/<timestamp>/).
CLASS_WEIGHTS_FILE = 'l2t_class_weights.jsonl'
NOISE_ELEMENTS_FILE = 'l2t_noise_elements.json'

# Per teach step.
TEACH_STEPS = 'l2t/teach_steps'  # count of applied teach steps so far
SKIPPED_STEPS = 'l2t/skipped_steps'
TEACH_TIME = 'l2t/teach_time'
# Batch pairs whose meta-gradients a warm-up has summed before φ first moves.
WARMUP_BATCHES = 'l2t/warmup_batches'
# Seconds the warm-up's summing has taken so far (a running total: its
# iterations make no teach step, so they are in no teach_time). Not named
# '*time*': mmengine's LogProcessor logs such keys as a mean over its
# window, which of a running total is not the total.
WARMUP_SECONDS = 'l2t/warmup_seconds'
TEACH_RESULTS = ('train_loss', 'val_loss_before', 'val_loss_after',
                 'meta_grad_norm', 'update_norm')  # fields of TeachResult
NOISE_AUC_PREFIX = 'l2t/noise_auc/'  # + DLN module name
NOISE_AUC_WITHIN_PREFIX = 'l2t/noise_auc_within/'  # + DLN module name
# The name each noise AUC has in run summaries (benchmark, analyze_teacher).
NOISE_AUC_PREFIXES = {'noise_auc': NOISE_AUC_PREFIX,
                      'noise_auc_within': NOISE_AUC_WITHIN_PREFIX}
# Per iteration.
SLOPE_PREFIX = 'l2t/slope/'  # + DLN module name
WEIGHT_KEY = re.compile(r'^l2t/w/(?P<module>.+)/(?P<stat>[^/]+)$')


def teach_result_key(field: str) -> str:
    """Scalar key of a :class:`~l2t_mm.engine.teach_step.TeachResult`
    field."""
    return f'l2t/{field}'


def measured_key(key: str) -> str:
    """Scalar key counting the teach steps at which the noise AUC ``key``
    was measured: it is logged only when the batch allows it (corrupted and
    clean elements, in one target for the within AUC), and the rows in
    between repeat the last value."""
    return 'l2t/measured/' + key[len('l2t/'):]


def weight_key(module: str, stat: str) -> str:
    """Scalar key of a DLN weight statistic (``mean``/``min``/``max``, or a
    loss term's name for a term weighting)."""
    return f'l2t/w/{module}/{stat}'


def hub_key(key: str) -> str:
    """The message-hub name under which ``key`` reaches scalars.json."""
    return f'train/{key}'


def add_to_total(message_hub: MessageHub, key: str, amount: float) -> None:
    """Log ``key`` as a running total: ``amount`` more than ``message_hub``
    holds. The hub keeps the total, not the hook, because mmengine saves the
    hub in checkpoints and restores it on resume: a resumed run's totals go
    on where they stopped."""
    scalars = message_hub.log_scalars
    total = scalars[key].current() + amount if key in scalars else amount
    message_hub.update_scalar(key, total)


def log_noise_auc(message_hub: MessageHub, key: str, auc: float) -> None:
    """Log the noise AUC ``key`` measured now, and its count (a running
    total, :func:`add_to_total`)."""
    message_hub.update_scalar(hub_key(key), auc)
    add_to_total(message_hub, hub_key(measured_key(key)), 1)


def taught_in(row: dict, steps_before: int) -> Optional[int]:
    """The teach-step count of a scalars.json training row if a teach step
    was applied in it (the count advanced past ``steps_before``), else
    ``None``. Rows without a new teach step repeat the last values."""
    steps = row.get(TEACH_STEPS, steps_before)
    return steps if steps > steps_before else None
