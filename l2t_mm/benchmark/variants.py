"""Which configs a benchmark trains, and the ``--cfg-options`` of each run."""
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from mmengine.registry import HOOKS

from ..engine.l2t_teacher_hook import L2TTeacherHook
from ..engine.teacher_transfer import TeacherSourceError, find_checkpoint
from ..utils.derive import derive_pair
from ..utils.launch import load_config


class BenchmarkError(RuntimeError):
    """A problem with the benchmark's inputs or a run; one message naming
    the option (``tools/benchmark.py`` prints it and exits)."""


def baseline_twin(config: str) -> str:
    """``configs/x_l2t.py`` -> ``configs/x_baseline.py`` (must exist)."""
    path = Path(config)
    if not path.stem.endswith('_l2t'):
        raise BenchmarkError(f'cannot derive the baseline of {config}; pass '
                             '--baseline CONFIG')
    twin = path.with_name(path.stem[:-len('_l2t')] + '_baseline.py')
    if not twin.is_file():
        raise BenchmarkError(f'baseline twin {twin} does not exist; pass '
                             '--baseline CONFIG')
    return str(twin)


def variants(config: str, baseline: str, peers: List[str]) -> List[tuple]:
    """(name, config) of every variant; a peer is named by what its file name
    adds to the L2T config's prefix (configs/yolo_uw.py -> 'uw')."""
    prefix = Path(config).stem[:-len('l2t')]
    named = [('baseline', baseline), ('l2t', config)]
    for peer in peers:
        if not Path(peer).is_file():
            raise BenchmarkError(f'--peers: {peer} does not exist')
        stem = Path(peer).stem
        name = stem[len(prefix):] if stem.startswith(prefix) else stem
        if name in dict(named):
            raise BenchmarkError(f'--peers: {peer} would be named {name!r} '
                                 'like another variant; rename it')
        named.append((name, peer))
    return named


def interleaved(named: List[tuple], seeds: List[int]) -> List[tuple]:
    """(seed, variant, config) in training order: per seed every variant,
    the order rotated by one per seed, so that slow drift of the machine's
    load does not favour one variant."""
    order = []
    for position, seed in enumerate(seeds):
        shift = position % len(named)
        for variant, config in named[shift:] + named[:shift]:
            order.append((seed, variant, config))
    return order


def write_derived_pair(config: str, out: Path,
                       teach_fraction: float) -> Tuple[str, str]:
    """Derive (L2T, baseline) from a stock config into ``out``; their paths.
    """
    try:
        baseline, l2t = derive_pair(load_config(config), teach_fraction)
    except ValueError as error:
        raise BenchmarkError(str(error)) from None
    paths = out / 'derived_l2t.py', out / 'derived_baseline.py'
    l2t.dump(paths[0])
    baseline.dump(paths[1])
    return str(paths[0]), str(paths[1])


def run_options(max_iters: int, seed: int, evals: int,
                val_images: Optional[int], cfg_options: Dict) -> list:
    """--cfg-options every variant of one seed shares: the schedule, the
    seed, ``evals`` validations, raw per-iteration times in the log."""
    val_interval = max(1, max_iters // max(1, evals))
    options = {
        'randomness.seed': seed,
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': val_interval,
        'default_hooks.checkpoint.interval': max_iters,
        'default_hooks.logger.interval': 1,
        # Raw per-iteration times in the log, not a 10-iteration mean.
        'log_processor.window_size': 1,
    }
    if val_images:
        options['val_dataloader.dataset.indices'] = val_images
    options.update(cfg_options)
    return [f'{key}={value}' for key, value in options.items()]


def is_teacher_hook(hook: dict) -> bool:
    """Whether a ``custom_hooks`` entry builds an L2TTeacherHook or a
    subclass of it (by registered name or by class)."""
    hook_type = hook.get('type')
    if isinstance(hook_type, str):
        hook_type = HOOKS.get(hook_type)
    return isinstance(hook_type, type) and issubclass(hook_type,
                                                      L2TTeacherHook)


def teach_interval(config: str, override: Optional[int]) -> int:
    """The L2T config's teach interval (the timing window of both runs)."""
    if override is not None:
        return override
    hooks = load_config(config).get('custom_hooks', [])
    return next((hook.get('interval', 10) for hook in hooks
                 if is_teacher_hook(hook)), 10)


def teacher_hook_index(config: str, flag: str) -> int:
    """Position of the L2TTeacherHook (or subclass) in the config's
    custom_hooks."""
    hooks = load_config(config).get('custom_hooks', [])
    index = next((i for i, hook in enumerate(hooks)
                  if is_teacher_hook(hook)), None)
    if index is None:
        raise BenchmarkError(f'{flag}: {config} has no L2TTeacherHook in '
                             'custom_hooks')
    return index


def teach_interval_option(config: str, interval: Optional[int]) -> list:
    """--cfg-options entry setting the teacher hook's interval, if asked."""
    if interval is None:
        return []
    index = teacher_hook_index(config, '--teach-interval')
    return [f'custom_hooks.{index}.interval={interval}']


def init_teacher_option(config: str, teacher_from: Optional[str]) -> list:
    """--cfg-options entry starting the teacher from a trained one, if
    asked. Only the checkpoint is set: which parts are loaded stays the
    config's ``init_teacher.load`` (every part by default). A run folder is
    resolved to its checkpoint here, once, so the runs (and --reuse-runs,
    which compares options) name the file used."""
    if teacher_from is None:
        return []
    try:
        path = find_checkpoint(teacher_from).resolve()
    except TeacherSourceError as error:
        raise BenchmarkError(f'--teacher-from: {error}') from None
    index = teacher_hook_index(config, '--teacher-from')
    return [f'custom_hooks.{index}.init_teacher.checkpoint={path}']


def l2t_only_options(config: str, teach_interval_override: Optional[int],
                     teacher_from: list, l2t_cfg_options: Dict) -> list:
    """What the L2T variant adds to :func:`run_options`: the teach
    interval, the trained teacher to start from (``teacher_from``, from
    :func:`init_teacher_option`) and the L2T-only ablation options."""
    options = teach_interval_option(config, teach_interval_override)
    options += teacher_from
    options += [f'{key}={value}' for key, value in l2t_cfg_options.items()]
    return options
