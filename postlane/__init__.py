"""Postlane: a self-hosted, Postmark-compatible transactional mail server."""

__version__ = "0.1.0"
