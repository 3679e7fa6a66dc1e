"""The Amazon Selling Partner API simulator (see :mod:`sandbox.amazon.simulator`)."""

from omnisync.sandbox.amazon.auth import LwaCredentials
from omnisync.sandbox.amazon.simulator import DEFAULT_SELLER_ID, AmazonSimulator

__all__ = ["DEFAULT_SELLER_ID", "AmazonSimulator", "LwaCredentials"]
