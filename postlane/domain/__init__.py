"""The pure core: types, tables and rules with no I/O, shared by every front door."""
