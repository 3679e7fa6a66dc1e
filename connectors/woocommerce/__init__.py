"""The WooCommerce connector: a shop's REST API v3 and its signed webhooks."""
