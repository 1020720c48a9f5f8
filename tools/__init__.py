"""Instructor and maintainer tools: release, grading, book and benchmarks (`make help`)."""
