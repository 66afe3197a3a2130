"""Running tools/ scripts the way users do."""
import subprocess
import sys
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from l2t_mm.benchmark import process

REPO = Path(__file__).resolve().parents[1]


def shipped_model(config: str, scope: str) -> torch.nn.Module:
    """The model of ``configs/<config>`` as the runner builds it, from a
    fixed seed (random init; ``scope``: 'mmdet' or 'mmseg')."""
    init_default_scope(scope)
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(str(REPO / 'configs' / config)).model)


def tiny_options(iters: int = 2) -> list:
    """``--cfg-options`` that shrink a shipped config to a few iterations on
    a few images."""
    options = [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        'default_hooks.logger.interval=1'
    ]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{loader}.batch_size=2', f'{loader}.num_workers=0',
                    f'{loader}.persistent_workers=False']
    return options


def run_tool(tool: str, *args: str,
             launcher_prefix=()) -> subprocess.CompletedProcess:
    """Run a tools/ script in its own process (mmengine keeps global
    singletons such as the visualizer per process)."""
    return subprocess.run(
        [sys.executable, *launcher_prefix,
         str(REPO / 'tools' / tool), *args],
        cwd=REPO, capture_output=True, text=True)


def run_quick_benchmark(config: str, data_root, out, *extra: str,
                        cfg_options=()) -> subprocess.CompletedProcess:
    """tools/benchmark.py --quick shrunk to 2 iterations on the test data."""
    return run_tool(
        'benchmark.py', config, '--quick', '--max-iters', '2',
        '--val-images', '2', '--teach-interval', '1', '--data-root',
        str(data_root), '--out', str(out), *extra, '--cfg-options',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', *cfg_options)


def fake_train_script(path: Path, source: str, rss_mb: int,
                      monkeypatch) -> Path:
    """A stand-in for tools/train.py: ``source`` written at ``path``, its
    runs reporting ``rss_mb`` of memory (a run this short may be gone
    before a sample could see its memory)."""
    path.write_text(source)
    monkeypatch.setattr(process, 'tree_rss', lambda _: rss_mb * 2**20)
    return path
