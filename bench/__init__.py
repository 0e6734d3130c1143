"""Speed and scale benchmarks: scripts that print figures (`python -m bench.ingest` ...), not timed tests."""
