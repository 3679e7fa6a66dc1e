"""The `amazon` channel type: Amazon's Selling Partner API through python-amazon-sp-api.

settings.py  the channel file's keys
lwa.py       Login with Amazon access tokens, kept per channel and in memory only
client.py    the library's API clients on our transport; every call throttled, retried
             and its failures mapped to the connector error tree
mapping.py   pure functions from SP-API payloads to core DTOs and back
feeds.py     JSON_LISTINGS_FEED documents, their submission and processing reports
waiting.py   waiting for what Amazon processes in its own time (a feed, a report)
reports.py   Reports API: a report asked for, waited for, its document downloaded
returns_report.py  the flat-file returns report (GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE)
             mapped to returns: pure, the columns by name, the status table
notifications.py  ORDER_CHANGE notifications: the SQS queue (boto3) and the messages read
subscribe.py the seller's ORDER_CHANGE subscription to a queue (Notifications API)
connector.py the capabilities: orders (Orders API 2026-01-01; confirmShipment of v0),
             listings, stock, fulfilment, order events, returns (read only: Amazon takes
             no return update, refunds are issued in Seller Central)
"""
