"""tools/export_teacher.py without training: the run folder holds a
checkpoint written the way the hook writes its teacher entry
(benchmark.py --teacher-from: tests/test_benchmark/test_variants.py)."""
import pytest
import torch
from mmengine.registry import MODELS
from tool_helpers import run_tool
from toy import ToyClassifier

from l2t_mm.engine import partition_parameters
from l2t_mm.engine.teacher_transfer import (CHECKPOINT_KEY, dln_layout,
                                            teacher_record)
from l2t_mm.models.dynamic_loss_module import dynamic_loss_modules


@pytest.fixture
def run_dir(tmp_path):
    """A run folder like mmengine leaves it: iter_2/iter_4 and a
    last_checkpoint naming iter_4 (by an absolute path elsewhere: the
    folder was copied)."""
    model = ToyClassifier()
    layout = dln_layout(model, partition_parameters(model, 'all').dln)
    teacher = MODELS.build(dict(type='MLPTeacher', num_coordinates=sum(
        numel for _, numel in layout)))
    dlns = {name: module.dln
            for name, module in dynamic_loss_modules(model).items()}
    for iteration in (2, 4):
        entry = dict(teacher_record(teacher, dict(type='MLPTeacher'), dlns,
                                    layout, 'other'),
                     optimizer=None, teach_steps=iteration // 2)
        torch.save(dict(meta=dict(iter=iteration, cfg='model = 1\n'),
                        state_dict=model.state_dict(),
                        **{CHECKPOINT_KEY: entry}),
                   tmp_path / f'iter_{iteration}.pth')
    (tmp_path / 'last_checkpoint').write_text('/elsewhere/run/iter_4.pth')
    return tmp_path


def test_export_writes_a_weights_only_teacher_file(run_dir):
    result = run_tool('export_teacher.py', str(run_dir))
    assert result.returncode == 0, result.stderr[-2000:]
    out = run_dir / 'teacher_iter_4.pth'
    assert f'wrote {out} (MLPTeacher for other, 1 DLN(s), 192 ' \
        'coordinates, iter 4' in result.stdout
    saved = torch.load(out, weights_only=True)
    assert saved['source'] == str(run_dir / 'iter_4.pth')
    assert saved['iteration'] == 4 and saved['config'] == 'model = 1\n'
    assert saved['teacher_type'] == 'MLPTeacher'
    assert 'optimizer' not in saved and 'teach_steps' not in saved
    other = run_tool('export_teacher.py', str(run_dir / 'iter_2.pth'),
                     '--out', str(run_dir / 'sub' / 'two.pth'))
    assert other.returncode == 0, other.stderr[-2000:]
    assert torch.load(run_dir / 'sub' / 'two.pth',
                      weights_only=True)['iteration'] == 2


def test_export_refuses_with_one_line_and_exit_code_2(tmp_path):
    missing = run_tool('export_teacher.py', str(tmp_path / 'nothing'))
    torch.save(dict(meta=dict(iter=1), state_dict={}), tmp_path / 'x.pth')
    plain = run_tool('export_teacher.py', str(tmp_path / 'x.pth'))
    for result, reason in ((missing, 'does not exist'),
                           (plain, 'has no teacher')):
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith('export_teacher.py: ')
        assert reason in lines[0]
