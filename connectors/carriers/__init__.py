"""Carriers through karrio (type ``carrier``): tracking numbers in, TrackingInfo out.

karrio is used as a library, one gateway per channel. ``settings`` checks the channel
file against the provider's own karrio settings class; ``karrio_runtime`` imports
karrio once and undoes what it does to the whole process (``karrio_logging``: its
loguru output; ``karrio_http``: its requests, given a timeout and observed);
``profiles`` holds what karrio does not say about each carrier (numbers per request,
token path, rate); ``gateway`` runs karrio's Tracking API for one batch; ``mapping``
turns the answer into TrackingInfo or our errors; ``connector`` batches and goes
through the engine's call policy.
"""
