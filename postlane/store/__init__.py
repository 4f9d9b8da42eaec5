"""All SQL lives here: schema, engine setup, migrations and one query module per area.

Callers name the transaction they pass to store functions :data:`Transaction`; an outage
reaches them as :class:`postlane.domain.errors.DatabaseUnavailable`, never as a driver
error.
"""

from postlane.store.database import Transaction

__all__ = ["Transaction"]
