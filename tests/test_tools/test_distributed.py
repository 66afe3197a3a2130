"""Two-process CPU training through torchrun + tools/train.py, resumed, then
evaluated with tools/test.py."""
import socket

import torch
from tool_helpers import run_tool, tiny_options

from l2t_mm.utils.run_logs import read_scalars


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _torchrun(work_dir, data_root, iters, *extra):
    prefix = ('-m', 'torch.distributed.run', '--nproc_per_node=2',
              f'--master_port={_free_port()}')
    return run_tool('train.py', 'configs/yolo_l2t.py', '--launcher',
                    'pytorch', '--work-dir', str(work_dir), '--data-root',
                    str(data_root), *extra, '--cfg-options',
                    *tiny_options(iters), 'custom_hooks.0.interval=1',
                    'custom_hooks.0.teach_dataloader.batch_size=2',
                    launcher_prefix=prefix)


def test_torchrun_cpu_train_checkpoint_resume_and_test(shapes_dataset,
                                                       tmp_path):
    first = _torchrun(tmp_path, shapes_dataset, 2)
    assert first.returncode == 0, first.stderr[-3000:]
    assert (tmp_path / 'iter_2.pth').is_file()

    resumed = _torchrun(tmp_path, shapes_dataset, 4, '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = '\n'.join(p.read_text() for p in tmp_path.glob('*/*.log'))
    assert 'resumed epoch: 0, iter: 2' in log
    checkpoint = torch.load(tmp_path / 'iter_4.pth', weights_only=False)
    assert checkpoint['meta']['iter'] == 4
    assert checkpoint['l2t_teacher']['teach_steps'] == 4
    rows = [r for r in read_scalars(tmp_path) if 'l2t/meta_grad_norm' in r]
    assert rows, 'the resumed run logged no teach step'

    tested = run_tool('test.py', 'configs/yolo_l2t.py',
                      str(tmp_path / 'iter_4.pth'), '--work-dir',
                      str(tmp_path / 'test'), '--data-root',
                      str(shapes_dataset), '--cfg-options',
                      *tiny_options(), 'model.test_cfg.score_thr=0',
                      'model.test_cfg.conf_thr=0')
    assert tested.returncode == 0, tested.stderr[-3000:]
    assert 'coco/bbox_mAP' in tested.stdout + tested.stderr
