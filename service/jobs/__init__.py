"""Batch jobs: input lines, result records, options, the durable store and the runner."""
