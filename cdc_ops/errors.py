"""Errors an operator is meant to read: each says what is wrong and where."""


class CdcOpsError(Exception):
    """Base for errors shown to the operator without a traceback."""

    # what `cdc-ops` exits with (its --help lists the codes): 1 failed, 2 usage or settings
    exit_code = 1


class SettingsError(CdcOpsError):
    """A setting is missing or invalid; the message names the key and where it came from."""

    exit_code = 2


class UsageError(CdcOpsError):
    """A command was asked for something that does not exist (a component, a consumer)."""

    exit_code = 2


class StackError(CdcOpsError):
    """The local stack could not be started, stopped or inspected."""


class PortInUseError(StackError):
    """A port the stack wants is held by a process the stack did not start."""

    exit_code = 2  # a settings conflict: the message names the port setting to change


class DatabaseUnavailable(CdcOpsError):
    """The database did not answer: stopped, starting, or unreachable."""


class ConflictError(CdcOpsError):
    """The id exists with different content; nothing was written."""
