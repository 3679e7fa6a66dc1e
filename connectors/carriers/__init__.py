"""Carriers through karrio (type ``carrier``): tracking numbers in, TrackingInfo out; a
parcel in, rates or a label out.

karrio is used as a library, one gateway per channel. ``settings`` checks the channel
file against the provider's own karrio settings class; ``karrio_runtime`` imports
karrio once and undoes what it does to the whole process (``karrio_logging``: its
loguru output; ``karrio_http``: its requests, given a timeout and observed);
``profiles`` holds what karrio does not say about each carrier (numbers per request,
token path, label credentials, rate); ``gateway`` runs karrio's Tracking, Rating and
Shipment APIs; ``mapping`` turns a tracking answer into TrackingInfo or our errors, and
``labels`` a parcel into karrio's requests and their answers into ShippingRates or a
PurchasedLabel; ``connector`` batches and goes through the engine's call policy.
"""
