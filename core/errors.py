"""Errors the domain raises; each message is fit to show an operator as it is."""


class DomainError(Exception):
    """Base of every error the core raises on bad requests."""


class NotFound(DomainError):
    pass


class InvalidRequest(DomainError):
    pass


class InsufficientStock(DomainError):
    pass


class Conflict(DomainError):
    """The request does not fit the current state (e.g. resolving what is resolved)."""
