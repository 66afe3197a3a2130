"""Which configs a benchmark trains, in which order, with which options."""
import argparse

import pytest
from tool_helpers import REPO

from l2t_mm.engine.teacher_transfer import validate_init_teacher
from mmengine.registry import HOOKS

from l2t_mm.engine import L2TTeacherHook
from l2t_mm.benchmark.variants import (BenchmarkError, baseline_twin,
                                       init_teacher_option, interleaved,
                                       is_teacher_hook,
                                       l2t_only_options, run_options,
                                       teach_interval, teacher_hook_index,
                                       variants)
from l2t_mm.utils.launch import add_common_arguments, load_config

YOLO = str(REPO / 'configs' / 'yolo_l2t.py')


def test_baseline_twin_and_the_errors_that_name_the_option(tmp_path):
    assert baseline_twin(YOLO) == str(REPO / 'configs' / 'yolo_baseline.py')
    with pytest.raises(BenchmarkError, match='pass --baseline CONFIG'):
        baseline_twin(str(REPO / 'configs' / 'yolo_uw.py'))
    with pytest.raises(BenchmarkError, match='twin .* does not exist'):
        baseline_twin(str(tmp_path / 'mine_l2t.py'))


def test_peers_are_named_by_what_they_add_to_the_l2t_prefix():
    configs = REPO / 'configs'
    named = variants(YOLO, 'b.py', [str(configs / 'yolo_uw.py'),
                                    str(configs / 'yolox_l2t.py')])
    assert [name for name, _ in named] == ['baseline', 'l2t', 'uw',
                                           'yolox_l2t']
    with pytest.raises(BenchmarkError, match="would be named 'baseline'"):
        variants(YOLO, 'b.py', [str(configs / 'yolo_baseline.py')])
    with pytest.raises(BenchmarkError, match='--peers: .* does not exist'):
        variants(YOLO, 'b.py', ['configs/yolo_nope.py'])


def test_the_order_rotates_per_seed():
    named = [('baseline', 'b'), ('l2t', 'l'), ('uw', 'u')]
    order = [(seed, name) for seed, name, _ in
             interleaved(named, [0, 1, 2, 3])]
    assert order == [
        (0, 'baseline'), (0, 'l2t'), (0, 'uw'),
        (1, 'l2t'), (1, 'uw'), (1, 'baseline'),
        (2, 'uw'), (2, 'baseline'), (2, 'l2t'),
        (3, 'baseline'), (3, 'l2t'), (3, 'uw')]


def test_run_options_shared_by_every_variant():
    assert run_options(600, 2, 4, None, {}) == [
        'randomness.seed=2', 'train_cfg.max_iters=600',
        'train_cfg.val_interval=150',
        'default_hooks.checkpoint.interval=600',
        'default_hooks.logger.interval=1', 'log_processor.window_size=1']
    options = run_options(2, 0, 4, 24, {'train_cfg.max_iters': 3, 'a.b': 1})
    assert 'train_cfg.val_interval=1' in options
    assert 'val_dataloader.dataset.indices=24' in options
    assert 'train_cfg.max_iters=3' in options  # --cfg-options win
    assert options[-1] == 'a.b=1'


def test_l2t_only_options_find_the_hook_in_each_config(tmp_path):
    yolox = str(REPO / 'configs' / 'yolox_l2t.py')
    assert teacher_hook_index(yolox, '--x') == 2  # after YOLOX's own hooks
    assert teach_interval(yolox, None) == 10
    assert teach_interval(yolox, 4) == 4
    assert l2t_only_options(yolox, 4, ['t=1'], {'custom_hooks.2.dln_lr': 2}
                            ) == ['custom_hooks.2.interval=4', 't=1',
                                  'custom_hooks.2.dln_lr=2']
    assert l2t_only_options(YOLO, None, [], {}) == []
    with pytest.raises(BenchmarkError, match='--teach-interval: .* has no '
                       'L2TTeacherHook'):
        l2t_only_options(str(REPO / 'configs' / 'yolo_uw.py'), 4, [], {})


class _MyTeacherHook(L2TTeacherHook):
    """A user's subclass, registered under its own name."""


def test_a_subclass_of_the_teacher_hook_is_found(tmp_path):
    name = '_BenchmarkTestTeacherHook'
    if HOOKS.get(name) is None:
        HOOKS.register_module(name=name, module=_MyTeacherHook)
    assert is_teacher_hook(dict(type=name))
    assert is_teacher_hook(dict(type=_MyTeacherHook))
    assert is_teacher_hook(dict(type='L2TTeacherHook'))
    assert not is_teacher_hook(dict(type='EMAHook'))
    assert not is_teacher_hook(dict(type='NoSuchHook'))
    config = tmp_path / 'mine_l2t.py'
    config.write_text(
        f"_base_ = ['{REPO / 'configs' / 'yolo_l2t.py'}']\n"
        f"custom_hooks = [dict(type='EMAHook'), dict(type='{name}', "
        "teach_dataloader=None, interval=7)]\n")
    assert teacher_hook_index(str(config), '--x') == 1
    assert teach_interval(str(config), None) == 7


def test_teacher_from_names_the_checkpoint_of_a_run_folder(tmp_path):
    (tmp_path / 'iter_2.pth').write_bytes(b'')
    (tmp_path / 'iter_4.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text('/elsewhere/run/iter_4.pth')
    options = init_teacher_option(YOLO, str(tmp_path))
    checkpoint = str((tmp_path / 'iter_4.pth').resolve())
    assert options == [f'custom_hooks.0.init_teacher.checkpoint={checkpoint}']
    # As tools/train.py reads --cfg-options: the hook gets a valid option.
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    parsed = parser.parse_args([YOLO, '--cfg-options', *options])
    cfg = load_config(YOLO, parsed.cfg_options)
    assert validate_init_teacher(cfg.custom_hooks[0].init_teacher) == dict(
        checkpoint=checkpoint, load=('teacher', 'memory', 'dln'),
        dlns=None)
    assert init_teacher_option(YOLO, None) == []
    with pytest.raises(BenchmarkError,
                       match='--teacher-from: .* does not exist'):
        init_teacher_option(YOLO, str(tmp_path / 'absent'))
