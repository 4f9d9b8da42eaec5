"""The Postmark-compatible REST API."""
