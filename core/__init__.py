"""The domain: tables, stock ledger, reservations, availability, order intake.

Imports nothing from connectors/, sync/ or hub/.
"""
