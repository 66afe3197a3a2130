"""Reading what an mmengine run wrote: ``vis_data/scalars.json`` rows and the
per-class table mmseg's IoUMetric prints into the text log."""
import json
import re
from pathlib import Path
from typing import Dict, List, Optional, Union

from ..engine.log_schema import CLASS_WEIGHTS_FILE, NOISE_ELEMENTS_FILE

PathLike = Union[str, Path]


def newest_run_dir(work_dir: PathLike) -> Path:
    """The newest ``<timestamp>/`` folder mmengine made in ``work_dir``."""
    runs = sorted(p for p in Path(work_dir).iterdir()
                  if p.is_dir() and re.fullmatch(r'\d{8}_\d{6}', p.name))
    if not runs:
        raise FileNotFoundError(f'no mmengine run folder in {work_dir}')
    return runs[-1]


def read_scalars(work_dir: PathLike) -> List[dict]:
    """Rows of the newest run's ``vis_data/scalars.json``: training rows carry
    ``iter`` and the losses, validation rows the metrics and ``step``."""
    path = newest_run_dir(work_dir) / 'vis_data' / 'scalars.json'
    return [json.loads(line) for line in path.read_text().splitlines()]


def is_training_row(row: dict) -> bool:
    """Whether a ``scalars.json`` row is a training iteration's (mmengine's
    LoggerHook gives those ``iter`` beside ``step``; validation rows have no
    ``iter``): the one test the benchmark and ``tools/analyze_teacher.py``
    share, so they read the same rows."""
    return 'iter' in row


def read_class_weights(work_dir: PathLike) -> List[dict]:
    """Lines of the newest run's ``l2t_class_weights.jsonl`` (written by
    ``L2TTeacherHook`` at every teach step); empty if there is none."""
    path = newest_run_dir(work_dir) / CLASS_WEIGHTS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def read_noise_elements(work_dir: PathLike) -> Optional[dict]:
    """The newest run's last ``l2t_noise_elements.json``: a sample of
    (loss, weight, corrupted) per DLN at the last teach step; ``None`` if
    the run had no clean labels."""
    path = newest_run_dir(work_dir) / NOISE_ELEMENTS_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def read_per_class_iou(work_dir: PathLike) -> Dict[str, float]:
    """IoU per class from the last 'per class results' table of the newest
    run's log (mmseg's IoUMetric prints it; it is not in scalars.json)."""
    run = newest_run_dir(work_dir)
    text = (run / f'{run.name}.log').read_text()
    tables = text.split('per class results:')
    if len(tables) < 2:
        return {}
    rows = {}
    for line in tables[-1].splitlines()[1:]:
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if line.startswith('|') and len(cells) >= 2 and cells[0] != 'Class':
            try:
                rows[cells[0]] = float(cells[1])
            except ValueError:
                continue
        elif rows and not line.startswith(('|', '+')):
            break
    return rows
