"""One training run in its own process, with the peak memory of its process
tree."""
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Optional

import psutil

from .run_cache import (reusable_measurement, run_settings,
                        write_measurement)
from .schema import MEASUREMENT_FILE, STDOUT_FILE
from .variants import BenchmarkError

SAMPLE_PERIOD_S = 0.2  # how often the resident memory is sampled


def train_and_measure(config: str, work_dir: Path, options: list,
                      data_root: Optional[str], train_script: Path,
                      cwd: Path, reuse: bool = False, *,
                      invocation: str) -> Dict:
    """Run ``train_script`` (tools/train.py) on ``config`` in ``cwd``,
    sampling the RSS of its process tree. With ``reuse``, a run that
    finished before with the same settings is read back instead
    (:mod:`.run_cache`); ``read_back`` says which it was. ``invocation``
    names the benchmark invocation that trains the run; it
    is recorded with the run and read back with it, so that a later table
    can tell runs trained together from runs trained apart."""
    work_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(train_script), config, '--work-dir',
               str(work_dir)]
    if data_root:
        command += ['--data-root', data_root]
    command += ['--cfg-options', *options]
    settings = run_settings(config, options, data_root)
    if reuse:
        measured = reusable_measurement(work_dir, settings)
        if measured is not None:
            return dict(measured, read_back=True)
    # A record of an earlier run must not outlive this one if it fails:
    # --reuse-runs would pair it with this run's partial logs.
    (work_dir / MEASUREMENT_FILE).unlink(missing_ok=True)
    start = time.perf_counter()
    with open(work_dir / STDOUT_FILE, 'w') as log:
        process = psutil.Popen(command, cwd=cwd, stdout=log,
                               stderr=subprocess.STDOUT)
        peak = 0
        while True:  # at least one sample, however short the run
            peak = max(peak, tree_rss(process))
            if process.poll() is not None:
                break
            time.sleep(SAMPLE_PERIOD_S)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        tail = (work_dir / STDOUT_FILE).read_text()[-2000:]
        raise BenchmarkError(f'training {config} failed (exit '
                             f'{process.returncode}):\n{tail}')
    measured = dict(peak_rss_mb=peak / 2**20, wall_time_s=wall,
                    invocation=invocation)
    write_measurement(work_dir, measured, settings)
    return dict(measured, read_back=False)


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of ``process`` and all its children, in bytes."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total
