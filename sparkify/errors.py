"""The errors a user can fix. Scripts print their message as one line, no traceback."""


class SparkifyError(Exception):
    """An expected failure with a one-line message that says what to fix."""


class ConfigError(SparkifyError):
    """dwh.cfg, the environment or the command line is wrong."""


class InputError(SparkifyError):
    """The raw JSON is missing or has more bad records than allowed."""


class WarehouseError(SparkifyError):
    """The database refused, failed or could not be reached."""


class WarehouseBusy(WarehouseError):
    """Another program holds the warehouse (a load is running): try again later; nothing is wrong with it."""


class Declined(SparkifyError):
    """The user did not confirm a destructive or costly step; nothing was changed."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (drivers add context lines), or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
