"""What the two HTTP front doors, the API and the dashboard, share: request
normalisation, query parsing, and the one ASGI app the runtime serves them from. Neither
front door imports the other; both import this."""
