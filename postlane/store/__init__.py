"""All SQL lives here: schema, engine setup, migrations and one query module per area."""
