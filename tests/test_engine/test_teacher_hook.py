"""L2TTeacherHook inside a real mmengine Runner on the toy model."""
import copy
import itertools
import json
import os
import socket
import uuid
from types import SimpleNamespace

import pytest
import torch
import torch.multiprocessing as mp
from mmengine.hooks import Hook
from mmengine.runner import Runner
from toy import ToyAccuracy, ToyClassifier, ToyDataset, record_keyword

from l2t_mm.engine import L2TTeacherHook
from l2t_mm.engine.l2t_teacher_hook import CHECKPOINT_KEY
from l2t_mm.engine.log_schema import CLASS_WEIGHTS_FILE


def _loader(dataset):
    return dict(dataset=dataset, batch_size=8, num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=True),
                collate_fn=dict(type='default_collate'))


def _runner(work_dir, max_iters, checkpoint_interval, resume=False,
            teach_dataset=None, launcher='none', load_from=None,
            teach_loader=None, model=None, **hook_options):
    hook = dict(type='L2TTeacherHook',
                teach_dataloader=teach_loader or _loader(
                    ToyDataset(32, 1) if teach_dataset is None else
                    teach_dataset),
                interval=2, lookahead_params='all', lookahead_lr=0.1,
                # The teacher with the most state: ψ, its optimizer, memory.
                teacher=dict(type='LSTMTeacher'))
    hook.update(hook_options)
    extra = {}
    if launcher != 'none':
        # What tools/train.py sets on a CPU machine (l2t_mm.utils.launch).
        extra = dict(launcher=launcher,
                     cfg=dict(model_wrapper_cfg=dict(
                         type='MMDistributedDataParallel', device_ids=None)),
                     env_cfg=dict(dist_cfg=dict(backend='gloo')))
    return Runner(
        model=model or dict(type=ToyClassifier), work_dir=str(work_dir),
        train_dataloader=_loader(ToyDataset(64, 0)),
        test_dataloader=_loader(ToyDataset(16, 2)),
        test_evaluator=dict(type=ToyAccuracy), test_cfg=dict(),
        load_from=load_from,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=checkpoint_interval),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[hook], randomness=dict(seed=0, deterministic=True),
        resume=resume, default_scope='mmdet',
        # Its own logger: mmengine names loggers by timestamp, so runners
        # built within one second would otherwise write into one file.
        experiment_name=f'{os.path.basename(work_dir)}-{uuid.uuid4().hex}',
        **extra)


def _log(work_dir) -> str:
    """The text log of the run in ``work_dir``."""
    [path] = work_dir.rglob('*.log')
    return path.read_text()


def _teacher_hook(runner) -> L2TTeacherHook:
    return next(h for h in runner.hooks if isinstance(h, L2TTeacherHook))


def test_scalars_reach_the_log(tmp_path):
    runner = _runner(tmp_path, max_iters=4, checkpoint_interval=4)
    runner.train()
    hub = runner.message_hub
    for key in ('val_loss_before', 'val_loss_after', 'meta_grad_norm',
                'update_norm', 'teach_time', 'w/loss_cls/mean'):
        assert f'train/l2t/{key}' in hub.log_scalars, key
    assert _teacher_hook(runner).teach_steps == 2
    log_files = list(tmp_path.rglob('*.json'))
    assert any('l2t/val_loss_after' in f.read_text() for f in log_files)


def _class_weight_lines(work_dir) -> list:
    files = list(work_dir.rglob(CLASS_WEIGHTS_FILE))
    assert len(files) == 1, files
    return [json.loads(line) for line in files[0].read_text().splitlines()]


def test_class_weights_are_written_once_per_interval(tmp_path):
    runner = _runner(tmp_path, max_iters=6, checkpoint_interval=6)
    runner.train()
    lines = _class_weight_lines(tmp_path)
    assert [line['iter'] for line in lines] == [2, 4, 6]
    for line in lines:
        stats = line['modules']['loss_cls']
        # Each training sample counted once: 2 iterations of batch 8; the
        # teach step's own forward passes are not counted.
        assert sum(stats['count']) == 16 and len(stats['count']) == 3
    # The DLN is the identity until the first teach step (after iter 2).
    assert lines[0]['modules']['loss_cls']['mean'] == [1.0, 1.0, 1.0]
    later = lines[-1]['modules']['loss_cls']['mean']
    assert later != [1.0, 1.0, 1.0] and all(0 < w < 10 for w in later)


class _TeachAt(L2TTeacherHook):
    """A user's own policy: teach after iterations 1, 2 and 5 only."""

    def should_teach(self, iteration: int) -> bool:
        return iteration + 1 in (1, 2, 5)


def test_overridden_should_teach_sets_the_class_weight_windows(tmp_path):
    runner = _runner(tmp_path, max_iters=6, checkpoint_interval=6,
                     type=_TeachAt)
    runner.train()
    hook = _teacher_hook(runner)
    assert hook.teach_steps == 3
    lines = _class_weight_lines(tmp_path)
    # One line per teach step, over the iterations since the one before,
    # and one for the iterations after the last: the student's batches of 8
    # only, none of the teach step's passes.
    assert [line['iter'] for line in lines] == [1, 2, 5, 6]
    assert [sum(line['modules']['loss_cls']['count'])
            for line in lines] == [8, 8, 24, 8]
    assert lines[0]['modules']['loss_cls']['mean'] == [1.0, 1.0, 1.0]
    # The last iteration's logged weights: its training batch alone.
    assert hook.records['loss_cls'].weights._count == 8
    assert runner.model.loss_cls.context.record is None


class _PhiAfterEachIteration(Hook):
    """φ after every iteration's teacher hook (it runs at priority 55)."""
    priority = 60

    def __init__(self) -> None:
        self.phi = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self.phi.append(torch.cat([
            p.detach().reshape(-1).clone()
            for p in runner.model.loss_cls.dln.parameters()]))


def test_warmup_sums_its_pairs_and_phi_moves_only_at_its_last(
        tmp_path, monkeypatch):
    from l2t_mm.engine import l2t_teacher_hook
    handed = record_keyword(monkeypatch, l2t_teacher_hook, 'teach_step',
                            'accumulated')
    pairs = []
    pair_meta_gradient = l2t_teacher_hook.pair_meta_gradient

    def recorded(*args, **kwargs):
        pairs.append(pair_meta_gradient(*args, **kwargs))
        return pairs[-1]

    monkeypatch.setattr(l2t_teacher_hook, 'pair_meta_gradient', recorded)
    ticks = itertools.count()
    monkeypatch.setattr(l2t_teacher_hook, 'time',
                        SimpleNamespace(perf_counter=lambda: next(ticks)))
    runner = _runner(tmp_path, max_iters=6, checkpoint_interval=6,
                     interval=2, start_iter=1, warmup_batches=3)
    phi = _PhiAfterEachIteration()
    runner.register_hook(phi)
    runner.train()
    hook = _teacher_hook(runner)
    # Iteration 1 is before start_iter; 2-3 only sum; 4 steps from the sum
    # of three pairs; then the interval takes over (6).
    assert [torch.equal(phi.phi[i], phi.phi[0]) for i in range(6)] == [
        True, True, True, False, False, False]
    assert not torch.equal(phi.phi[4], phi.phi[5])
    assert hook.teach_steps == 2 and hook.warmup_count == 3
    assert len(pairs) == 2 and len(handed) == 2 and handed[1] is None
    assert torch.equal(handed[0], pairs[0] + pairs[1])
    assert hook.warmup_sum is None
    # The first window runs to the warm-up's step: the student's batches
    # only, none of the warm-up's look-aheads.
    lines = _class_weight_lines(tmp_path)
    assert [line['iter'] for line in lines] == [4, 6]
    assert [sum(line['modules']['loss_cls']['count'])
            for line in lines] == [32, 16]
    assert runner.message_hub.get_scalar(
        'train/l2t/warmup_batches').current() == 3
    # The summing's running total, one value per summing iteration (2, 3):
    # each took one tick of the clock below.
    assert list(runner.message_hub.get_scalar(
        'train/l2t/warmup_seconds').data[0]) == [1, 2]
    log = _log(tmp_path)
    assert "The first teach step sums 3 batch pairs' meta-gradients" in log
    assert ('the first teach step (iter 4) summed the meta-gradients of 3 '
            'batch pairs') in log


def test_the_warmups_step_comes_off_the_interval_then_the_interval(
        tmp_path):
    runner = _runner(tmp_path, max_iters=6, checkpoint_interval=6,
                     interval=2, warmup_batches=3)
    phi = _PhiAfterEachIteration()
    runner.register_hook(phi)
    runner.train()
    assert torch.equal(phi.phi[0], phi.phi[1])
    assert not torch.equal(phi.phi[1], phi.phi[2])
    assert _teacher_hook(runner).teach_steps == 3  # iterations 3, 4 and 6
    assert [line['iter'] for line in _class_weight_lines(tmp_path)] == [
        3, 4, 6]


def test_a_warmup_that_cannot_end_is_warned_about(tmp_path):
    runner = _runner(tmp_path, max_iters=2, checkpoint_interval=2,
                     start_iter=1, warmup_batches=2)
    runner.train()
    assert _teacher_hook(runner).teach_steps == 0
    assert ('start_iter=1 + warmup_batches=2 exceeds max_iters=2: the '
            'warm-up cannot end') in _log(tmp_path)


class _SnapshotDLN(Hook):
    """Copies φ once the runner has initialised the weights."""

    def before_train(self, runner) -> None:
        self.phi = {n: p.clone() for n, p in
                    runner.model.loss_cls.dln.named_parameters()}
        self.head = runner.model.head.weight.clone()


def test_dln_is_not_stepped_by_the_student_optimizer(tmp_path):
    runner = _runner(tmp_path, max_iters=3, checkpoint_interval=3,
                     interval=100)
    snapshot = _SnapshotDLN()
    runner.register_hook(snapshot)
    runner.train()
    assert not torch.equal(runner.model.head.weight, snapshot.head)
    for name, param in runner.model.loss_cls.dln.named_parameters():
        assert param.grad is None
        assert torch.equal(param, snapshot.phi[name]), name


class _Crash(RuntimeError):
    pass


class _CrashAfter(Hook):
    """Kills training after ``iters`` iterations, once the checkpoint of that
    iteration is written: the run a user resumes."""

    def __init__(self, iters: int) -> None:
        self.iters = iters

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 == self.iters:
            raise _Crash()


def assert_resumed_like_straight(straight, resumed):
    """The resumed run ends bit-equal to the uninterrupted one (model and
    teacher after 8 iterations); returns both checkpoints' teacher entries."""
    assert _teacher_hook(resumed).teach_steps == 4
    for name, value in straight.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], value), name
    a, b = (torch.load(run.work_dir + '/iter_8.pth', weights_only=False)
            [CHECKPOINT_KEY] for run in (straight, resumed))
    for name, value in a['teacher'].items():
        assert torch.equal(b['teacher'][name], value), name
    return a, b


def test_resume_reproduces_uninterrupted_run(tmp_path, trusted_checkpoints):
    straight = _runner(tmp_path / 'straight', max_iters=8,
                       checkpoint_interval=4)
    straight.train()
    first = _runner(tmp_path / 'split', max_iters=8, checkpoint_interval=4)
    first.register_hook(_CrashAfter(4), priority='LOWEST')
    with pytest.raises(_Crash):
        first.train()
    resumed = _runner(tmp_path / 'split', max_iters=8, checkpoint_interval=4,
                      resume=True)
    resumed.train()
    a, b = assert_resumed_like_straight(straight, resumed)
    for name, value in a['optimizer']['state'][0].items():
        assert torch.equal(b['optimizer']['state'][0][name], value), name
    assert a['teacher']['memory'].abs().sum() > 0


WARMUP_RUN = dict(max_iters=8, checkpoint_interval=4, warmup_batches=5)


def _crashed_within_the_warmup(work_dir) -> None:
    """A run with a 5-pair warm-up killed after iteration 4."""
    first = _runner(work_dir, **WARMUP_RUN)
    first.register_hook(_CrashAfter(4), priority='LOWEST')
    with pytest.raises(_Crash):
        first.train()
    saved = torch.load(work_dir / 'iter_4.pth',
                       weights_only=False)[CHECKPOINT_KEY]
    assert saved['warmup_count'] == 4 and saved['warmup_sum'].abs().sum() > 0


def test_resume_within_the_warmup_reproduces_uninterrupted_run(
        tmp_path, trusted_checkpoints):
    straight = _runner(tmp_path / 'straight', **WARMUP_RUN)
    straight.train()
    _crashed_within_the_warmup(tmp_path / 'split')
    resumed = _runner(tmp_path / 'split', resume=True, **WARMUP_RUN)
    resumed.train()
    # The warm-up's step at 5, the interval's at 6 and 8.
    assert _teacher_hook(resumed).teach_steps == 3
    # The summing's time (iterations 1-4, all before the crash) is the
    # checkpoint's, not lost with the restart.
    saved = torch.load(tmp_path / 'split' / 'iter_4.pth', weights_only=False)
    key = 'train/l2t/warmup_seconds'
    total = saved['message_hub']['log_scalars'][key].current()
    assert total > 0
    assert resumed.message_hub.get_scalar(key).current() == total
    for name, value in straight.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], value), name


def test_resume_without_the_warmup_drops_its_sum_and_says_so(
        tmp_path, trusted_checkpoints, monkeypatch):
    from l2t_mm.engine import l2t_teacher_hook
    _crashed_within_the_warmup(tmp_path)
    handed = record_keyword(monkeypatch, l2t_teacher_hook, 'teach_step',
                            'accumulated')
    resumed = _runner(tmp_path, resume=True,
                      **dict(WARMUP_RUN, warmup_batches=0))
    resumed.train()
    hook = _teacher_hook(resumed)
    assert hook.teach_steps == 2 and handed == [None, None]  # 6 and 8
    assert hook.warmup_sum is None and hook.warmup_count == 0
    assert ('saved within a warm-up (4 batch pairs summed), but '
            'warmup_batches=0 now: the sum is dropped') in ''.join(
                path.read_text() for path in tmp_path.rglob('*.log'))


@pytest.mark.parametrize('teacher, match', [
    (dict(type='LSTMTeacher', hidden_size=8),
     r'\(LSTMTeacher\) does not fit this LSTMTeacher \(cells.0.bias_hh: '
     r'\(80,\) in the source, \(32,\) here\)'),
    (dict(type='MLPTeacher'),
     r'\(LSTMTeacher\) does not fit this MLPTeacher \(another teacher '
     r'type\)'),
])
def test_resume_with_another_teacher_config_names_the_difference(
        tmp_path, trusted_checkpoints, teacher, match):
    _runner(tmp_path, max_iters=2, checkpoint_interval=2).train()
    resumed = _runner(tmp_path, max_iters=4, checkpoint_interval=2,
                      resume=True, teacher=teacher)
    with pytest.raises(ValueError, match=match + '.* Use the same config'):
        resumed.train()


def test_missing_or_empty_teach_dataloader(tmp_path):
    with pytest.raises(ValueError, match='teach_dataloader is required'):
        L2TTeacherHook()
    runner = _runner(tmp_path, max_iters=2, checkpoint_interval=2,
                     teach_dataset=ToyDataset(0, 1))
    with pytest.raises(ValueError, match='teach_dataloader is empty'):
        runner.train()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _ddp_worker(rank: int, port: int, work_dir: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE='2',
                      MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    from l2t_mm.utils.launch import destroy_distributed, init_cpu_distributed
    init_cpu_distributed('pytorch')
    try:
        runner = _runner(work_dir, max_iters=4, checkpoint_interval=4,
                         launcher='pytorch')
        runner.train()
    except BaseException:
        destroy_distributed(synchronize=False)
        raise
    destroy_distributed()
    model = runner.model.module
    hook = _teacher_hook(runner)
    torch.save(dict(phi=model.loss_cls.dln.state_dict(),
                    psi=hook.teacher.state_dict(),
                    teach_steps=hook.teach_steps),
               os.path.join(work_dir, f'rank{rank}.pth'))


def test_ddp_two_ranks_keep_phi_and_psi_identical(tmp_path):
    mp.spawn(_ddp_worker, args=(_free_port(), str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f'rank{r}.pth') for r in (0, 1)]
    assert [r['teach_steps'] for r in ranks] == [2, 2]
    # Class weights summed over both ranks (2 x 2 iterations x batch 8),
    # written by rank 0 only.
    lines = _class_weight_lines(tmp_path)
    assert [sum(line['modules']['loss_cls']['count']) for line in lines] == [
        32, 32]
    assert ranks[0]['psi']['memory'].abs().sum() > 0
    for part in ('phi', 'psi'):
        for name, value in ranks[0][part].items():
            assert torch.equal(ranks[1][part][name], value), (part, name)


@pytest.mark.parametrize('setting, clip, expected', [
    ('auto', dict(max_norm=0.5), 0.5),
    ('auto', None, None),
    ('auto', dict(type='value', clip_value=1.0), None),
    (2.0, dict(max_norm=0.5), 2.0),
    (None, dict(max_norm=0.5), None),
])
def test_lookahead_clipping_follows_the_student_optimizer(
        tmp_path, setting, clip, expected):
    hook = L2TTeacherHook(teach_dataloader=_loader(ToyDataset(8, 1)),
                          lookahead_max_grad_norm=setting)
    runner = _runner(tmp_path, max_iters=1, checkpoint_interval=1)
    runner.optim_wrapper = runner.build_optim_wrapper(
        dict(optimizer=dict(type='SGD', lr=0.1), clip_grad=clip))
    assert hook.meta_objective(runner).max_grad_norm == expected


def test_meta_objective_carries_every_option_of_the_hook(tmp_path):
    from l2t_mm.engine import MetaObjective
    hook = L2TTeacherHook(teach_dataloader=_loader(ToyDataset(8, 1)),
                          lookahead_steps=3, lookahead_max_grad_norm=2.0,
                          lookahead_direction_only=True,
                          val_loss='class_mean')
    runner = _runner(tmp_path, max_iters=1, checkpoint_interval=1)
    assert hook.meta_objective(runner) == MetaObjective(
        lookahead_steps=3, max_grad_norm=2.0, direction_only=True,
        class_mean=True)


@pytest.mark.parametrize('direction_only', [False, True])
def test_direction_only_reaches_the_teach_step(tmp_path, monkeypatch,
                                               direction_only):
    from l2t_mm.engine import l2t_teacher_hook
    seen = record_keyword(monkeypatch, l2t_teacher_hook, 'teach_step',
                          'objective')
    runner = _runner(tmp_path, max_iters=2, checkpoint_interval=2,
                     lookahead_direction_only=direction_only)
    runner.train()
    assert [objective.direction_only for objective in seen] == [
        direction_only]
    assert _teacher_hook(runner).teach_steps == 1


def test_invalid_clipping_setting_names_the_key():
    with pytest.raises(ValueError, match='lookahead_max_grad_norm'):
        L2TTeacherHook(teach_dataloader=_loader(ToyDataset(8, 1)),
                       lookahead_max_grad_norm='always')


class _Capture(Hook):
    """Records the teacher hook's state as training starts (after any
    checkpoint was loaded)."""
    def before_train(self, runner) -> None:
        hook = _teacher_hook(runner)
        self.phi = copy.deepcopy(runner.model.loss_cls.dln.state_dict())
        self.teacher = copy.deepcopy(hook.teacher.state_dict())
        self.teach_steps = hook.teach_steps
        self.teach_batches = hook.teach_batches_in_epoch


def test_test_mode_builds_neither_teacher_nor_teach_loader(
        tmp_path, trusted_checkpoints):
    trained = _runner(tmp_path / 'train', max_iters=2, checkpoint_interval=2)
    trained.train()
    # A teach split that cannot be built: Runner.test() must not need it.
    absent = dict(_loader(ToyDataset(8, 1)),
                  dataset=dict(type='NoSuchTeachDataset'))
    tester = _runner(tmp_path / 'test', max_iters=2, checkpoint_interval=2,
                     load_from=str(tmp_path / 'train' / 'iter_2.pth'),
                     teach_loader=absent)
    metrics = tester.test()
    assert 0 <= metrics['accuracy'] <= 1
    hook = _teacher_hook(tester)
    assert hook.teacher is None and not hook.training
    trained_phi = trained.model.loss_cls.dln.state_dict()
    for name, value in tester.model.loss_cls.dln.state_dict().items():
        assert torch.equal(value, trained_phi[name]), name


@pytest.mark.parametrize('restore', [False, True])
def test_load_from_takes_phi_and_only_asked_for_teacher_never_the_loader(
        tmp_path, restore, trusted_checkpoints):
    source = _runner(tmp_path / 'source', max_iters=4,
                     checkpoint_interval=4)
    source.train()
    saved = torch.load(tmp_path / 'source' / 'iter_4.pth',
                       weights_only=False)
    assert saved[CHECKPOINT_KEY]['teach_batches_in_epoch'] == 2
    finetune = _runner(tmp_path / 'finetune', max_iters=1,
                       checkpoint_interval=1,
                       load_from=str(tmp_path / 'source' / 'iter_4.pth'),
                       restore_teacher_on_load=restore)
    capture = _Capture()
    finetune.register_hook(capture, priority='LOWEST')
    finetune.train()
    for name, value in source.model.loss_cls.dln.state_dict().items():
        assert torch.equal(capture.phi[name], value), name
    saved_teacher = saved[CHECKPOINT_KEY]['teacher']
    same = [torch.equal(capture.teacher[name], value)
            for name, value in saved_teacher.items()]
    assert all(same) if restore else not all(same)
    assert capture.teach_steps == 0 and capture.teach_batches == 0
    if not restore:
        assert 'L2T: loaded φ of all 1 DLN(s)' in _log(tmp_path / 'finetune')


def test_load_from_a_checkpoint_without_phi_says_phi_starts_fresh(
        tmp_path, trusted_checkpoints):
    _runner(tmp_path / 'source', max_iters=2, checkpoint_interval=2).train()
    saved = torch.load(tmp_path / 'source' / 'iter_2.pth', weights_only=False)
    # What a baseline's checkpoint looks like to an L2T config.
    saved['state_dict'] = {name: value for name, value in
                           saved['state_dict'].items() if '.dln.' not in name}
    saved.pop(CHECKPOINT_KEY)
    torch.save(saved, tmp_path / 'baseline.pth')
    finetune = _runner(tmp_path / 'finetune', max_iters=1,
                       checkpoint_interval=1,
                       load_from=str(tmp_path / 'baseline.pth'))
    finetune.train()
    log = _log(tmp_path / 'finetune')
    assert 'the checkpoint has no DLN parameters' in log
    assert 'loaded φ with the model' not in log


def test_teacher_from_another_config_is_refused_with_the_mismatch(
        tmp_path, trusted_checkpoints):
    _runner(tmp_path / 'lstm', max_iters=2, checkpoint_interval=2).train()
    other = _runner(tmp_path / 'adam', max_iters=1, checkpoint_interval=1,
                    load_from=str(tmp_path / 'lstm' / 'iter_2.pth'),
                    restore_teacher_on_load=True,
                    teacher=dict(type='AdamTeacher'))
    with pytest.raises(ValueError, match='LSTMTeacher.*AdamTeacher'):
        other.train()


@pytest.mark.parametrize('key, value', [
    ('dln_lr', 0), ('restore_teacher_on_load', 'yes'), ('interval', 0),
    ('lookahead_lr', -1.0), ('val_loss', 'mIoU'),
    ('lookahead_direction_only', 'True'), ('warmup_batches', -1),
    ('warmup_batches', 2.5)])
def test_bad_hook_options_name_the_key(key, value):
    with pytest.raises(ValueError, match=key):
        L2TTeacherHook(teach_dataloader=_loader(ToyDataset(8, 1)),
                       **{key: value})


def test_default_teacher_is_adam_and_has_no_optimizer(tmp_path):
    runner = _runner(tmp_path, max_iters=2, checkpoint_interval=2,
                     teacher=None)
    runner.train()
    hook = _teacher_hook(runner)
    assert type(hook.teacher).__name__ == 'AdamTeacher'
    assert hook.teacher_optimizer is None and hook.teach_steps == 1
    saved = torch.load(tmp_path / 'iter_2.pth', weights_only=False)
    assert saved[CHECKPOINT_KEY]['teacher_type'] == 'AdamTeacher'
    assert saved[CHECKPOINT_KEY]['teacher']['steps'] == 1
