"""Every GraphQL document the Shopify connector sends, as plain strings.

Shopify refuses a query whose requested cost exceeds 1,000 (a connection costs
2 + first x the cost of one node), so the page sizes here are chosen to stay
well under it: 10 orders with 10 line items each (~600), 100 more line items of
one order (~500), 25 variants with 5 inventory levels each (~500), 5 fulfillment
orders with 50 line items each (~520); for returns, 5 orders with 3 returns of 5
lines each (~590), 10 more returns of one order (~380), 50 more lines of one return
(~200), and a return's state for a push: 25 lines, 3 reverse fulfillment orders of 25
lines each (~390).

tests/contract/test_shopify_documents.py validates each one against Shopify's
official Admin schema (the project's copy, sandbox/reference/shopify/): nothing is
sent that the schema rejects. The Shopify simulator (sandbox/shopify/) executes
exactly these documents.
"""

from __future__ import annotations

MONEY = "shopMoney { amount currencyCode }"
RETURN_LINES_PER_PAGE = 5

LINE_ITEM_FIELDS = f"""
fragment LineItemFields on LineItem {{
  id
  sku
  title
  quantity
  currentQuantity
  unfulfilledQuantity
  originalUnitPriceSet {{ {MONEY} }}
  variant {{ id inventoryItem {{ id }} }}
}}
"""

ORDER_FIELDS = f"""
fragment OrderFields on Order {{
  id
  name
  createdAt
  updatedAt
  cancelledAt
  cancelReason
  displayFinancialStatus
  displayFulfillmentStatus
  currencyCode
  totalPriceSet {{ {MONEY} }}
  customer {{ id displayName email }}
  shippingAddress {{ name address1 address2 city zip provinceCode countryCodeV2 phone }}
  lineItems(first: 10) {{
    nodes {{ ...LineItemFields }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

SHOP = """
query Shop {
  shop { name myshopifyDomain }
}
"""

LOCATIONS = """
query Locations($first: Int!, $after: String) {
  locations(first: $first, after: $after) {
    nodes { id name isActive }
    pageInfo { hasNextPage endCursor }
  }
}
"""

ORDERS = (
    """
query Orders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { ...OrderFields }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + ORDER_FIELDS
    + LINE_ITEM_FIELDS
)

ORDER_LINE_ITEMS = (
    """
query OrderLineItems($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    lineItems(first: $first, after: $after) {
      nodes { ...LineItemFields }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
    + LINE_ITEM_FIELDS
)

VARIANTS = """
query Variants($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    nodes {
      id
      sku
      barcode
      displayName
      inventoryItem {
        id
        tracked
        inventoryLevels(first: 5) {
          nodes {
            location { id name }
            quantities(names: ["available"]) { name quantity }
          }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

INVENTORY_LEVEL = """
query InventoryLevel($item: ID!, $location: ID!) {
  inventoryItem(id: $item) {
    inventoryLevel(locationId: $location) {
      quantities(names: ["available"]) { name quantity }
    }
  }
}
"""

SET_QUANTITIES = """
mutation SetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}
"""

FULFILLMENT_ORDERS = """
query FulfillmentOrders($id: ID!) {
  order(id: $id) {
    fulfillmentOrders(first: 5) {
      nodes {
        id
        status
        lineItems(first: 50) {
          nodes { id remainingQuantity lineItem { id } }
        }
      }
    }
  }
}
"""

FULFILLMENT_CREATE = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}
"""

ORDER_CANCEL = """
mutation OrderCancel(
  $orderId: ID!
  $reason: OrderCancelReason!
  $staffNote: String
  $notifyCustomer: Boolean
  $restock: Boolean!
  $refundMethod: OrderCancelRefundMethodInput
) {
  orderCancel(
    orderId: $orderId
    reason: $reason
    staffNote: $staffNote
    notifyCustomer: $notifyCustomer
    restock: $restock
    refundMethod: $refundMethod
  ) {
    job { id done }
    orderCancelUserErrors { code field message }
  }
}
"""

RETURN_LINE_FIELDS = """
fragment ReturnLineFields on ReturnLineItemType {
  id
  quantity
  customerNote
  returnReasonNote
  returnReasonDefinition { handle name }
  ... on ReturnLineItem {
    fulfillmentLineItem { lineItem { id sku } }
  }
}
"""

RETURN_FIELDS = f"""
fragment ReturnFields on Return {{
  id
  name
  status
  createdAt
  closedAt
  order {{ id updatedAt }}
  returnLineItems(first: {RETURN_LINES_PER_PAGE}) {{
    nodes {{ ...ReturnLineFields }}
    pageInfo {{ hasNextPage endCursor }}
  }}
  reverseFulfillmentOrders(first: 2) {{
    nodes {{
      reverseDeliveries(first: 1) {{
        nodes {{
          deliverable {{
            ... on ReverseDeliveryShippingDeliverable {{ tracking {{ number carrierName }} }}
          }}
        }}
      }}
    }}
  }}
}}
"""

RETURN_FRAGMENTS = RETURN_FIELDS + RETURN_LINE_FIELDS
"""What a document reading whole returns (``...ReturnFields``) appends."""

ORDER_RETURNS = (
    """
query OrderReturns($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id
      updatedAt
      returns(first: 3) {
        nodes { ...ReturnFields }
        pageInfo { hasNextPage endCursor }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + RETURN_FRAGMENTS
)

MORE_ORDER_RETURNS = (
    """
query MoreOrderReturns($id: ID!, $after: String) {
  order(id: $id) {
    returns(first: 10, after: $after) {
      nodes { ...ReturnFields }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
    + RETURN_FRAGMENTS
)

RETURN_LINES = (
    """
query ReturnLines($id: ID!, $after: String) {
  return(id: $id) {
    returnLineItems(first: 50, after: $after) {
      nodes { ...ReturnLineFields }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
    + RETURN_LINE_FIELDS
)

RETURN = (
    """
query Return($id: ID!) {
  return(id: $id) { ...ReturnFields }
}
"""
    + RETURN_FRAGMENTS
)

RETURN_STATE = """
query ReturnState($id: ID!) {
  return(id: $id) {
    id
    name
    status
    order { id refunds(first: 25) { note } }
    returnLineItems(first: 25) {
      nodes {
        id
        quantity
        processableQuantity
        processedQuantity
        refundableQuantity
        refundedQuantity
        ... on ReturnLineItem { fulfillmentLineItem { id lineItem { id } } }
      }
      pageInfo { hasNextPage }
    }
    reverseFulfillmentOrders(first: 3) {
      nodes {
        lineItems(first: 25) {
          nodes {
            id
            totalQuantity
            fulfillmentLineItem { id }
            dispositions { type quantity location { id } }
          }
        }
      }
    }
  }
}
"""

RETURN_APPROVE = """
mutation ReturnApprove($input: ReturnApproveRequestInput!) {
  returnApproveRequest(input: $input) {
    return { id status }
    userErrors { code field message }
  }
}
"""

RETURN_DECLINE = """
mutation ReturnDecline($input: ReturnDeclineRequestInput!) {
  returnDeclineRequest(input: $input) {
    return { id status }
    userErrors { code field message }
  }
}
"""

RETURN_REFUND_OUTCOME = """
query ReturnRefundOutcome($id: ID!, $lines: [SuggestedOutcomeReturnLineItemInput!]!) {
  return(id: $id) {
    suggestedFinancialOutcome(returnLineItems: $lines, exchangeLineItems: []) {
      financialTransfer {
        ... on RefundReturnOutcome {
          suggestedTransactions {
            amountSet { presentmentMoney { amount currencyCode } }
            parentTransaction { id }
          }
        }
      }
    }
  }
}
"""

RETURN_PROCESS = """
mutation ReturnProcess($input: ReturnProcessInput!) {
  returnProcess(input: $input) {
    return { id status }
    userErrors { code field message }
  }
}
"""

SUGGESTED_REFUND = """
query SuggestedRefund($id: ID!, $lines: [RefundLineItemInput!]!) {
  order(id: $id) {
    suggestedRefund(refundLineItems: $lines) {
      suggestedTransactions {
        amountSet { presentmentMoney { amount currencyCode } }
        gateway
        parentTransaction { id }
      }
    }
  }
}
"""

REFUND_CREATE = """
mutation RefundCreate($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id }
    userErrors { field message }
  }
}
"""

ALL = {
    "Shop": SHOP,
    "Locations": LOCATIONS,
    "Orders": ORDERS,
    "OrderLineItems": ORDER_LINE_ITEMS,
    "Variants": VARIANTS,
    "InventoryLevel": INVENTORY_LEVEL,
    "SetQuantities": SET_QUANTITIES,
    "FulfillmentOrders": FULFILLMENT_ORDERS,
    "FulfillmentCreate": FULFILLMENT_CREATE,
    "OrderCancel": ORDER_CANCEL,
    "OrderReturns": ORDER_RETURNS,
    "MoreOrderReturns": MORE_ORDER_RETURNS,
    "ReturnLines": RETURN_LINES,
    "Return": RETURN,
    "ReturnState": RETURN_STATE,
    "ReturnApprove": RETURN_APPROVE,
    "ReturnDecline": RETURN_DECLINE,
    "ReturnRefundOutcome": RETURN_REFUND_OUTCOME,
    "ReturnProcess": RETURN_PROCESS,
    "SuggestedRefund": SUGGESTED_REFUND,
    "RefundCreate": REFUND_CREATE,
}

REQUESTED_COST = {
    "Shop": 1,
    "Locations": 252,
    "Orders": 572,
    "OrderLineItems": 503,
    "Variants": 477,
    "InventoryLevel": 3,
    "SetQuantities": 10,
    "FulfillmentOrders": 518,
    "FulfillmentCreate": 10,
    "OrderCancel": 10,
    "OrderReturns": 587,
    "MoreOrderReturns": 383,
    "ReturnLines": 203,
    "Return": 38,
    "ReturnState": 391,
    "ReturnApprove": 10,
    "ReturnDecline": 10,
    "ReturnRefundOutcome": 7,
    "ReturnProcess": 10,
    "SuggestedRefund": 6,
    "RefundCreate": 10,
}
"""What Shopify's calculator charges up front for each document with the page sizes
the connector sends (a test checks them against the simulator's calculator): the
client's first estimate, so a cold start does not walk into throttling."""
