"""The dashboard: server-rendered pages over the same store and services as the API."""
