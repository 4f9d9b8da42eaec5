"""Benchmarks: each module's ``run(quick)`` measures real servers on loopback and returns
:class:`benchmarks.common.Row` figures."""
