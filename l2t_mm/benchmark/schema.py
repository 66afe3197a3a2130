"""What a benchmark writes and reads, named once."""
METRICS = {
    'detection': ['coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_s'],
    'segmentation': ['mIoU', 'aAcc'],
}
WARMUP_ITERS = 3  # first iterations pay for lazy initialisation

# In the output folder.
REPORT_FILE = 'benchmark.json'
CURVES_FILE = '{kind}_curves.png'  # kind: 'val' or 'loss'
# In each run's work dir.
MEASUREMENT_FILE = 'measurement.json'  # written when the run finished
STDOUT_FILE = 'benchmark_stdout.log'  # the training's own output


def run_dir_name(variant: str, seed: int) -> str:
    """A run's work dir inside the output folder (``l2t_seed0``)."""
    return f'{variant}_seed{seed}'
