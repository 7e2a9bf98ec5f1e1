"""Domain errors that services raise and views translate into flashes and HTTP status codes.

Services never build HTTP responses; they raise one of these with a message already meant for people
(translated by the caller's locale where it comes from a WeChat errcode).
"""


class PortalError(Exception):
    """Base class; `message` is shown to the user as is."""

    status_code = 400

    def __init__(self, message="", **details):
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(PortalError):
    """The object does not exist, or belongs to another tenant (we never reveal which)."""

    status_code = 404


class Forbidden(PortalError):
    status_code = 403


class Conflict(PortalError):
    """The action clashes with the current state (e.g. an audit is already open)."""

    status_code = 409


class ValidationFailed(PortalError):
    status_code = 400


class WeChatFailed(PortalError):
    """WeChat refused or failed; `message` is the human explanation, `errcode` the raw code."""

    status_code = 502

    def __init__(self, message, errcode=None, retryable=False, **details):
        super().__init__(message, **details)
        self.errcode = errcode
        self.retryable = retryable
