"""Reusing a trained teacher (l2t_mm/engine/teacher_transfer.py and
L2TTeacherHook.init_teacher): what loads across models, what is refused."""
import copy
import logging

import pytest
import torch
from mmdet.models.detectors import BaseDetector
from mmengine.hooks import Hook
from mmengine.registry import MODELS
from mmseg.models.segmentors import BaseSegmentor
from test_teacher_hook import (_Crash, _CrashAfter, _loader, _runner,
                               _teacher_hook, assert_resumed_like_straight)
from tool_helpers import shipped_model
from toy import ToyClassifier, ToyDataset

from l2t_mm.engine import L2TTeacherHook, partition_parameters
from l2t_mm.engine import l2t_teacher_hook as hook_module
from l2t_mm.engine.teacher_transfer import (CHECKPOINT_KEY, RECORD_KEYS,
                                            TeacherSourceError,
                                            apply_teacher_source, dln_layout,
                                            export_teacher, find_checkpoint,
                                            model_task, read_teacher_source,
                                            teacher_record)
from l2t_mm.models import L2TLoss
from l2t_mm.models.dynamic_loss_module import dynamic_loss_modules

LSTM = dict(type='LSTMTeacher')


class TwoLossToy(ToyClassifier):
    """The toy with a second L2T loss: another DLN layout (more φ)."""

    def __init__(self) -> None:
        super().__init__()
        self.loss_aux = L2TLoss(loss=dict(type='mmdet.CrossEntropyLoss'))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode != 'loss':
            return super().forward(inputs, data_samples, mode)
        logits = super().forward(inputs)
        return dict(loss_cls=self.loss_cls(logits, data_samples),
                    loss_aux=self.loss_aux(logits, data_samples))


# -- without a runner ----------------------------------------------------
def _side(model, teacher_cfg):
    """(teacher, dlns, layout) as the hook builds them for ``model``."""
    partition = partition_parameters(model, 'all')
    layout = dln_layout(model, partition.dln)
    teacher = MODELS.build(dict(teacher_cfg, num_coordinates=sum(
        numel for _, numel in layout)))
    dlns = {name: module.dln
            for name, module in dynamic_loss_modules(model).items()}
    return teacher, dlns, layout


def _source(model=None, teacher_cfg=LSTM, task='other'):
    """A record of a 'trained' teacher: every tensor moved off its init."""
    model = model or ToyClassifier()
    teacher, dlns, layout = _side(model, teacher_cfg)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for tensor in [*teacher.state_dict().values(),
                       *(t for d in dlns.values()
                         for t in d.state_dict().values())]:
            tensor.add_(torch.randn(tensor.shape, generator=generator))
    record = teacher_record(teacher, teacher_cfg, dlns, layout, task)
    return copy.deepcopy(dict(record, source='src.pth', iteration=8))


def _apply(source, model, teacher_cfg=LSTM, parts=('teacher', 'memory',
                                                   'dln'), task='other',
           restored=None, selected=None):
    teacher, dlns, layout = _side(model, teacher_cfg)
    summary = apply_teacher_source(source, parts, teacher, teacher_cfg,
                                   dlns, layout, task, restored=restored,
                                   selected=selected)
    return summary, teacher, dlns


def test_same_model_loads_every_part():
    source = _source()
    summary, teacher, dlns = _apply(source, ToyClassifier())
    for name, value in teacher.state_dict().items():
        assert torch.equal(value, source['teacher'][name]), name
    for name, value in dlns['loss_cls'].state_dict().items():
        assert torch.equal(value, source['dlns']['loss_cls']['state'][name])
    assert 'ψ: loaded (' in summary
    assert 'memory: loaded (steps, exp_avg, exp_avg_sq, memory;' in summary
    assert 'φ: loaded 1/1 DLNs (loss_cls).' in summary


def test_across_models_psi_and_matching_phi_load_memory_starts_fresh():
    source = _source()
    model = TwoLossToy()
    fresh_aux = copy.deepcopy(model.loss_aux.dln.state_dict())
    summary, teacher, dlns = _apply(source, model)
    psi = dict(teacher.named_parameters())
    assert psi and all(torch.equal(value, source['teacher'][name])
                       for name, value in psi.items())
    # 384 coordinates here, 192 in the source: moments and memory restart.
    assert teacher.steps == 0 and teacher.memory.abs().sum() == 0
    assert teacher.exp_avg.numel() == 384
    for name, value in dlns['loss_cls'].state_dict().items():
        assert torch.equal(value, source['dlns']['loss_cls']['state'][name])
    for name, value in dlns['loss_aux'].state_dict().items():
        assert torch.equal(value, fresh_aux[name]), name
    assert summary == (
        'L2T: init_teacher from src.pth (LSTMTeacher for other, 1 DLN(s), '
        '192 coordinates, iter 8): ψ: loaded (10 tensors, 5541 values; its '
        'optimizer starts fresh); memory: fresh (the DLN layout differs: '
        '192 vs 384 coordinates (3 vs 6 DLN parameters)); φ: loaded 1/2 '
        'DLNs (loss_cls), fresh: loss_aux (not in the source).')


def test_partial_load_says_what_was_not_requested():
    source = _source()
    summary, teacher, dlns = _apply(source, ToyClassifier(), parts=('dln', ))
    assert teacher.steps == 0
    assert 'ψ: fresh (not requested); memory: fresh (not requested); ' \
        'φ: loaded 1/1 DLNs (loss_cls).' in summary
    summary, _, dlns = _apply(source, ToyClassifier(),
                              parts=('teacher', 'memory'))
    assert summary.endswith('φ: as the model has it (not requested).')
    saved_phi = source['dlns']['loss_cls']['state']
    assert not torch.equal(dlns['loss_cls'].mlp.fc1.weight,
                           saved_phi['mlp.fc1.weight'])


def test_selected_dlns_load_and_the_others_stay():
    source = _source(TwoLossToy())
    model = TwoLossToy()
    own_cls = copy.deepcopy(model.loss_cls.dln.state_dict())
    summary, _, dlns = _apply(source, model, parts=('teacher', 'dln'),
                              selected=('loss_aux', ))
    saved = source['dlns']['loss_aux']['state']
    for name, value in dlns['loss_aux'].state_dict().items():
        assert torch.equal(value, saved[name]), name
    for name, value in dlns['loss_cls'].state_dict().items():
        assert torch.equal(value, own_cls[name]), name
    assert summary.endswith(
        'φ: loaded 1/2 DLNs (loss_aux), as the model has them: loss_cls '
        '(not in init_teacher.dlns).')


def test_selected_dln_missing_or_mismatched_is_refused_unchanged():
    source = _source()  # one DLN, loss_cls
    with pytest.raises(TeacherSourceError,
                       match=r"init_teacher.dlns names \['loss_box'\], not a "
                       r"DLN of this model; use names from \['loss_aux', "
                       r"'loss_cls'\]"):
        _apply(source, TwoLossToy(), parts=('dln', ), selected=('loss_box', ))
    model = TwoLossToy()
    teacher, dlns, layout = _side(model, LSTM)
    before = copy.deepcopy([teacher.state_dict(),
                            model.loss_cls.dln.state_dict()])
    # loss_cls matches and comes first: nothing may load before the refusal.
    with pytest.raises(TeacherSourceError,
                       match=r'init_teacher.dlns asks for φ the source cannot '
                       r"give: loss_aux \(not in the source\); the source has "
                       r"\['loss_cls'\]: drop them"):
        apply_teacher_source(source, ('teacher', 'dln'), teacher, LSTM, dlns,
                             layout, 'other',
                             selected=('loss_cls', 'loss_aux'))
    after = [teacher.state_dict(), model.loss_cls.dln.state_dict()]
    for old, new in zip(before, after):
        for name, value in new.items():
            assert torch.equal(value, old[name]), name
    with pytest.raises(TeacherSourceError,
                       match=r"init_teacher.dlns: a selection of DLNs loads φ "
                       r"only: .*, got load=\('teacher', 'memory', 'dln'\)"):
        _apply(source, TwoLossToy(), selected=('loss_cls', ))


def test_parts_not_requested_keep_a_teacher_restored_from_load_from():
    summary, _, _ = _apply(_source(), ToyClassifier(), parts=('dln', ),
                           restored='run/iter_4.pth')
    assert 'ψ: kept from run/iter_4.pth (not requested); memory: kept from ' \
        'run/iter_4.pth (not requested); φ: loaded 1/1' in summary


def test_lstm_memory_without_its_psi_is_refused():
    source = _source()
    with pytest.raises(TeacherSourceError,
                       match="'memory' without 'teacher': a LSTMTeacher's "
                       "recurrent memory .* add 'teacher' or drop 'memory'"):
        _apply(source, ToyClassifier(), parts=('memory', 'dln'))
    # Adam moments do not depend on ψ: an MLPTeacher may take them alone.
    mlp = dict(type='MLPTeacher')
    summary, teacher, _ = _apply(_source(teacher_cfg=mlp), ToyClassifier(),
                                 teacher_cfg=mlp, parts=('memory', ))
    assert 'ψ: fresh (not requested); memory: loaded (' in summary
    assert torch.equal(teacher.exp_avg_sq,
                       _source(teacher_cfg=mlp)['teacher']['exp_avg_sq'])


def test_adam_teacher_has_no_psi_to_load():
    adam = dict(type='AdamTeacher')
    source = _source(teacher_cfg=adam)
    summary, teacher, _ = _apply(source, ToyClassifier(), teacher_cfg=adam)
    assert 'ψ: none (AdamTeacher has no parameters)' in summary
    assert torch.equal(teacher.exp_avg, source['teacher']['exp_avg'])


def test_memory_of_another_teacher_type_starts_fresh():
    mlp = dict(type='MLPTeacher')
    summary, teacher, _ = _apply(_source(), ToyClassifier(), teacher_cfg=mlp,
                                 parts=('memory', 'dln'))
    assert 'memory: fresh (the source teacher is LSTMTeacher, not ' \
        'MLPTeacher)' in summary
    assert teacher.steps == 0


@pytest.mark.parametrize('teacher_cfg, parts, match', [
    (dict(type='MLPTeacher'), ('teacher', ),
     r'holds a LSTMTeacher .* this run\'s teacher is MLPTeacher .*drop '
     r"'teacher' from init_teacher.load"),
    (dict(type='LSTMTeacher', hidden_size=8), ('teacher', ),
     r"ψ has other shapes \(cells.0.bias_hh: \(80,\) in the source, \(32,\)"
     r' here; source .*hidden_size'),
])
def test_psi_of_another_teacher_is_refused(teacher_cfg, parts, match):
    with pytest.raises(TeacherSourceError, match=match):
        _apply(_source(), ToyClassifier(), teacher_cfg=teacher_cfg,
               parts=parts)


def test_source_of_another_task_is_refused():
    source = _source(task='segmentation')
    with pytest.raises(TeacherSourceError,
                       match='teacher of a segmentation model and this model '
                       'is detection'):
        _apply(source, ToyClassifier(), task='detection')


def test_no_matching_dln_is_refused_and_changes_nothing():
    source = _source()
    model = ToyClassifier(dln=dict(type='WeightingDLN', hidden_channels=4))
    teacher, dlns, layout = _side(model, LSTM)
    before = copy.deepcopy(teacher.state_dict())
    with pytest.raises(TeacherSourceError,
                       match=r'no DLN of this model matches .*loss_cls '
                       r'\(other shapes: mlp.fc1.bias: \(32,\) in the '
                       r'source, \(8,\) here\)'):
        apply_teacher_source(source, ('teacher', 'memory', 'dln'), teacher,
                             LSTM, dlns, layout, 'other')
    for name, value in teacher.state_dict().items():
        assert torch.equal(value, before[name]), name
    top = ToyClassifier(dln=dict(type='WeightingDLN',
                                 use_top_probability=True))
    # The option changes the input width; the reason names the option,
    # not the first layer's shape.
    with pytest.raises(TeacherSourceError,
                       match=r'loss_cls \(WeightingDLN.use_top_probability='
                       r'False in the source, True here\)'):
        _apply(source, top, parts=('dln', ))
    older = copy.deepcopy(source)  # saved before DLN options were recorded
    for saved in older['dlns'].values():
        del saved['options']
    with pytest.raises(TeacherSourceError,
                       match=r'loss_cls \(other shapes: mlp.fc1.weight: '
                       r'\(32, 4\) in the source, \(32, 5\) here\)'):
        _apply(older, top, parts=('dln', ))
    summary, _, _ = _apply(older, ToyClassifier(), parts=('dln', ))
    assert 'loaded 1/1 DLNs (loss_cls)' in summary
    # Saved before normalise_over existed: made with its default, 'all'.
    before_option = copy.deepcopy(source)
    for saved in before_option['dlns'].values():
        del saved['options']['normalise_over']
    summary, _, _ = _apply(before_option, ToyClassifier(), parts=('dln', ))
    assert 'loaded 1/1 DLNs (loss_cls)' in summary
    per_target = ToyClassifier(dln=dict(type='WeightingDLN',
                                        normalise_over='target'))
    with pytest.raises(TeacherSourceError,
                       match=r"loss_cls \(WeightingDLN.normalise_over='all' "
                       r"in the source, 'target' here\)"):
        _apply(before_option, per_target, parts=('dln', ))
    with pytest.raises(TeacherSourceError,
                       match=r"loss_cls \(WeightingDLN.normalise_over='all' "
                       r"in the source, 'target' here\)"):
        _apply(older, per_target, parts=('dln', ))
    logit = ToyClassifier(dln=dict(type='LogitDLN'))
    with pytest.raises(TeacherSourceError,
                       match=r'loss_cls \(WeightingDLN in the source, '
                       r'LogitDLN here\)'):
        _apply(source, logit, parts=('dln', ))


# -- the shipped configs ----------------------------------------------------
ADAM = dict(type='AdamTeacher')


@pytest.mark.parametrize('source_config, target_config, scope, loaded', [
    # YOLOX's classification loss matches YOLOv3's; its box, objectness and
    # L1 losses have no namesake in YOLOv3 (loss_xy, loss_wh, loss_conf).
    ('yolo_l2t.py', 'yolox_l2t.py', 'mmdet',
     'φ: loaded 1/4 DLNs (bbox_head.loss_cls), fresh: bbox_head.loss_bbox '
     '(not in the source), bbox_head.loss_obj (not in the source), '
     'bbox_head.loss_l1 (not in the source).'),
    # The two segmenters' heads have the same loss modules: all of φ loads.
    ('fcn_l2t.py', 'deeplabv3plus_l2t.py', 'mmseg',
     'φ: loaded 2/2 DLNs (decode_head.loss_decode, '
     'auxiliary_head.loss_decode).'),
])
def test_shipped_models_of_one_task_share_the_dlns_that_match(
        source_config, target_config, scope, loaded):
    source_model = shipped_model(source_config, scope)
    source = _source(source_model, ADAM, task=model_task(source_model))
    target = shipped_model(target_config, scope)
    summary, _, dlns = _apply(source, target, ADAM, task=model_task(target))
    assert summary.endswith(loaded)
    for name, dln in dlns.items():
        saved = source['dlns'].get(name)
        matches = [saved is not None and torch.equal(value,
                                                     saved['state'][key])
                   for key, value in dln.state_dict().items()]
        assert all(matches) == (name in loaded.split('fresh')[0]), name


def test_shipped_detector_teacher_is_refused_by_a_segmentor():
    detector = shipped_model('yolo_l2t.py', 'mmdet')
    source = _source(detector, ADAM, task=model_task(detector))
    segmentor = shipped_model('fcn_l2t.py', 'mmseg')
    with pytest.raises(TeacherSourceError,
                       match='teacher of a detection model and this model '
                       'is segmentation'):
        _apply(source, segmentor, ADAM, task=model_task(segmentor))


def test_task_comes_from_the_model_class():

    class Detector(BaseDetector):
        loss = predict = _forward = extract_feat = None

    class Segmentor(BaseSegmentor):
        loss = predict = _forward = extract_feat = encode_decode = None

    assert model_task(Detector()) == 'detection'
    assert model_task(Segmentor()) == 'segmentation'
    assert model_task(ToyClassifier()) == 'other'


@pytest.mark.parametrize('value, match', [
    ('work_dirs/x/iter_4.pth', 'init_teacher must be a dict like'),
    (dict(checkpoint='a.pth', parts=('dln', )),
     r"init_teacher: unknown key\(s\) \['parts'\]; the keys are "
     "'checkpoint', 'load' and 'dlns'"),
    (dict(checkpoint=4), r'init_teacher.checkpoint must be a path \(str\)'),
    (dict(load=('dln', )), r'init_teacher.checkpoint must be a path'),
    (dict(checkpoint='a.pth', load=()), 'init_teacher.load is empty'),
    (dict(checkpoint='a.pth', load=('teacher', 'phi')),
     "init_teacher.load: unknown part 'phi'. The parts are 'teacher'"),
    (dict(checkpoint='a.pth', load=('dnl', )),
     "init_teacher.load: unknown part 'dnl'. Did you mean 'dln'"),
    (dict(checkpoint='a.pth', load=5), 'init_teacher.load must be a tuple'),
    (dict(checkpoint='a.pth', load=('dln', ), dlns=()),
     'init_teacher.dlns must be None .* or a non-empty tuple'),
    (dict(checkpoint='a.pth', load=('dln', ), dlns=('loss_cls', 3)),
     'init_teacher.dlns must be None'),
    (dict(checkpoint='a.pth', load=('teacher', 'memory'), dlns='loss_cls'),
     r"init_teacher.dlns: a selection of DLNs loads φ only: load needs 'dln' "
     r"and no 'memory' .*, got load=\('teacher', 'memory'\); set "
     r"L2TTeacherHook.init_teacher.load=\('teacher', 'dln'\) or \('dln', \)"),
    (dict(checkpoint='a.pth', dlns=('loss_cls', )),
     r"init_teacher.dlns: .*, got load=\('teacher', 'memory', 'dln'\) "
     r"\(the default: every part\); set"),
])
def test_bad_init_teacher_values_name_the_key_and_fix(value, match):
    with pytest.raises(ValueError, match=r'L2TTeacherHook\.' + match):
        L2TTeacherHook(teach_dataloader=_loader(ToyDataset(8, 1)),
                       init_teacher=value)


# -- in a runner ---------------------------------------------------------
@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A 4-iteration LSTM-teacher run (2 teach steps), checkpoints at 2, 4.
    """
    work_dir = tmp_path_factory.mktemp('trained')
    runner = _runner(work_dir, max_iters=4, checkpoint_interval=2)
    runner.train()
    checkpoint = torch.load(work_dir / 'iter_4.pth', weights_only=False)
    return work_dir, checkpoint


def test_checkpoint_entry_describes_the_teacher(trained):
    _, checkpoint = trained
    entry = checkpoint[CHECKPOINT_KEY]
    assert set(RECORD_KEYS) <= set(entry)
    assert entry['task'] == 'other' and entry['init_teacher'] is None
    assert entry['teacher_cfg'] == LSTM
    assert entry['layout'] == [('loss_cls.dln.mlp.fc1.weight', 32 * 4),
                               ('loss_cls.dln.mlp.fc1.bias', 32),
                               ('loss_cls.dln.mlp.fc2.weight', 32)]
    assert entry['dlns']['loss_cls']['type'] == 'WeightingDLN'
    for name, value in entry['dlns']['loss_cls']['state'].items():
        assert torch.equal(value,
                           checkpoint['state_dict'][f'loss_cls.dln.{name}'])


def test_export_from_run_dir_is_small_and_weights_only(trained, tmp_path):
    work_dir, checkpoint = trained
    assert find_checkpoint(str(work_dir)).name == 'iter_4.pth'
    out, _ = export_teacher(str(work_dir), str(tmp_path / 'teacher.pth'))
    saved = torch.load(out, weights_only=True)
    assert saved['format'] == 'l2t_mm.teacher' and saved['version'] == 1
    assert saved['source'] == str(work_dir / 'iter_4.pth')
    assert saved['iteration'] == 4
    assert 'optimizer' not in saved and 'teach_steps' not in saved
    for name, value in checkpoint[CHECKPOINT_KEY]['teacher'].items():
        assert torch.equal(saved['teacher'][name], value), name
    # The teacher and nothing else: its tensors plus a few kB of names.
    tensors = [*saved['teacher'].values(),
               *saved['dlns']['loss_cls']['state'].values()]
    payload = sum(t.numel() * t.element_size() for t in tensors)
    assert payload < out.stat().st_size < payload + 20_000
    # The teacher file and the checkpoint read back as the same record.
    from_file, from_checkpoint = (read_teacher_source(path) for path in
                                  (str(out), str(work_dir / 'iter_4.pth')))
    for key in ('teacher_type', 'task', 'layout', 'teacher_cfg', 'source'):
        assert from_file[key] == from_checkpoint[key], key


def test_sources_without_a_teacher_are_refused(tmp_path):
    torch.save(dict(state_dict={}), tmp_path / 'plain.pth')
    with pytest.raises(TeacherSourceError, match='has no teacher'):
        read_teacher_source(str(tmp_path / 'plain.pth'))
    (tmp_path / 'notes.txt').write_text('not a checkpoint')
    with pytest.raises(TeacherSourceError,
                       match='is not a checkpoint or teacher file'):
        read_teacher_source(str(tmp_path / 'notes.txt'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(TeacherSourceError, match='folder without checkpoints'):
        read_teacher_source(str(tmp_path / 'empty'))


class _FirstTeachStep:
    """Wraps the hook's teach_step: copies ψ, the teacher's state and φ as
    the first teach step starts."""

    def __init__(self, monkeypatch) -> None:
        self.seen = None
        original = hook_module.teach_step

        def recording(model, partition, teacher, *args, **kwargs):
            if self.seen is None:
                self.seen = dict(
                    teacher=copy.deepcopy(teacher.state_dict()),
                    psi=[name for name, _ in teacher.named_parameters()],
                    phi={name: value.clone() for name, value in
                         model.state_dict().items() if '.dln.' in name})
            return original(model, partition, teacher, *args, **kwargs)

        monkeypatch.setattr(hook_module, 'teach_step', recording)


class _Messages(logging.Handler):
    """What a runner logs (its log file may be another runner's: mmengine
    reuses a logger created in the same second)."""

    def __init__(self, runner) -> None:
        super().__init__()
        self.lines = []
        self.runner_logger = runner.logger
        runner.logger.addHandler(self)

    def emit(self, record) -> None:
        self.lines.append(record.getMessage())

    def text(self) -> str:
        return '\n'.join(self.lines)

    def __enter__(self) -> '_Messages':
        return self

    def __exit__(self, *exc) -> None:
        self.runner_logger.removeHandler(self)


def test_reused_teacher_first_teach_step_starts_from_saved_psi(
        trained, tmp_path, monkeypatch):
    work_dir, checkpoint = trained
    saved = checkpoint[CHECKPOINT_KEY]['teacher']
    assert saved['output.weight'].abs().sum() > 0  # ψ learned (init: 0)
    first = _FirstTeachStep(monkeypatch)
    path = str(work_dir / 'iter_4.pth')
    runner = _runner(tmp_path, max_iters=2, checkpoint_interval=2,
                     model=dict(type=TwoLossToy),
                     init_teacher=dict(checkpoint=path))
    with _Messages(runner) as messages:
        runner.train()
    seen = first.seen
    assert len(seen['psi']) == 10
    for name in seen['psi']:
        assert torch.equal(seen['teacher'][name], saved[name]), name
    assert seen['teacher']['steps'] == 0  # another layout: fresh memory
    for name, value in seen['phi'].items():
        if name.startswith('loss_cls.'):
            assert torch.equal(value, checkpoint['state_dict'][name]), name
    entry = torch.load(tmp_path / 'iter_2.pth',
                       weights_only=False)[CHECKPOINT_KEY]
    assert entry['init_teacher']['checkpoint'] == path
    assert entry['init_teacher']['load'] == ['teacher', 'memory', 'dln']
    summary = entry['init_teacher']['summary']
    assert 'memory: fresh (the DLN layout differs' in summary
    assert summary in messages.lines


def test_selected_dlns_through_the_hook_are_recorded(trained, tmp_path):
    work_dir, checkpoint = trained
    runner = _runner(tmp_path, max_iters=1, checkpoint_interval=1,
                     model=dict(type=TwoLossToy),
                     init_teacher=dict(checkpoint=str(work_dir),
                                       load=('teacher', 'dln'),
                                       dlns=('loss_cls', )))
    runner.train()
    entry = torch.load(tmp_path / 'iter_1.pth',
                       weights_only=False)[CHECKPOINT_KEY]
    assert entry['init_teacher']['dlns'] == ['loss_cls']
    assert 'φ: loaded 1/2 DLNs (loss_cls), as the model has them: loss_aux' \
        in entry['init_teacher']['summary']
    with pytest.raises(ValueError,
                       match=r"L2TTeacherHook.init_teacher: init_teacher.dlns"
                       r" names \['loss_box'\], not a DLN of this model"):
        _runner(tmp_path / 'bad', max_iters=1, checkpoint_interval=1,
                model=dict(type=TwoLossToy),
                init_teacher=dict(checkpoint=str(work_dir), load=('dln', ),
                                  dlns='loss_box')).train()


def test_same_model_continues_the_saved_memory(trained, tmp_path,
                                               monkeypatch):
    work_dir, checkpoint = trained
    exported, _ = export_teacher(str(work_dir), str(tmp_path / 't.pth'))
    first = _FirstTeachStep(monkeypatch)
    _runner(tmp_path / 'run', max_iters=2, checkpoint_interval=2,
            init_teacher=dict(checkpoint=str(exported))).train()
    for name, value in checkpoint[CHECKPOINT_KEY]['teacher'].items():
        assert torch.equal(first.seen['teacher'][name], value), name
    assert first.seen['teacher']['steps'] == 2


class _PhiAtStart(Hook):

    def before_train(self, runner) -> None:
        self.phi = copy.deepcopy(runner.model.loss_cls.dln.state_dict())


def test_init_teacher_is_applied_after_load_from(trained, tmp_path,
                                                 trusted_checkpoints):
    work_dir, checkpoint = trained
    capture = _PhiAtStart()
    runner = _runner(tmp_path, max_iters=1, checkpoint_interval=1,
                     load_from=str(work_dir / 'iter_2.pth'),
                     init_teacher=dict(checkpoint=str(work_dir / 'iter_4.pth'),
                                       load=('dln', )))
    runner.register_hook(capture, priority='LOWEST')
    with _Messages(runner) as messages:
        runner.train()
    at_two = torch.load(work_dir / 'iter_2.pth', weights_only=False)
    for name, value in capture.phi.items():
        key = f'loss_cls.dln.{name}'
        assert torch.equal(value, checkpoint['state_dict'][key]), name
        assert not torch.equal(value, at_two['state_dict'][key]), name
    assert f'Applied after load_from={work_dir / "iter_2.pth"}' in \
        messages.text()
    assert 'ψ: fresh (not requested)' in messages.text()


def test_init_teacher_summary_names_a_teacher_restored_from_load_from(
        trained, tmp_path, trusted_checkpoints):
    work_dir, _ = trained
    load_from = str(work_dir / 'iter_2.pth')
    runner = _runner(tmp_path, max_iters=1, checkpoint_interval=1,
                     load_from=load_from, restore_teacher_on_load=True,
                     init_teacher=dict(checkpoint=str(work_dir / 'iter_4.pth'),
                                       load=('dln', )))
    with _Messages(runner) as messages:
        runner.train()
    assert (f'ψ: kept from {load_from} (not requested); memory: kept from '
            f'{load_from} (not requested)') in messages.text()


def test_missing_init_teacher_file_fails_at_before_train(tmp_path):
    runner = _runner(tmp_path, max_iters=1, checkpoint_interval=1,
                     init_teacher=dict(checkpoint=str(tmp_path / 'no.pth')))
    with pytest.raises(ValueError,
                       match=r'L2TTeacherHook.init_teacher: .*no.pth does '
                       'not exist; give a checkpoint'):
        runner.train()


def test_resume_ignores_init_teacher_and_stays_bit_exact(
        trained, tmp_path, trusted_checkpoints):
    work_dir, _ = trained
    init = dict(checkpoint=str(work_dir / 'iter_4.pth'))
    straight = _runner(tmp_path / 'straight', max_iters=8,
                       checkpoint_interval=4, init_teacher=init)
    straight.train()
    first = _runner(tmp_path / 'split', max_iters=8, checkpoint_interval=4,
                    init_teacher=init)
    first.register_hook(_CrashAfter(4), priority='LOWEST')
    with pytest.raises(_Crash):
        first.train()
    resumed = _runner(tmp_path / 'split', max_iters=8, checkpoint_interval=4,
                      resume=True, init_teacher=init)
    with _Messages(resumed) as messages:
        resumed.train()
    a, b = assert_resumed_like_straight(straight, resumed)
    assert b['init_teacher'] == a['init_teacher'] is not None
    assert 'init_teacher (' + init['checkpoint'] + ') not applied: the run ' \
        'resumed' in messages.text()


def test_old_checkpoint_entry_still_resumes_but_is_not_reusable(
        trained, tmp_path, trusted_checkpoints):
    work_dir, checkpoint = trained
    old = copy.deepcopy(checkpoint)
    for key in RECORD_KEYS:
        if key not in ('teacher_type', 'teacher'):
            del old[CHECKPOINT_KEY][key]
    (tmp_path / 'run').mkdir()
    torch.save(old, tmp_path / 'run' / 'iter_4.pth')
    resumed = _runner(tmp_path / 'run', max_iters=5, checkpoint_interval=5,
                      resume=True)
    resumed.train()
    assert _teacher_hook(resumed).teach_steps == 2
    with pytest.raises(TeacherSourceError,
                       match='saved before teacher records described'):
        read_teacher_source(str(tmp_path / 'run' / 'iter_4.pth'))
