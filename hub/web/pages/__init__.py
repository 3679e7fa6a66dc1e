"""One router per console screen; `PAGE_ROUTERS` is what install_console includes.

- auth.py: /login, /logout.
- home.py: / , "needs action".
- orders.py: /orders, /orders/{id} and its actions.
- stock.py: /stock, /stock/{sku}, adjust and count.
- listings.py: /listings, link and auto-link.
- channels.py: /channels, /channels/{name}, pause, resume, sync now.
- returns.py: /returns, /returns/{id}, receive.
- picking.py: /pick (pick lists) and /pack (the scan screen).
- reports.py: /reports.
- users.py: /users (admins).
"""

from fastapi import APIRouter

from omnisync.hub.web.pages import (
    auth,
    channels,
    home,
    listings,
    orders,
    picking,
    reports,
    returns,
    stock,
    users,
)

PAGE_ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    home.router,
    orders.router,
    stock.router,
    listings.router,
    channels.router,
    returns.router,
    picking.router,
    reports.router,
    users.router,
)
