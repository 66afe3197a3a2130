"""Running tools/ scripts the way users do."""
import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy
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


# A tool runs in its own process (mmengine keeps global singletons such as
# the visualizer per process), forked from a server that has imported what
# the tools import and run nothing else: a fork starts each tool without the
# ~8 s of imports a fresh interpreter pays. No torch computation runs in the
# server, so its forks are safe. The server skips a module it cannot import
# without a word and runs on the environment of the first run_tool call.
# What a fork cannot show, a fresh interpreter does (``fresh=True``): the
# output of the imports themselves.
_TOOL_PROCESSES = multiprocessing.get_context('forkserver')
_TOOL_PROCESSES.set_forkserver_preload([
    'mmengine.runner', 'mmdet.datasets', 'mmdet.engine', 'mmdet.evaluation',
    'mmdet.models', 'mmdet.visualization', 'mmseg.datasets', 'mmseg.engine',
    'mmseg.evaluation', 'mmseg.models', 'mmseg.visualization',
    'l2t_mm.utils.launch'
])


def _run_tool_main(script: str, args: list, stdout: str,
                   stderr: str) -> None:
    """A forked process's body: ``python tools/<script> *args`` as the
    interpreter would run it (argv, sys.path without the tests' folders,
    __main__, the platform's start method, a numpy seed of its own), its
    output in two files. SystemExit sets the exit code."""
    for stream, path in ((1, stdout), (2, stderr)):
        with open(path, 'w') as file:
            os.dup2(file.fileno(), stream)
    os.chdir(REPO)
    multiprocessing.set_start_method(None, force=True)
    numpy.random.seed()
    sys.argv = [script, *args]
    sys.path[:] = [str(Path(script).parent)] + [
        path for path in sys.path
        if path and Path(path).resolve() not in (REPO, REPO / 'tests')
    ]
    runpy.run_path(script, run_name='__main__')


def run_tool(tool: str, *args: str, launcher_prefix=(),
             fresh: bool = False) -> subprocess.CompletedProcess:
    """Run a tools/ script in its own process and return its exit code and
    output; with ``fresh`` or a ``launcher_prefix`` (``-m
    torch.distributed.run ...``) in a fresh interpreter started that way."""
    script = str(REPO / 'tools' / tool)
    if fresh or launcher_prefix:
        return subprocess.run([sys.executable, *launcher_prefix, script,
                               *args], cwd=REPO, capture_output=True,
                              text=True)
    with tempfile.TemporaryDirectory() as folder:
        stdout, stderr = (os.path.join(folder, name)
                          for name in ('stdout', 'stderr'))
        process = _TOOL_PROCESSES.Process(
            target=_run_tool_main, args=(script, list(args), stdout, stderr))
        process.start()
        process.join()
        return subprocess.CompletedProcess(
            [script, *args], process.exitcode,
            Path(stdout).read_text(), Path(stderr).read_text())


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
