from .shapes import (SHAPES_CLASSES, SHAPES_PALETTE, OptionError,
                     ShapesOptions, class_probabilities, generate_dataset,
                     image_streams, render_sample)

__all__ = [
    'SHAPES_CLASSES', 'SHAPES_PALETTE', 'OptionError', 'ShapesOptions',
    'class_probabilities', 'generate_dataset', 'image_streams',
    'render_sample'
]
