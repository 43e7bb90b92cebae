"""Measuring: the `kokoro-engine benchmark` and `accuracy` subcommands and their metrics (log-mel distance, duration agreement)."""
