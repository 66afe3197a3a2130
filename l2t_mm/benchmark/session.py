"""One benchmark invocation: every seed and variant trained interleaved,
then the report (``benchmark.json``), the curves and the table."""
import json
import os
import platform
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from ..utils.launch import load_config, task_of
from .logs import summarise_run
from .plots import plot
from .process import train_and_measure
from .run_cache import say
from .schema import REPORT_FILE, run_dir_name
from .statistics import summarise
from .variants import (baseline_twin, init_teacher_option, interleaved,
                       l2t_only_options, run_options, teach_interval,
                       variants, write_derived_pair)


@dataclass
class BenchmarkSettings:
    """What to benchmark; the options of ``tools/benchmark.py`` (see its
    ``--help``), by the same names."""
    config: str
    out: Path
    baseline: Optional[str] = None
    derive_l2t: bool = False
    teach_fraction: float = 0.1
    peers: List[str] = field(default_factory=list)
    seeds: List[int] = field(default_factory=lambda: [0, 1, 2])
    max_iters: Optional[int] = None
    evals: int = 4
    val_images: Optional[int] = None
    teach_interval: Optional[int] = None
    data_root: Optional[str] = None
    quick: bool = False
    cfg_options: Dict = field(default_factory=dict)
    l2t_cfg_options: Dict = field(default_factory=dict)
    teacher_from: Optional[str] = None
    reuse_runs: bool = False


def run_benchmark(settings: BenchmarkSettings, train_script: Path, cwd: Path,
                  command: str) -> dict:
    """Train every run (or read it back with ``reuse_runs``), write
    ``benchmark.json`` and the curves to ``settings.out``; the report.
    ``train_script`` (tools/train.py) runs in ``cwd``; ``command`` is
    recorded in the report. Raises :class:`~.variants.BenchmarkError`."""
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    config = settings.config
    if settings.derive_l2t:
        stock = config
        config, baseline = write_derived_pair(stock, out,
                                              settings.teach_fraction)
        say(f'derived {config} and {baseline} from {stock}')
    else:
        baseline = settings.baseline or baseline_twin(config)
    cfg = load_config(config)
    task = task_of(cfg)
    max_iters = settings.max_iters or cfg.train_cfg.max_iters
    window = teach_interval(config, settings.teach_interval)
    named = variants(config, baseline, settings.peers)
    teacher_from = init_teacher_option(config, settings.teacher_from)
    # Recorded with every run it trains: read back later, it tells which
    # runs were trained next to each other.
    invocation = f'{time.strftime("%Y%m%d-%H%M%S")}-{uuid.uuid4().hex[:8]}'
    runs = []
    for seed, variant, variant_config in interleaved(named, settings.seeds):
        work_dir = out / run_dir_name(variant, seed)
        say(f'{variant} seed {seed}: {variant_config}')
        options = run_options(max_iters, seed, settings.evals,
                              settings.val_images, settings.cfg_options)
        if variant == 'l2t':
            options += l2t_only_options(variant_config,
                                        settings.teach_interval,
                                        teacher_from,
                                        settings.l2t_cfg_options)
        measured = train_and_measure(variant_config, work_dir, options,
                                     settings.data_root, train_script, cwd,
                                     settings.reuse_runs,
                                     invocation=invocation)
        runs.append(dict(variant=variant, seed=seed, config=variant_config,
                         work_dir=str(work_dir), **measured,
                         **summarise_run(work_dir, task, window)))
    report = dict(
        benchmark=dict(
            l2t_config=config, baseline_config=baseline,
            peer_configs=dict(named[2:]), derived=settings.derive_l2t,
            teach_fraction=(settings.teach_fraction
                            if settings.derive_l2t else None),
            task=task,
            seeds=settings.seeds, max_iters=max_iters, evals=settings.evals,
            val_images=settings.val_images, quick=settings.quick,
            teach_interval=settings.teach_interval, timing_window=window,
            data_root=settings.data_root, cfg_options=settings.cfg_options,
            l2t_cfg_options=settings.l2t_cfg_options,
            teacher_from=settings.teacher_from,
            cpu_count=os.cpu_count(), platform=platform.platform(),
            command=command, invocation=invocation),
        runs=runs,
        summary=summarise(runs, task))
    report['plots'] = plot(report, out)
    (out / REPORT_FILE).write_text(json.dumps(report, indent=1))
    return report
