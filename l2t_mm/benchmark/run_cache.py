"""The record a finished run leaves, so that ``--reuse-runs`` can read it
back instead of training it again.

``measurement.json`` in the run's work dir is written only when training
succeeded: the peak memory and wall time that cannot be recovered from the
logs, and the settings the run was trained with (config path,
``--cfg-options``, data root). A run is reused only if those settings are
the ones asked for now.
"""
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional

from .schema import MEASUREMENT_FILE


def say(message: str) -> None:
    """A progress line on stderr (stdout holds the table)."""
    print(f'[benchmark] {message}', file=sys.stderr, flush=True)


def run_settings(config: str, options: List[str],
                 data_root: Optional[str]) -> Dict:
    """What makes two runs the same run."""
    return dict(config=config, options=options, data_root=data_root)


def write_measurement(work_dir: Path, measured: Dict, settings: Dict) -> None:
    (work_dir / MEASUREMENT_FILE).write_text(
        json.dumps(dict(measured, settings=settings)))


def reusable_measurement(work_dir: Path, settings: Dict) -> Optional[Dict]:
    """``peak_rss_mb``, ``wall_time_s`` and ``invocation`` (the benchmark
    invocation that trained it; ``None`` in records from before it was
    recorded) of the finished run in ``work_dir`` if it was trained with
    ``settings``; ``None`` if there is none or its settings differ (it must
    be trained again). A record from before settings were recorded is taken
    as matching, with a warning."""
    measurement = work_dir / MEASUREMENT_FILE
    if not measurement.is_file():
        return None
    earlier = json.loads(measurement.read_text())
    recorded = earlier.get('settings')
    if recorded is None:
        say(f'{work_dir} does not record its settings; reusing it as if they '
            'matched')
    if recorded in (None, settings):
        say(f'reusing the finished run in {work_dir}')
        return dict(peak_rss_mb=earlier['peak_rss_mb'],
                    wall_time_s=earlier['wall_time_s'],
                    invocation=earlier.get('invocation'))
    say(f'{work_dir} was trained with other settings ({recorded}); training '
        'it again')
    return None
