"""Errors an operator is meant to read: each says what is wrong and where."""


class CdcOpsError(Exception):
    """Base for errors shown to the operator without a traceback."""


class SettingsError(CdcOpsError):
    """A setting is missing or invalid; the message names the key and where it came from."""


class StackError(CdcOpsError):
    """The local stack could not be started, stopped or inspected."""


class PortInUseError(StackError):
    """A port the stack wants is held by a process the stack did not start."""


class DatabaseUnavailable(CdcOpsError):
    """The database did not answer: stopped, starting, or unreachable."""


class ConflictError(CdcOpsError):
    """The id exists with different content; nothing was written."""
