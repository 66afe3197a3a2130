from .clean_labels import (CocoWithCleanLabels, LoadCleanLabels,
                           PackCleanLabels)
from .holdout import HoldoutDataset
from .shapes import (SHAPES_CLASSES, SHAPES_PALETTE, OptionError,
                     ShapesOptions, class_probabilities, generate_dataset,
                     image_streams, render_sample)

__all__ = [
    'CocoWithCleanLabels', 'LoadCleanLabels', 'PackCleanLabels',
    'HoldoutDataset', 'SHAPES_CLASSES', 'SHAPES_PALETTE', 'OptionError',
    'ShapesOptions', 'class_probabilities', 'generate_dataset',
    'image_streams', 'render_sample'
]
