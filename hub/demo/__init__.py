"""`omnisync demo`: the hub against the simulators, with simulated buyers and a carrier.

This package is the only product code that imports the simulators (sandbox/): the
hub, sync, connectors and core never do, so the hub that `omnisync run` serves ships
no simulated marketplace on its import path. import-linter enforces it (pyproject.toml).
The CLI imports ``run`` inside the `demo` command only. ``watch`` imports no simulator
and this ``__init__`` imports nothing, so the CLI may import the deadline and the error
from ``watch`` at start-up without loading a simulator.

- ``run``: the demo itself (options, buyers, measurements, the comparison, the report);
- ``markets``: the simulated marketplaces behind one small interface;
- ``amazon``: the Amazon seller account, its rates sped up;
- ``shipping``: the warehouse and the UPS carrier, parcels shipped and tracked;
- ``watch``: the deadlines every wait has, and ``DemoFailed`` when one passes.
"""
