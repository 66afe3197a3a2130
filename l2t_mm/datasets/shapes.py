"""Procedural "shapes" dataset for detection and semantic segmentation.

Why: L2T experiments need data that builds in seconds on a CPU, has a
long-tailed class prior and controllable label noise, and whose clean labels
are known exactly. Every image is drawn from its own ``numpy.random.Generator``
seeded by ``(seed, split, index)``, so the output is byte-identical whatever
the worker count or order. Label noise uses a separate child stream, so
images and clean labels do not depend on the noise options.

Layout written by :func:`generate_dataset` (mmdet ``CocoDataset`` and mmseg
``BaseSegDataset`` read it as is)::

    OUT/img_dir/{train,val,teach}/000000.png     RGB images
    OUT/ann_dir/{train,val,teach}/000000.png     seg maps: 0 background, k+1
                                                 class k, 255 ignore
    OUT/ann_dir_clean/train/000000.png           clean train seg maps
    OUT/annotations/instances_{train,val,teach,train_clean}.json   COCO
    OUT/manifest.json                            options, counts, sha256s
"""
import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from ..version import __version__

try:
    from mmengine.logging import MMLogger
except ImportError:  # the generator only needs numpy, cv2 and pycocotools
    MMLogger = None

SHAPES_CLASSES = ('circle', 'square', 'triangle', 'star', 'hexagon', 'cross')
SHAPES_PALETTE = [(220, 20, 60), (0, 130, 230), (255, 160, 0),
                  (150, 60, 200), (0, 170, 110), (120, 120, 120)]
SPLITS = ('train', 'val', 'teach')
FLIP_MODES = ('uniform', 'pair')
# Bump when the same options would produce different files.
GENERATOR_VERSION = 2  # 2: class-flipped train sets record clean classes
IGNORE_INDEX = 255

_SPLIT_IDS = {'train': 0, 'val': 1, 'teach': 2}
_MAX_OBJECTS = 8
_MIN_VISIBLE_FRACTION = 0.3
_MIN_VISIBLE_PIXELS = 20
_PNG_FLAGS = [cv2.IMWRITE_PNG_COMPRESSION, 1]
_BOUNDARY_KERNEL = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
_SUBPIXEL_SHIFT = 4  # cv2.fillPoly fixed-point bits: sub-pixel vertices


def _regular_polygon(num_vertices: int,
                     phase: float = np.pi / 2) -> np.ndarray:
    angles = phase + 2 * np.pi * np.arange(num_vertices) / num_vertices
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _star(num_points: int = 5, inner_radius: float = 0.45) -> np.ndarray:
    vertices = _regular_polygon(2 * num_points)
    vertices[1::2] *= inner_radius
    return vertices


def _cross(half_width: float = 0.33) -> np.ndarray:
    w = half_width
    vertices = np.array([(w, 1), (w, w), (1, w), (1, -w), (w, -w), (w, -1),
                         (-w, -1), (-w, -w), (-1, -w), (-1, w), (-w, w),
                         (-w, 1)])
    return vertices / np.hypot(1, w)


# Unit outlines (circumradius 1) in SHAPES_CLASSES order.
_OUTLINES = (_regular_polygon(64), _regular_polygon(4, np.pi / 4),
             _regular_polygon(3), _star(), _regular_polygon(6), _cross())


class OptionError(ValueError):
    """A bad generator option; the message names the CLI flag and the fix."""


@dataclasses.dataclass(frozen=True)
class ShapesOptions:
    """Everything that determines the generated files (and nothing else).

    Sizes are in pixels; object sizes are circumscribed diameters, drawn
    log-uniformly so small objects dominate. Noise options apply to the
    train split only; ``noise_drop_box`` and ``noise_box_jitter`` touch the
    COCO boxes only, ``noise_class_flip`` and ``noise_mask_erode`` touch both
    the COCO annotations and the seg maps. ``noise_flip_mode`` says where a
    flipped label goes: ``'uniform'``, any other class alike; ``'pair'``,
    always the next class (k -> k+1, the last to the first; the asymmetric
    "pair flipping" of Co-teaching, Han et al. 2018), so one wrong class
    holds all of a class's flips and is learned as a rival. Both flip the
    same objects. ``class_colours`` tints each
    object with its class's palette colour (otherwise fills are independent
    of the class and only the outline tells classes apart).

    A field added later must default to the files made before it existed:
    a manifest without it reads as that default.
    """
    seed: int = 0
    size: int = 256
    min_size: int = 12
    max_size: int = 96
    num_train: int = 800
    num_val: int = 200
    num_teach: int = 100
    class_prior: str = 'longtail'
    imbalance_ratio: float = 10.0
    noise_class_flip: float = 0.0
    noise_flip_mode: str = 'uniform'
    noise_drop_box: float = 0.0
    noise_box_jitter: float = 0.0
    noise_mask_erode: int = 0
    class_colours: bool = False

    def validate(self) -> None:
        """Raise :class:`OptionError` for the first bad option."""
        for name in ('seed', 'num_train', 'num_val', 'num_teach',
                     'noise_mask_erode'):
            _require(name, getattr(self, name) >= 0,
                     f'must be >= 0, got {getattr(self, name)}')
        _require('size', self.size >= 32, f'must be >= 32, got {self.size}')
        _require('min_size', self.min_size >= 8,
                 f'must be >= 8, got {self.min_size}')
        _require(
            'min_size', self.min_size <= self.max_size,
            f'({self.min_size}) must be <= --max-size ({self.max_size})')
        _require(
            'max_size', self.max_size <= self.size,
            f'must be <= --size ({self.size}), got {self.max_size}')
        _require('class_colours', isinstance(self.class_colours, bool),
                 f'must be True or False, got {self.class_colours!r}')
        _require('class_prior', self.class_prior in ('uniform', 'longtail'),
                 f"must be 'uniform' or 'longtail', got {self.class_prior!r}")
        _require('noise_flip_mode', self.noise_flip_mode in FLIP_MODES,
                 f'must be one of {FLIP_MODES}, got {self.noise_flip_mode!r}')
        # It only says where flipped labels go: without flips it would be
        # ignored, and a manifest would differ over files that do not.
        _require('noise_flip_mode',
                 self.noise_flip_mode == 'uniform'
                 or self.noise_class_flip > 0,
                 f'{self.noise_flip_mode!r} needs --noise-class-flip > 0; set '
                 'a flip rate or leave the mode at uniform')
        _require('imbalance_ratio', self.imbalance_ratio >= 1,
                 f'must be >= 1, got {self.imbalance_ratio}')
        for name in ('noise_class_flip', 'noise_drop_box',
                     'noise_box_jitter'):
            value = getattr(self, name)
            _require(name, 0 <= value <= 1, f'must be in [0, 1], got {value}')

    def split_sizes(self) -> Dict[str, int]:
        """Number of images per split, in generation order."""
        return {'train': self.num_train, 'val': self.num_val,
                'teach': self.num_teach}


# Named starting points for ``tools/make_dataset.py --preset``; explicit
# flags override a preset's values. 'hard' is the default data: long-tailed,
# mostly small objects, and the students of configs/ stay underfit on it.
# 'easy' has big objects and balanced classes, so a clean student learns
# every class within one short run and label noise has something to spoil
# (docs/benchmark/easy_regime.md).
PRESETS = {
    'hard': ShapesOptions(),
    'easy': ShapesOptions(class_prior='uniform', min_size=32, max_size=96),
}


def preset_options(preset: str = 'hard', **overrides) -> ShapesOptions:
    """A preset's options with ``overrides`` (``ShapesOptions`` fields)."""
    if preset not in PRESETS:
        raise OptionError(f'--preset must be one of {sorted(PRESETS)}, '
                          f'got {preset!r}')
    return dataclasses.replace(PRESETS[preset], **overrides)


def _require(name: str, condition: bool, problem: str) -> None:
    """Raise unless ``condition``; ``name`` is the field, spelt as a flag."""
    if not condition:
        raise OptionError(f"--{name.replace('_', '-')} {problem}")


@dataclasses.dataclass
class Instance:
    """One annotated object: 0-based category, visible mask, COCO box, and
    for a noisy train annotation the category before the noise."""
    category: int
    mask: np.ndarray
    bbox: List[float]
    clean_category: Optional[int] = None


@dataclasses.dataclass
class Sample:
    """A rendered image with its clean instances.

    ``ignore`` marks the visible pixels of objects dropped for being too
    occluded: they are drawn but not annotated, so seg maps ignore them.
    """
    image: np.ndarray
    instances: List[Instance]
    ignore: np.ndarray


def class_probabilities(class_prior: str = 'longtail',
                        imbalance_ratio: float = 10.0,
                        num_classes: int = len(SHAPES_CLASSES)) -> np.ndarray:
    """Per-class sampling probabilities, decaying exponentially over classes.

    With ``'longtail'`` the first class is ``imbalance_ratio`` times as
    likely as the last one; ``'uniform'`` gives equal probabilities.
    """
    ratio = imbalance_ratio if class_prior == 'longtail' else 1.0
    weights = ratio**(-np.arange(num_classes) / max(num_classes - 1, 1))
    return weights / weights.sum()


def image_streams(seed: int, split: str,
                  index: int) -> Tuple[np.random.Generator,
                                       np.random.Generator]:
    """Independent (render, label-noise) generators for one image."""
    sequence = np.random.SeedSequence([seed, _SPLIT_IDS[split], index])
    render_seq, noise_seq = sequence.spawn(2)
    return np.random.default_rng(render_seq), np.random.default_rng(noise_seq)


def _projection(height: int, width: int, angle: float) -> np.ndarray:
    """Pixel coordinates projected on the direction ``angle``."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs * np.float32(np.cos(angle)) + ys * np.float32(np.sin(angle))


def _normalise(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else values * 0


def _blend(weight: np.ndarray, colour_a: np.ndarray,
           colour_b: np.ndarray) -> np.ndarray:
    """Per-pixel mix of two RGB colours; ``weight`` is in [0, 1]."""
    weight = weight[..., None]
    return (colour_a * (1 - weight) + colour_b * weight).astype(np.float32)


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 255, 3).astype(np.float32)


def _stripes(rng: np.random.Generator, height: int, width: int,
             min_period: float, max_period: float) -> np.ndarray:
    period = rng.uniform(min_period, max_period)
    phase = _projection(height, width, rng.uniform(0, np.pi))
    return (np.sin(phase * np.float32(2 * np.pi / period)) > 0).astype(
        np.float32)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth gradient + low-frequency noise, sometimes stripes."""
    gradient = _normalise(_projection(size, size, rng.uniform(0, 2 * np.pi)))
    image = _blend(gradient, _random_colour(rng), _random_colour(rng))
    grid = int(rng.integers(3, 12))
    blobs = cv2.resize(rng.uniform(0, 255, (grid, grid, 3)).astype(np.float32),
                       (size, size), interpolation=cv2.INTER_CUBIC)
    blob_weight = np.float32(rng.uniform(0.2, 0.8))
    image = image * (1 - blob_weight) + blobs * blob_weight
    if rng.random() < 0.4:
        stripes = _blend(_stripes(rng, size, size, 4, 32), _random_colour(rng),
                         _random_colour(rng))
        stripe_weight = np.float32(rng.uniform(0.1, 0.5))
        image = image * (1 - stripe_weight) + stripes * stripe_weight
    return image


def _texture(rng: np.random.Generator, height: int,
             width: int) -> np.ndarray:
    """Object fill whose colours are independent of the class."""
    kind = rng.integers(4)
    colour_a, colour_b = _random_colour(rng), _random_colour(rng)
    if kind == 0:  # solid with noise
        noise = rng.standard_normal((height, width, 3), dtype=np.float32)
        return colour_a + noise * np.float32(rng.uniform(5, 25))
    if kind == 1:
        weight = _stripes(rng, height, width, 3, 12)
    elif kind == 2:  # checker
        cell = rng.uniform(2, 8)
        ys, xs = np.mgrid[0:height, 0:width]
        weight = ((xs // cell + ys // cell) % 2).astype(np.float32)
    else:
        weight = _normalise(
            _projection(height, width, rng.uniform(0, 2 * np.pi)))
    return _blend(weight, colour_a, colour_b)


def mask_bbox(mask: np.ndarray) -> List[float]:
    """COCO ``[x, y, w, h]`` of a mask's pixels (as ``pycocotools.toBbox``)."""
    ys, xs = np.nonzero(mask)
    x0, y0 = xs.min(), ys.min()
    return [float(x0), float(y0), float(xs.max() - x0 + 1),
            float(ys.max() - y0 + 1)]


def _draw_outline(category: int, diameter: float, centre: np.ndarray,
                  angle: float, size: int
                  ) -> Tuple[Tuple[slice, slice], np.ndarray]:
    """Rasterise a rotated outline; returns its crop and the crop's mask."""
    rotation = np.array([[np.cos(angle), -np.sin(angle)],
                         [np.sin(angle), np.cos(angle)]])
    vertices = _OUTLINES[category] @ rotation.T * (diameter / 2) + centre
    x0, y0 = np.maximum(np.floor(vertices.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(vertices.max(axis=0)).astype(int) + 1, size)
    local = np.round((vertices - (x0, y0)) * (1 << _SUBPIXEL_SHIFT))
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [local.astype(np.int32)], 1, cv2.LINE_8,
                 _SUBPIXEL_SHIFT)
    return (slice(y0, y1), slice(x0, x1)), mask.astype(bool)


def render_sample(options: ShapesOptions, rng: np.random.Generator) -> Sample:
    """Draw one image and its clean instances (visible masks, occlusion)."""
    size = options.size
    probabilities = class_probabilities(options.class_prior,
                                        options.imbalance_ratio)
    image = _background(rng, size)
    owner = np.full((size, size), -1, np.int16)
    full_areas, categories = [], []
    for index in range(int(rng.integers(1, _MAX_OBJECTS + 1))):
        category = int(rng.choice(len(SHAPES_CLASSES), p=probabilities))
        diameter = float(np.exp(rng.uniform(np.log(options.min_size),
                                            np.log(options.max_size))))
        centre = rng.uniform(diameter / 2, size - diameter / 2, 2)
        crop, mask = _draw_outline(category, diameter, centre,
                                   rng.uniform(0, 2 * np.pi), size)
        texture = _texture(rng, *mask.shape)
        if options.class_colours:  # a cue a small student learns at once
            texture = (texture * np.float32(0.4) + np.asarray(
                SHAPES_PALETTE[category], np.float32) * np.float32(0.6))
        image[crop][mask] = texture[mask]
        owner[crop][mask] = index
        full_areas.append(int(mask.sum()))
        categories.append(category)
    noise_sigma = np.float32(rng.uniform(2, 15))
    image += rng.standard_normal(image.shape, dtype=np.float32) * noise_sigma
    instances, ignore = [], np.zeros((size, size), bool)
    for index, (category, full_area) in enumerate(zip(categories, full_areas)):
        visible = owner == index
        area = int(visible.sum())
        if area < _MIN_VISIBLE_FRACTION * full_area or \
                area < _MIN_VISIBLE_PIXELS:
            ignore |= visible
        else:
            instances.append(Instance(category, visible, mask_bbox(visible)))
    return Sample(np.clip(image, 0, 255).astype(np.uint8), instances, ignore)


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Shrink a boolean mask by ``radius`` pixels (disk-shaped kernel)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                       (2 * radius + 1, 2 * radius + 1))
    return cv2.erode(mask.astype(np.uint8), kernel).astype(bool)


def apply_label_noise(instances: Sequence[Instance], options: ShapesOptions,
                      rng: np.random.Generator
                      ) -> Tuple[List[Instance], List[Instance]]:
    """Noisy ``(segmentation, detection)`` instances for the train split.

    The same random numbers are drawn whatever the probabilities, so raising
    one noise level only adds corruptions on top of the lower level's.
    """
    num_classes = len(SHAPES_CLASSES)
    segmentation, detection = [], []
    for instance in instances:
        flip, drop = rng.random(2)
        other = int(rng.integers(num_classes - 1))
        corner_shifts = rng.uniform(-1, 1, 4) * options.noise_box_jitter
        category = instance.category
        if flip < options.noise_class_flip:
            if options.noise_flip_mode == 'pair':
                category = (category + 1) % num_classes
            else:
                category = other if other < category else other + 1
        mask = instance.mask
        if options.noise_mask_erode:
            mask = erode(mask, options.noise_mask_erode)
            if not mask.any():
                continue
        bbox = mask_bbox(mask)
        segmentation.append(Instance(category, mask, bbox))
        if drop >= options.noise_drop_box:
            detection.append(
                Instance(category, mask,
                         _jitter_box(bbox, corner_shifts, options.size),
                         clean_category=instance.category
                         if options.noise_class_flip else None))
    return segmentation, detection


def _jitter_box(bbox: List[float], corner_shifts: np.ndarray,
                size: int) -> List[float]:
    """Move each box side by its shift (a fraction of the box size)."""
    if not corner_shifts.any():
        return bbox
    x, y, w, h = bbox
    xs = np.clip(np.sort([x + corner_shifts[0] * w,
                          x + w + corner_shifts[1] * w]), 0, size)
    ys = np.clip(np.sort([y + corner_shifts[2] * h,
                          y + h + corner_shifts[3] * h]), 0, size)
    x0, y0 = min(xs[0], size - 1), min(ys[0], size - 1)
    return [round(float(x0), 2), round(float(y0), 2),
            round(float(max(xs[1] - x0, 1)), 2),
            round(float(max(ys[1] - y0, 1)), 2)]


def segmentation_map(instances: Sequence[Instance],
                     ignore: np.ndarray) -> np.ndarray:
    """uint8 seg map: 0 background, k+1 class k, 255 on a 1-px inner band of
    every instance and on unannotated (too occluded) object pixels."""
    seg_map = np.zeros(ignore.shape, np.uint8)
    band = ignore.copy()
    for instance in instances:
        seg_map[instance.mask] = instance.category + 1
        interior = cv2.erode(instance.mask.astype(np.uint8), _BOUNDARY_KERNEL)
        band |= instance.mask & ~interior.astype(bool)
    seg_map[band] = IGNORE_INDEX
    return seg_map


def coco_annotation(instance: Instance) -> dict:
    """COCO annotation (without ids) with a compressed RLE of the mask; a
    train annotation of a class-flipped set also carries
    ``clean_category_id``, the class before the noise (for the noise
    diagnostic, never for training)."""
    rle = mask_utils.encode(np.asfortranarray(instance.mask.astype(np.uint8)))
    annotation = dict(
        category_id=instance.category + 1,
        bbox=instance.bbox,
        area=float(instance.mask.sum()),
        iscrowd=0,
        segmentation=dict(size=[int(s) for s in rle['size']],
                          counts=rle['counts'].decode('ascii')))
    if instance.clean_category is not None:
        annotation['clean_category_id'] = instance.clean_category + 1
    return annotation


def _write_png(root: Path, relative_path: str, array: np.ndarray,
               hashes: Dict[str, str]) -> None:
    ok, encoded = cv2.imencode('.png', array, _PNG_FLAGS)
    if not ok:
        raise RuntimeError(f'cannot encode {relative_path} as PNG')
    data = encoded.tobytes()
    (root / relative_path).write_bytes(data)
    hashes[relative_path] = hashlib.sha256(data).hexdigest()


def _generate_image(task: Tuple[ShapesOptions, str, int, str]) -> dict:
    """Render, label and write one image; returns its COCO records."""
    options, split, index, root = task
    root = Path(root)
    file_name = f'{index:06d}.png'
    render_rng, noise_rng = image_streams(options.seed, split, index)
    sample = render_sample(options, render_rng)
    hashes: Dict[str, str] = {}
    _write_png(root, f'img_dir/{split}/{file_name}',
               cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR), hashes)
    clean_seg_map = segmentation_map(sample.instances, sample.ignore)
    record = dict(file_name=file_name, hashes=hashes,
                  annotations=[coco_annotation(i) for i in sample.instances])
    if split == 'train':
        _write_png(root, f'ann_dir_clean/train/{file_name}', clean_seg_map,
                   hashes)
        record['clean_annotations'] = record['annotations']
        seg_instances, det_instances = apply_label_noise(
            sample.instances, options, noise_rng)
        record['annotations'] = [coco_annotation(i) for i in det_instances]
        seg_map = segmentation_map(seg_instances, sample.ignore)
    else:
        seg_map = clean_seg_map
    _write_png(root, f'ann_dir/{split}/{file_name}', seg_map, hashes)
    return record


def _coco_file(records: Sequence[dict], key: str, size: int) -> dict:
    images, annotations = [], []
    for image_id, record in enumerate(records, start=1):
        images.append(dict(id=image_id, file_name=record['file_name'],
                           height=size, width=size))
        for annotation in record[key]:
            annotations.append(
                dict(id=len(annotations) + 1, image_id=image_id, **annotation))
    categories = [dict(id=k + 1, name=name, supercategory='shape')
                  for k, name in enumerate(SHAPES_CLASSES)]
    return dict(info=dict(description='l2t_mm procedural shapes',
                          version=GENERATOR_VERSION),
                licenses=[], images=images, annotations=annotations,
                categories=categories)


def _count(coco: dict) -> dict:
    per_class = dict.fromkeys(SHAPES_CLASSES, 0)
    for annotation in coco['annotations']:
        per_class[SHAPES_CLASSES[annotation['category_id'] - 1]] += 1
    return dict(images=len(coco['images']),
                instances=len(coco['annotations']), per_class=per_class)


def _write_json(root: Path, relative_path: str, content: dict,
                hashes: Dict[str, str]) -> None:
    data = json.dumps(content, separators=(',', ':')).encode()
    (root / relative_path).write_bytes(data)
    hashes[relative_path] = hashlib.sha256(data).hexdigest()


def _log(message: str) -> None:
    if MMLogger is None:
        print(message, flush=True)
    else:
        MMLogger.get_current_instance().info(message)


def _options_record(options: ShapesOptions) -> dict:
    """Options as stored in (and read back from) the manifest."""
    return json.loads(json.dumps(dict(generator_version=GENERATOR_VERSION,
                                      **dataclasses.asdict(options))))


def _write_splits(root: Path, options: ShapesOptions, workers: int) -> None:
    """Write every file of the dataset, manifest last, under ``root``."""
    for folder in [f'{kind}/{split}' for kind in ('img_dir', 'ann_dir')
                   for split in SPLITS] + ['ann_dir_clean/train',
                                           'annotations']:
        (root / folder).mkdir(parents=True)
    hashes: Dict[str, str] = {}
    counts: Dict[str, dict] = {}
    pool = multiprocessing.Pool(workers) if workers > 1 else None
    try:
        for split, num_images in options.split_sizes().items():
            start = time.perf_counter()
            tasks = [(options, split, index, str(root))
                     for index in range(num_images)]
            records = (pool.map(_generate_image, tasks, chunksize=8)
                       if pool else [_generate_image(t) for t in tasks])
            coco_files = {split: 'annotations'}
            if split == 'train':
                coco_files['train_clean'] = 'clean_annotations'
            for name, key in coco_files.items():
                coco = _coco_file(records, key, options.size)
                _write_json(root, f'annotations/instances_{name}.json', coco,
                            hashes)
                counts[name] = _count(coco)
            for record in records:
                hashes.update(record['hashes'])
            _log(f'shapes {split}: {num_images} images, '
                 f'{counts[split]["instances"]} instances '
                 f'({time.perf_counter() - start:.1f} s)')
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    manifest = dict(tool='l2t_mm.datasets.shapes', tool_version=__version__,
                    options=_options_record(options), counts=counts,
                    files=dict(sorted(hashes.items())))
    (root / 'manifest.json').write_text(json.dumps(manifest, indent=1))


def _existing_dataset_state(out: Path, options: ShapesOptions) -> str:
    """'missing', 'empty', 'up to date', or why ``out`` is not up to date."""
    if not out.exists():
        return 'missing'
    if out.is_dir() and not any(out.iterdir()):
        return 'empty'
    try:
        manifest = json.loads((out / 'manifest.json').read_text())
        stored = manifest['options']
        files = manifest['files']
    except (OSError, ValueError, KeyError, TypeError):
        return f'{out} exists and is not a shapes dataset'
    wanted = _options_record(options)
    # A manifest written before a field existed holds that field's default.
    stored = dict(_options_record(ShapesOptions()), **stored)
    changed = [f'{key}: {stored.get(key)!r} -> {value!r}'
               for key, value in wanted.items() if stored.get(key) != value]
    if changed:
        return (f'{out} holds a dataset made with other options '
                f'({", ".join(changed)})')
    missing = [path for path in files if not (out / path).is_file()]
    if missing:
        return f'{out} is incomplete ({len(missing)} files missing)'
    return 'up to date'


def _make_temporary_sibling(out: Path) -> Path:
    """Create the temporary folder next to ``out`` (and missing parents).

    Raises :class:`OptionError` naming ``--out`` and leaves nothing behind
    when the location is not writable.
    """
    created = []
    for parent in reversed(out.absolute().parents):
        if not parent.exists():
            created.append(parent)
    try:
        for parent in created:
            parent.mkdir()
        return Path(tempfile.mkdtemp(prefix=f'.{out.name}.', suffix='.tmp',
                                     dir=out.parent))
    except OSError as error:
        for parent in reversed(created):
            if parent.exists():
                parent.rmdir()
        raise OptionError(f'--out: cannot write to {out}: '
                          f'{error.strerror or error}') from error


def generate_dataset(out: Union[str, os.PathLike], options: ShapesOptions,
                     workers: int = 2, overwrite: bool = False) -> str:
    """Write the dataset to ``out`` atomically; returns what was done.

    Returns ``'up to date'`` (nothing written: ``out`` already holds a
    complete dataset made with the same options) or ``'generated'``. All
    files go to a temporary sibling folder that replaces ``out`` only once
    complete, so a failure never leaves a half-written dataset.

    Raises:
        OptionError: a bad option, ``out`` not writable, or ``out`` holding
            something else while ``overwrite`` is false.
    """
    options.validate()
    if workers < 1:
        raise OptionError(f'--workers must be >= 1, got {workers}')
    out = Path(out)
    state = _existing_dataset_state(out, options)
    if state == 'up to date':
        _log(f'shapes dataset at {out} is up to date')
        return state
    replace_existing = state not in ('missing', 'empty')
    if replace_existing and not overwrite:
        raise OptionError(f'--out: {state}; pass --overwrite to replace it '
                          'or choose another --out')
    temporary = _make_temporary_sibling(out)
    try:
        start = time.perf_counter()
        _write_splits(temporary, options, workers)
        _move_into_place(temporary, out, replace_existing)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    _log(f'shapes dataset written to {out} '
         f'({time.perf_counter() - start:.1f} s)')
    return 'generated'


def _move_into_place(temporary: Path, out: Path,
                     replace_existing: bool) -> None:
    """``os.replace`` a folder onto ``out``.

    An old dataset is set aside first (a rename cannot replace a non-empty
    folder) and restored if the replace fails.
    """
    if not replace_existing:  # nothing or an empty folder at ``out``
        os.replace(temporary, out)
        return
    backup = Path(tempfile.mkdtemp(prefix=f'.{out.name}.', suffix='.old',
                                   dir=out.parent))
    backup.rmdir()
    os.replace(out, backup)
    try:
        os.replace(temporary, out)
    except BaseException:
        os.replace(backup, out)
        raise
    shutil.rmtree(backup)
