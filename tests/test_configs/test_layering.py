"""The shipped configs: one layering for both tasks (stock config + shapes
data and schedule bases -> baseline twin -> L2T twin), checked on the
resolved dicts the runner sees."""
import ast
from functools import lru_cache

import pytest
from mmengine.config import Config
from tool_helpers import REPO

CONFIGS = sorted(path.name for path in (REPO / 'configs').glob('*.py'))
L2T_CONFIGS = [name for name in CONFIGS if name.endswith('_l2t.py')]


@lru_cache(maxsize=None)
def resolved(name: str) -> dict:
    return Config.fromfile(str(REPO / 'configs' / name)).to_dict()


def unwrapped(node):
    """``node`` with every L2TLoss config replaced by the loss it wraps."""
    if isinstance(node, dict):
        if node.get('type') == 'L2TLoss':
            return unwrapped(node['loss'])
        return {key: unwrapped(value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(unwrapped(value) for value in node)
    return node


@pytest.mark.parametrize('name', CONFIGS)
def test_every_config_resolves_with_the_package_imported(name):
    cfg = resolved(name)
    assert cfg['custom_imports']['imports'] == ['l2t_mm']
    assert cfg['train_cfg']['max_iters'] == cfg['max_iters']


@lru_cache(maxsize=None)
def parsed(name: str) -> ast.Module:
    """The config file's own syntax tree (not its bases)."""
    return ast.parse((REPO / 'configs' / name).read_text())


def _strings(name: str) -> set:
    return {node.value for node in ast.walk(parsed(name))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def _l2t_types() -> set:
    """Names of the models and hooks l2t_mm registers (its losses, heads,
    weightings and the teacher hook; its data transforms come with the
    shapes data bases, which import the package)."""
    import l2t_mm  # noqa: F401  (registers them)
    from mmengine.registry import HOOKS, MODELS
    return {name for registry in (HOOKS, MODELS)
            for name, cls in registry.module_dict.items()
            if cls.__module__.startswith('l2t_mm.')}


# Configs that name an l2t_mm model or hook in their own file (a peer built
# from stock components only, like fcn_ohem.py, does not).
L2T_TYPES = _l2t_types()
WITH_L2T_COMPONENTS = [name for name in CONFIGS if _strings(name) & L2T_TYPES]


def test_every_l2t_and_peer_config_names_its_components():
    assert set(L2T_CONFIGS) | {'yolo_uw.py', 'yolo_dwa.py'} <= set(
        WITH_L2T_COMPONENTS)
    assert 'fcn_ohem.py' not in WITH_L2T_COMPONENTS


@pytest.mark.parametrize('name', WITH_L2T_COMPONENTS)
def test_configs_with_l2t_components_import_the_package_themselves(name):
    # Not only through a base: a user who swaps the data or schedule base
    # of a copy keeps the import that L2TLoss and the hooks need.
    assigned = {target.id for node in parsed(name).body
                if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}
    assert 'custom_imports' in assigned


@pytest.mark.parametrize('name', L2T_CONFIGS)
def test_l2t_twin_is_its_baseline_with_wrapped_losses_and_the_hook(name):
    l2t = resolved(name)
    baseline = resolved(name.replace('_l2t.py', '_baseline.py'))
    changed = {key for key in set(l2t) | set(baseline)
               if l2t.get(key) != baseline.get(key)}
    assert changed <= {'model', 'custom_hooks', 'stock_head'}
    assert l2t['model'] != baseline['model']
    assert unwrapped(l2t['model']) == baseline['model']
    [hook] = [hook for hook in l2t['custom_hooks']
              if hook['type'] == 'L2TTeacherHook']
    assert l2t['custom_hooks'] == [*baseline.get('custom_hooks', []), hook]
    # The held-out split, read with the student's own training pipeline.
    teach = hook['teach_dataloader']['dataset']
    train = l2t['train_dataloader']['dataset']
    assert 'teach' in str(teach.get('ann_file', teach['data_prefix']))
    assert teach['pipeline'] == train['pipeline']
    assert teach['metainfo'] == train['metainfo']


def test_segmentation_baselines_differ_only_in_the_stock_model():
    fcn = resolved('fcn_baseline.py')
    deeplab = resolved('deeplabv3plus_baseline.py')
    assert {key for key in fcn if fcn[key] != deeplab.get(key)} == {'model'}
    assert set(fcn) == set(deeplab)


@pytest.mark.parametrize('peer', ['fcn_plusteach.py', 'fcn_teachonly.py'])
def test_data_peers_are_the_baseline_with_another_training_set(peer):
    # Same model, schedule and checkpointing: a difference in the benchmark
    # is the training images'.
    fcn, other = resolved('fcn_baseline.py'), resolved(peer)
    assert {key for key in fcn if fcn[key] != other.get(key)} == {
        'train_dataloader'}
    assert set(fcn) == set(other)
    assert ({**fcn['train_dataloader'], 'dataset': None} ==
            {**other['train_dataloader'], 'dataset': None})


def test_detection_baselines_share_loaders_and_schedule():
    yolo, yolox = resolved('yolo_baseline.py'), resolved('yolox_baseline.py')
    for key in ('train_cfg', 'default_hooks', 'val_evaluator'):
        assert yolo[key] == yolox[key], key
    for key in ('train_dataloader', 'val_dataloader'):
        assert ({**yolo[key], 'dataset': None} ==
                {**yolox[key], 'dataset': None}), key
    assert yolo['param_scheduler'][0] == yolox['param_scheduler'][0]
