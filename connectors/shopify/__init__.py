"""The `shopify` channel type: Shopify's Admin GraphQL API (version 2026-10)."""
