"""Errors a store operation raises; the API maps each to one HTTP status."""

from __future__ import annotations


class StoreError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class NotFound(StoreError):
    status = 404


class Forbidden(StoreError):
    status = 403


class Conflict(StoreError):
    """The request is valid but not in the current state (a decided proposal, say)."""

    status = 409


class PreconditionFailed(StoreError):
    """The client acted on an old version: someone else changed it in between."""

    status = 412


class PreconditionRequired(StoreError):
    status = 428
