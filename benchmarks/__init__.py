"""Side-by-side performance measurements (not tests): ``python -m benchmarks [--quick]`` runs them all."""
