"""tools/toy_teacher.py: the toy ablation as a command, DLN options included
(in process: a few teach steps take a second)."""
import json
import runpy
import sys

import pytest
from tool_helpers import REPO

TOOL = str(REPO / 'tools' / 'toy_teacher.py')


def _main(monkeypatch, *args: str) -> None:
    monkeypatch.setattr(sys, 'argv', [TOOL, *args])
    runpy.run_path(TOOL, run_name='__main__')


def test_dln_options_reach_the_taught_runs(monkeypatch, tmp_path, capsys):
    common = ['--seeds', '0', '--teachers', 'adam', '--steps', '20']
    _main(monkeypatch, *common, '--out', str(tmp_path / 'all'))
    _main(monkeypatch, *common, '--dln', 'normalise_over=target', '--out',
          str(tmp_path / 'target'))
    _main(monkeypatch, *common, '--lookahead-direction-only', '--out',
          str(tmp_path / 'direction'))
    runs = {name: json.loads((tmp_path / name / 'toy_teacher.json'
                              ).read_text())
            for name in ('all', 'target', 'direction')}
    assert runs['target']['args']['dln'] == dict(normalise_over='target')
    assert runs['direction']['args']['lookahead_direction_only'] is True
    # Each option changes what the teacher does, so the runs differ.
    for name in ('target', 'direction'):
        assert (runs[name]['runs'][0]['weights_max']
                != runs['all']['runs'][0]['weights_max']), name
    assert '| adam |' in capsys.readouterr().out


def test_a_bad_dln_option_names_the_key(monkeypatch):
    with pytest.raises(ValueError, match='WeightingDLN.normalise_over must '
                       'be one of'):
        _main(monkeypatch, '--seeds', '0', '--teachers', 'adam', '--steps',
              '1', '--dln', 'normalise_over=class')
