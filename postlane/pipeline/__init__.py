"""After accept: screen against suppressions, deliver, notify webhooks."""
