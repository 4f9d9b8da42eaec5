"""SMTP submission: listener (TLS, limits, AUTH) and the session handler that accepts."""
