"""Train an L2T config beside its baseline twin (and peers) and compare
them: the logic behind ``tools/benchmark.py``, which only parses arguments.

- :mod:`.variants`: which configs run, and the ``--cfg-options`` of each run;
- :mod:`.process`: one training in its own process, its peak memory, and
  :mod:`.run_cache`, the record that lets ``--reuse-runs`` read it back;
- :mod:`.logs`: what a finished run's logs say (metrics, time per
  iteration, teach share, noise AUC, curves);
- :mod:`.statistics`: mean ± std per variant, ratios and differences
  against the baseline;
- :mod:`.table` and :mod:`.plots`: the Markdown table and the curves;
- :mod:`.session`: one invocation, every seed and variant interleaved, and
  the report (``benchmark.json``).
"""
from .schema import METRICS
from .session import BenchmarkSettings, run_benchmark
from .variants import BenchmarkError

__all__ = ['METRICS', 'BenchmarkError', 'BenchmarkSettings', 'run_benchmark']
