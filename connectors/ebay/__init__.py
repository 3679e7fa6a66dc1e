"""The eBay connector: orders (Sell Fulfillment API), listings and stock (Sell Inventory
API), and notifications (Commerce Notification API's signed deliveries)."""
