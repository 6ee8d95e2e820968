"""Speed and memory of the engine against micrograd and PyTorch, oracle throughput, and suite power.
Run with `tox -e bench`; results go to benchmarks/RESULTS.md."""
