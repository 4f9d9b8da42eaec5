"""Adapters to the world outside: SMTP to relays and MX hosts (with DNS), and HTTP for
webhooks. Each returns its outcome as a value; the pipeline decides what it means."""
