"""Reusing a trained teacher: its record, reading it back, applying it.

A teacher record describes a teacher on its own: its type and config, the
task it taught, ψ and its φ-shaped buffers (``teacher``: the state dict),
the coordinate layout those buffers follow (``layout``: the ordered
(DLN parameter name, numel) the teacher's coordinates stand for), each
DLN's φ (``dlns``) and where the teacher itself came from
(``init_teacher``). :class:`~l2t_mm.engine.L2TTeacherHook` writes it into
every checkpoint under ``'l2t_teacher'`` (with its optimizer and counters,
for resume); :func:`export_teacher` writes it alone into a small teacher
file that loads with ``torch.load(weights_only=True)``.

A new run takes parts of it (:func:`apply_teacher_source`):

- ``'teacher'``: ψ, the teacher's parameters. They act coordinate by
  coordinate (one shared network applied to every coordinate of φ), so they
  fit any number of DLN parameters and transfer across models; they need
  the same teacher type and ψ shapes (teacher config).
- ``'memory'``: the φ-shaped buffers (Adam moments, step count, the LSTM's
  memory); they mean something only for the same coordinates, so they load
  when the layout matches exactly and start fresh otherwise.
- ``'dln'``: φ, per DLN module with the same name, DLN type, input options
  (``DLN.input_options``) and shapes.
"""
import difflib
import inspect
import pickle
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from ..utils.checkpoint import load_from_trusted_local

CHECKPOINT_KEY = 'l2t_teacher'
TEACHER_FILE_FORMAT = 'l2t_mm.teacher'
TEACHER_FILE_VERSION = 1
# What a record holds about the teacher itself; the rest of a checkpoint
# entry (optimizer, counters, teach loader position) is run state for resume.
RECORD_KEYS = ('teacher_type', 'teacher_cfg', 'task', 'teacher', 'layout',
               'dlns', 'init_teacher')
PARTS = {
    'teacher': 'ψ, the teacher\'s parameters',
    'memory': 'the teacher\'s moments, step count and LSTM memory',
    'dln': 'φ, the DLN parameters',
}
# Base classes that decide a model's task, by module prefix and class name
# (no import of the other library needed to tell).
TASK_BASES = (('detection', 'mmdet.', 'BaseDetector'),
              ('segmentation', 'mmseg.', 'BaseSegmentor'))
CHECKPOINT_PATTERNS = ('iter_*.pth', 'epoch_*.pth')

Layout = List[Tuple[str, int]]


class TeacherSourceError(ValueError):
    """A teacher source that cannot be read or used; the message is one
    line without the caller's name (callers prefix it)."""


def model_task(model: nn.Module) -> str:
    """'detection' (an mmdet BaseDetector), 'segmentation' (an mmseg
    BaseSegmentor) or 'other'."""
    for task, prefix, name in TASK_BASES:
        if any(cls.__name__ == name and cls.__module__.startswith(prefix)
               for cls in type(model).__mro__):
            return task
    return 'other'


def dln_layout(model: nn.Module, dln_names: Sequence[str]) -> Layout:
    """(name, numel) of each DLN parameter in the teacher's coordinate order
    (``ParameterPartition.dln``)."""
    params = dict(model.named_parameters())
    return [(name, params[name].numel()) for name in dln_names]


def _plain(value):
    """Config values as builtins only (``weights_only`` loads them): dicts,
    lists and tuples rebuilt, a class given as ``type=`` by its name."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, type):
        return value.__name__
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def teacher_record(teacher: nn.Module, teacher_cfg: dict,
                   dlns: Dict[str, nn.Module], layout: Layout, task: str,
                   init_teacher: Optional[dict] = None) -> dict:
    """The self-describing record of ``teacher`` (keys :data:`RECORD_KEYS`).

    ``dlns``: the DLN of each loss module by module name; ``init_teacher``:
    where the teacher was initialised from (``None``: it started fresh).
    """
    return dict(
        teacher_type=type(teacher).__name__,
        teacher_cfg=_plain(teacher_cfg),
        task=task,
        teacher=teacher.state_dict(),
        layout=[(name, int(numel)) for name, numel in layout],
        dlns={name: dict(type=type(dln).__name__,
                         options=_plain(dln.input_options),
                         state={key: value.detach().cpu()
                                for key, value in dln.state_dict().items()})
              for name, dln in dlns.items()},
        init_teacher=_plain(init_teacher))


def validate_init_teacher(value, key: str = 'L2TTeacherHook.init_teacher'
                          ) -> Optional[dict]:
    """``dict(checkpoint=str, load=tuple of parts, dlns=tuple of names or
    None)`` or ``None``; raises a ValueError naming the key and the fix.
    ``load`` defaults to every part; ``dlns`` (default ``None``: every DLN
    that matches) names the loss modules whose φ loads.
    """
    if value is None:
        return None
    example = (f"{key}=dict(checkpoint='work_dirs/run/iter_600.pth', "
               "load=('teacher', 'memory', 'dln'))")
    if not isinstance(value, dict):
        raise ValueError(f'{key} must be a dict like {example} or None, '
                         f'got {value!r}')
    unknown = sorted(set(value) - {'checkpoint', 'load', 'dlns'})
    if unknown:
        raise ValueError(f"{key}: unknown key(s) {unknown}; the keys are "
                         f"'checkpoint', 'load' and 'dlns', e.g. {example}")
    path = value.get('checkpoint')
    if not isinstance(path, str) or not path:
        raise ValueError(
            f'{key}.checkpoint must be a path (str) to a checkpoint, a run '
            'folder or a file written by tools/export_teacher.py, got '
            f'{path!r}')
    load = value.get('load', tuple(PARTS))
    if isinstance(load, str):
        load = (load, )
    if not isinstance(load, (list, tuple)):
        raise ValueError(f'{key}.load must be a tuple of part names from '
                         f'{tuple(PARTS)}, got {load!r}')
    if not load:
        raise ValueError(f'{key}.load is empty: name at least one of '
                         f'{tuple(PARTS)}, or set {key}=None')
    for part in load:
        if part not in PARTS:
            close = difflib.get_close_matches(str(part), PARTS, n=1)
            hint = f' Did you mean {close[0]!r}?' if close else ''
            choices = '; '.join(f'{name!r}: {meaning}'
                                for name, meaning in PARTS.items())
            raise ValueError(f'{key}.load: unknown part {part!r}.{hint} '
                             f'The parts are {choices}.')
    load = tuple(part for part in PARTS if part in load)
    return dict(checkpoint=path, load=load,
                dlns=_validate_dln_selection(value.get('dlns'), load, key,
                                             'load' in value))


def _validate_dln_selection(dlns, load: Tuple[str, ...], key: str,
                            load_given: bool) -> Optional[Tuple[str, ...]]:
    """``init_teacher.dlns`` as a tuple of loss module names, or ``None``."""
    if dlns is None:
        return None
    if isinstance(dlns, str):
        dlns = (dlns, )
    if (not isinstance(dlns, (list, tuple)) or not dlns
            or not all(isinstance(name, str) and name for name in dlns)):
        raise ValueError(
            f'{key}.dlns must be None (every DLN that matches) or a '
            "non-empty tuple of loss module names, e.g. "
            f"('bbox_head.loss_cls', ), got {dlns!r}")
    conflict = dln_selection_conflict(load)
    if conflict:
        default = '' if load_given else ' (the default: every part)'
        raise ValueError(f'{key}.dlns: {conflict}, got load={load}{default}; '
                         f"set {key}.load=('teacher', 'dln') or ('dln', )")
    return tuple(dict.fromkeys(dlns))


def dln_selection_conflict(load: Sequence[str]) -> str:
    """Why ``init_teacher.dlns`` cannot go with ``load``; '' if it can.

    The selection is of φ, so it needs ``'dln'``; ``'memory'`` holds the
    teacher's state of every coordinate (with one step count), which cannot
    be split between DLNs that load and DLNs that do not."""
    if 'dln' not in load or 'memory' in load:
        return ("a selection of DLNs loads φ only: load needs 'dln' and no "
                "'memory' (the teacher's state covers every coordinate of φ "
                'and cannot be split by DLN)')
    return ''


def find_checkpoint(path: str) -> Path:
    """``path`` itself if it is a file; for a run folder, the checkpoint its
    ``last_checkpoint`` names (looked up in the folder by file name, so a
    copied folder finds its own), else its newest ``iter_*.pth`` (then
    ``epoch_*.pth``) by number."""
    where = Path(path).expanduser()
    if where.is_file():
        return where
    if not where.is_dir():
        raise TeacherSourceError(
            f'{path} does not exist; give a checkpoint of an L2T run, its '
            'run folder, or a file written by tools/export_teacher.py')
    marker = where / 'last_checkpoint'
    if marker.is_file():
        named = where / Path(marker.read_text().strip()).name
        if named.is_file():
            return named
    for pattern in CHECKPOINT_PATTERNS:
        found = [file for file in where.glob(pattern)
                 if file.stem.split('_')[-1].isdigit()]
        if found:
            return max(found, key=lambda file: int(file.stem.split('_')[-1]))
    raise TeacherSourceError(
        f'{path} is a folder without checkpoints (no last_checkpoint, '
        'iter_*.pth or epoch_*.pth)')


def _load(path: Path) -> dict:
    try:
        try:  # a teacher file: builtins and tensors only
            content = torch.load(path, map_location='cpu', weights_only=True)
        except pickle.UnpicklingError:
            # A full mmengine checkpoint: its message hub needs full
            # unpickling (l2t_mm/utils/checkpoint.py); a local file the user
            # named.
            content = load_from_trusted_local(str(path), map_location='cpu')
    except Exception as error:  # noqa: BLE001  (any unreadable file)
        raise TeacherSourceError(
            f'{path} is not a checkpoint or teacher file '
            f'({type(error).__name__}: {str(error).splitlines()[0]})'
        ) from None
    if not isinstance(content, dict):
        raise TeacherSourceError(f'{path} is not a checkpoint or teacher '
                                 f'file (it holds a {type(content).__name__})')
    return content


def read_teacher_source(path: str) -> dict:
    """The teacher record in a checkpoint, run folder or teacher file, with
    ``source`` (the file it was read from or exported from), ``iteration``
    and ``config`` (the config text, or ``None``)."""
    file = find_checkpoint(path)
    content = _load(file)
    if content.get('format') == TEACHER_FILE_FORMAT:
        if content.get('version', 0) > TEACHER_FILE_VERSION:
            raise TeacherSourceError(
                f'{file} is a teacher file of version {content["version"]}; '
                f'this l2t_mm reads up to {TEACHER_FILE_VERSION}: update it')
        return content
    entry = content.get(CHECKPOINT_KEY)
    if entry is None:
        raise TeacherSourceError(
            f'{file} has no teacher ("{CHECKPOINT_KEY}" entry): it was not '
            'saved by a run with L2TTeacherHook')
    missing = [key for key in RECORD_KEYS
               if key not in entry and key != 'init_teacher']
    if missing:
        raise TeacherSourceError(
            f'{file} holds a teacher saved before teacher records described '
            f'themselves (no {missing}); it still resumes, but to reuse it '
            'train on from it (resume) so a new checkpoint is written')
    meta = content.get('meta') or {}
    record = {key: entry.get(key) for key in RECORD_KEYS}
    return dict(record, source=str(file), iteration=meta.get('iter'),
                config=meta.get('cfg') or None)


def describe(record: dict) -> str:
    """'LSTMTeacher for detection, 2 DLN(s), 130 coordinates, iter 4'."""
    coordinates = sum(numel for _, numel in record['layout'])
    iteration = record.get('iteration')
    return (f'{record["teacher_type"]} for {record["task"]}, '
            f'{len(record["dlns"])} DLN(s), {coordinates} coordinates' +
            (f', iter {iteration}' if iteration is not None else ''))


def export_teacher(path: str, out: Optional[str] = None
                   ) -> Tuple[Path, dict]:
    """Write the teacher of a checkpoint or run folder alone to ``out``
    (default: ``teacher_<checkpoint name>.pth`` beside the checkpoint);
    returns where, and what was written. The file holds
    :data:`RECORD_KEYS` plus ``format``, ``version``, ``source``,
    ``iteration`` and ``config``: builtins and tensors only, so
    ``torch.load(weights_only=True)`` reads it."""
    record = read_teacher_source(path)
    record.update(format=TEACHER_FILE_FORMAT, version=TEACHER_FILE_VERSION)
    source = Path(record['source'])
    target = Path(out) if out else source.with_name(
        f'teacher_{source.stem}.pth')
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(record, target)
    return target, record


def _shapes(state: Dict[str, Tensor], names) -> Dict[str, tuple]:
    return {name: tuple(state[name].shape) if name in state else None
            for name in names}


def _first_difference(saved: dict, own: dict) -> str:
    for name in sorted(set(saved) | set(own)):
        if saved.get(name) != own.get(name):
            return f'{name}: {saved.get(name)} in the source, {own.get(name)}'
    return ''


def teacher_state_difference(saved: Dict[str, Tensor],
                             teacher: nn.Module) -> str:
    """The first tensor where ``saved`` (a teacher's state dict) and
    ``teacher``'s own differ in name or shape; '' if it fits exactly."""
    own = teacher.state_dict()
    names = set(saved) | set(own)
    return _first_difference(_shapes(saved, names), _shapes(own, names))


def _layout_difference(saved: Layout, own: Layout) -> str:
    saved = [tuple(item) for item in saved]
    own = [tuple(item) for item in own]
    if saved == own:
        return ''
    count = f'{sum(n for _, n in saved)} vs {sum(n for _, n in own)} ' \
            'coordinates'
    for index, (a, b) in enumerate(zip(saved, own)):
        if a != b:
            return (f'the DLN layout differs: {count}, first at position '
                    f'{index}: {a[0]} ({a[1]}) vs {b[0]} ({b[1]})')
    return (f'the DLN layout differs: {count} ({len(saved)} vs {len(own)} '
            'DLN parameters)')


def _option_defaults(dln: nn.Module) -> dict:
    """The constructor defaults of ``dln``'s input options."""
    parameters = inspect.signature(type(dln).__init__).parameters
    return {key: parameters[key].default for key in dln.input_options
            if key in parameters
            and parameters[key].default is not inspect.Parameter.empty}


def _dln_mismatch(saved: Optional[dict], dln: nn.Module) -> str:
    """Why a saved DLN does not fit ``dln``; empty if it does."""
    if saved is None:
        return 'not in the source'
    if saved['type'] != type(dln).__name__:
        return f'{saved["type"]} in the source, {type(dln).__name__} here'
    own_options = dln.input_options
    # A record from before an option existed was made with its default. A
    # record from before options were saved at all may have set the
    # options that existed then; the shapes of its state tell those.
    defaults = _option_defaults(dln)
    if 'options' in saved:
        saved_options = dict(defaults, **saved['options'])
        keys = set(saved_options) | set(own_options)
    else:
        keys = set(defaults) - set(getattr(dln, 'shape_options', ()))
        saved_options = {key: defaults[key] for key in keys}
    for key in sorted(keys):
        if saved_options.get(key) != own_options.get(key):
            return (f'{saved["type"]}.{key}={saved_options.get(key)!r}'
                    f' in the source, {own_options.get(key)!r} here')
    own = dln.state_dict()
    difference = _first_difference(_shapes(saved['state'], saved['state']),
                                   _shapes(own, own))
    return f'other shapes: {difference} here' if difference else ''


def _match_dlns(source: dict, dlns: Dict[str, nn.Module],
                selected: Optional[Sequence[str]]) -> Tuple[List[str], str]:
    """The DLNs whose φ loads from ``source`` and the summary's φ note;
    raises TeacherSourceError when none can, or a selected one cannot."""
    where, saved_dlns = source.get('source', '?'), source['dlns']
    wanted = list(dlns) if selected is None else list(selected)
    unknown = [name for name in wanted if name not in dlns]
    if unknown:
        raise TeacherSourceError(
            f'init_teacher.dlns names {unknown}, not a DLN of this model; '
            f'use names from {sorted(dlns)}')
    mismatch = {name: _dln_mismatch(saved_dlns.get(name), dlns[name])
                for name in wanted}
    matched = [name for name, reason in mismatch.items() if not reason]
    fresh = [f'{name} ({reason})' for name, reason in mismatch.items()
             if reason]
    if selected is not None and fresh:
        raise TeacherSourceError(
            f'{where}: init_teacher.dlns asks for φ the source cannot give: '
            f'{"; ".join(fresh)}; the source has {sorted(saved_dlns)}: drop '
            'them from init_teacher.dlns or use a source that has them')
    if not matched:
        raise TeacherSourceError(
            f'{where}: no DLN of this model matches one in the source '
            '(by module name, DLN type, input options and shapes): '
            f'{"; ".join(fresh)}; the source has {sorted(saved_dlns)}. '
            "Drop 'dln' from init_teacher.load to take the teacher only")
    note = (f'φ: loaded {len(matched)}/{len(dlns)} DLNs '
            f'({", ".join(matched)})' +
            (f', fresh: {", ".join(fresh)}' if fresh else ''))
    left = [name for name in dlns if name not in wanted]
    if left:
        note += (f', as the model has them: {", ".join(left)} (not in '
                 'init_teacher.dlns)')
    return matched, note


def apply_teacher_source(source: dict, parts: Sequence[str],
                         teacher: nn.Module, teacher_cfg: dict,
                         dlns: Dict[str, nn.Module], layout: Layout,
                         task: str, restored: Optional[str] = None,
                         selected: Optional[Sequence[str]] = None) -> str:
    """Load ``parts`` of ``source`` (:func:`read_teacher_source`) into
    ``teacher`` and ``dlns`` (the model's DLN by loss module name); returns
    a one-line summary of what was loaded and what the other parts hold.
    ``restored``: the checkpoint the teacher was already restored from
    (``restore_teacher_on_load``), which parts not requested keep;
    ``None``: they are fresh. ``selected`` (``init_teacher.dlns``): the
    DLNs whose φ loads; the others stay as the model has them.

    Refused (TeacherSourceError, nothing changed): a source of another
    task; ``'teacher'`` from another teacher type or ψ shapes; ``'memory'``
    without ``'teacher'`` for a teacher with a recurrent memory (LSTM: it is
    the state of its own ψ); ``'dln'`` when no DLN matches, or when a
    selected DLN is not in the model or does not match; ``selected`` with
    ``parts`` that lack ``'dln'`` or have ``'memory'``. ``'memory'`` that
    does not fit starts fresh.
    """
    where = source.get('source', '?')
    saved_type, own_type = source['teacher_type'], type(teacher).__name__
    conflict = dln_selection_conflict(parts) if selected is not None else ''
    if conflict:
        raise TeacherSourceError(f'init_teacher.dlns: {conflict}, got '
                                 f'load={tuple(parts)}')
    if source['task'] != task:
        raise TeacherSourceError(
            f'{where} holds a teacher of a {source["task"]} model and this '
            f'model is {task}: it learned how to shape another task\'s '
            f'losses; use a teacher from a {task} run')
    saved_state = source['teacher']
    own_state = teacher.state_dict()
    psi = [name for name, _ in teacher.named_parameters()]
    buffers = [name for name, _ in teacher.named_buffers()]
    load: Dict[str, Tensor] = {}
    notes: List[str] = []
    kept = f'kept from {restored}' if restored else 'fresh'
    if 'memory' in parts and 'teacher' not in parts and 'memory' in buffers:
        raise TeacherSourceError(
            f"init_teacher.load has 'memory' without 'teacher': a "
            f"{own_type}'s recurrent memory is the state of its own ψ and "
            "means nothing to a fresh one; add 'teacher' or drop 'memory'")

    if 'teacher' in parts:
        if saved_type != own_type:
            raise TeacherSourceError(
                f'{where} holds a {saved_type} ({source["teacher_cfg"]}) and '
                f'this run\'s teacher is {own_type} ({teacher_cfg}): ψ does '
                'not load across teacher types; use the same teacher config '
                "or drop 'teacher' from init_teacher.load")
        difference = _first_difference(_shapes(saved_state, psi),
                                       _shapes(own_state, psi))
        if difference:
            raise TeacherSourceError(
                f'{where}: the {saved_type}\'s ψ has other shapes ('
                f'{difference} here; source {source["teacher_cfg"]}, here '
                f'{teacher_cfg}): use the same teacher config or drop '
                "'teacher' from init_teacher.load")
        if psi:
            load.update({name: saved_state[name] for name in psi})
            numel = sum(own_state[name].numel() for name in psi)
            notes.append(f'ψ: loaded ({len(psi)} tensors, {numel} values; '
                         'its optimizer starts fresh)')
        else:
            notes.append(f'ψ: none ({own_type} has no parameters)')
    else:
        notes.append(f'ψ: {kept} (not requested)' if psi else
                     f'ψ: none ({own_type} has no parameters)')

    if 'memory' in parts:
        reason = ''
        if saved_type != own_type:
            reason = f'the source teacher is {saved_type}, not {own_type}'
        reason = reason or _layout_difference(source['layout'], layout)
        difference = _first_difference(_shapes(saved_state, buffers),
                                       _shapes(own_state, buffers))
        reason = reason or (f'other buffer shapes ({difference} here)'
                            if difference else '')
        if reason:
            notes.append(f'memory: fresh ({reason})')
        else:
            load.update({name: saved_state[name] for name in buffers})
            steps = int(saved_state['steps']) if 'steps' in buffers else 0
            notes.append(f'memory: loaded ({", ".join(buffers)}; '
                         f'{steps} teach steps)')
    else:
        notes.append(f'memory: {kept} (not requested)')

    matched: List[str] = []
    if 'dln' in parts:
        matched, note = _match_dlns(source, dlns, selected)
        notes.append(note)
    else:
        notes.append('φ: as the model has it (not requested)')

    if load:
        teacher.load_state_dict(dict(own_state, **load))
    for name in matched:
        dlns[name].load_state_dict(source['dlns'][name]['state'])
    return (f'L2T: init_teacher from {where} ({describe(source)}): ' +
            '; '.join(notes) + '.')
