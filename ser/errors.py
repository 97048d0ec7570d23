"""The errors a user can fix: each becomes one line on stderr, never a traceback."""


class UserError(Exception):
    """A mistake the user can fix (missing folder, bad file, wrong setting): the message says how."""


class ConfigError(UserError):
    """A setting out of its range; the message names the setting, its value and what it must be."""


def require(condition: bool, message: str) -> None:
    """ConfigError(message) unless condition: how config objects check their values when built."""
    if not condition:
        raise ConfigError(message)


def require_same_config(cls, values: dict, version: int, what: str, source: str, remedy: str) -> None:
    """UserError unless a saved record (values) has exactly the fields of dataclass cls and this version."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(cls)}
    if set(values) != fields or values.get("version") != version:
        raise UserError(f"{source} was written with another {what} (fields "
                        f"{sorted(set(values) ^ fields) or ['version']} differ); {remedy}")
