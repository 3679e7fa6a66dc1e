"""The `sandbox` channel type: the hub's own simulated marketplace (sandbox/marketplace/)."""
