"""The edges and composition root: HTTP API, CLI, model providers, workers, settings (the only env reader).

May import: `engine`, `streams`, `projections`.
"""
