"""Benchmarks: `course bench` (suite) runs them all and prints every figure with its hardware."""
