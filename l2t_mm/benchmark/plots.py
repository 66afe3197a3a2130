"""The validation-metric and training-loss curves of every run."""
from pathlib import Path
from typing import List

from .schema import CURVES_FILE, METRICS

PALETTE = ['tab:blue', 'tab:orange', 'tab:green', 'tab:red', 'tab:purple',
           'tab:brown']


def plot(report: dict, out: Path) -> List[str]:
    """Write ``val_curves.png`` and ``loss_curves.png`` to ``out`` (one
    colour per variant); their paths."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    task = report['benchmark']['task']
    metric = METRICS[task][0]
    colours = {
        variant: PALETTE[i % len(PALETTE)] for i, variant in
        enumerate(dict.fromkeys(r['variant'] for r in report['runs']))
    }
    written = []
    for kind, ylabel in (('val', metric), ('loss', 'training loss')):
        fig, ax = plt.subplots(figsize=(6, 4))
        for run in report['runs']:
            points = run['curves'][kind]
            if kind == 'val':
                points = [(i, v[metric]) for i, v in points
                          if v[metric] is not None]
            if not points:
                continue
            xs, ys = zip(*points)
            ax.plot(xs, ys, color=colours[run['variant']], alpha=0.8,
                    marker='o' if kind == 'val' else None, linewidth=1,
                    label=f"{run['variant']} seed {run['seed']}")
        ax.set_xlabel('iteration')
        ax.set_ylabel(ylabel)
        ax.set_title(f"{Path(report['benchmark']['l2t_config']).stem}: "
                     f'{ylabel}')
        ax.legend(fontsize=7)
        if kind == 'loss':
            ax.set_yscale('log')
        path = out / CURVES_FILE.format(kind=kind)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(str(path))
    return written
