"""The `amazon` channel type: Amazon's Selling Partner API through python-amazon-sp-api.

settings.py  the channel file's keys
lwa.py       Login with Amazon access tokens, kept per channel and in memory only
client.py    the library's API clients on our transport; every call throttled, retried
             and its failures mapped to the connector error tree
mapping.py   pure functions from SP-API payloads to core DTOs and back
feeds.py     JSON_LISTINGS_FEED documents, their submission and processing reports
notifications.py  ORDER_CHANGE notifications: the SQS queue (boto3) and the messages read
subscribe.py the seller's ORDER_CHANGE subscription to a queue (Notifications API)
connector.py the capabilities: orders (Orders API 2026-01-01; confirmShipment of v0),
             listings, stock, fulfilment, order events
"""
