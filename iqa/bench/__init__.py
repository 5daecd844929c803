"""``iqa bench``: run super-resolution models on a dataset, time and score them, and write a comparison report.

>>> from iqa.bench import BenchConfig, run_bench, write_report   # doctest: +SKIP
>>> results = run_bench(BenchConfig(models=["bicubic-x4"], out_dir="bench-report"))
>>> write_report(results, "bench-report")
"""
from .report import format_table, write_report
from .runner import BenchConfig, default_models, run_bench

__all__ = ["BenchConfig", "default_models", "format_table", "run_bench", "write_report"]
