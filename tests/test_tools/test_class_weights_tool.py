"""tools/class_weights.py: the weights it prints are the rule's on the
training set's pixel counts, in a line a config can take."""
import numpy as np
import pytest
from PIL import Image
from tool_helpers import run_tool

from l2t_mm.datasets.class_balance import PixelCounts, class_weights
from l2t_mm.datasets.shapes import SHAPES_CLASSES

# The segmentation classes: background, then the shapes.
CLASSES = ('background', ) + SHAPES_CLASSES


@pytest.mark.parametrize('rule', ['inverse_log', 'median_frequency'])
def test_prints_the_rules_weights_for_the_training_labels(shapes_dataset,
                                                          rule):
    counts = PixelCounts(np.zeros(len(CLASSES), np.int64),
                         np.zeros(len(CLASSES), np.int64))
    for path in sorted((shapes_dataset / 'ann_dir' / 'train').glob('*.png')):
        label = np.array(Image.open(path)).ravel()
        label = label[label < len(CLASSES)]
        image = np.bincount(label, minlength=len(CLASSES))
        counts.pixels += image
        counts.pixels_of_its_images += (image > 0) * label.size
    result = run_tool('class_weights.py', 'configs/fcn_baseline.py',
                      '--data-root', str(shapes_dataset), '--rule', rule)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = class_weights(counts, rule, CLASSES)
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith('class_weight=[')
    printed = [float(w) for w in line[len('class_weight=['):-1].split(',')]
    assert printed == pytest.approx(expected, abs=1e-4)
    assert f'{CLASSES[-1]:<16}{counts.pixels[-1]:>12}' in result.stdout


@pytest.mark.parametrize('args, message', [
    (['configs/yolo_baseline.py'], 'this is a detection config'),
    (['configs/fcn_baseline.py', '--data-root', 'absent/folder'],
     "data_root='absent/folder/' does not exist"),
])
def test_refuses_with_one_line(args, message):
    result = run_tool('class_weights.py', *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
