"""The `shopify` channel type: Shopify's Admin GraphQL API (version 2026-10).

settings.py        the channel file's keys
client.py          GraphQL transport: one POST per document, the cost bucket, errors
                   mapped to the connector error tree; reading connections' cursors
documents.py       every GraphQL document sent, each validated against Shopify's schema
mapping.py         pure functions from orders, variants and order webhooks to core DTOs
return_mapping.py  pure functions between Shopify's returns and core's: statuses,
                   dispositions, the inputs of returnProcess and refundCreate
returns.py         RETURNS: returns read (polled and from returns/* webhooks) and told
                   (approve, decline, process, refund), idempotent
connector.py       the capabilities: orders, listings, stock, fulfilment, order
                   cancellation, webhooks, returns (returns.py)
install.py         the OAuth install of the app, with the scopes the documents need
"""
