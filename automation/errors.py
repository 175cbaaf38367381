"""The error hierarchy: one base, specific subclasses with messages a user can act on."""


class AutomationError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(AutomationError):
    """A setting is missing or does not make sense."""


class ValidationError(AutomationError):
    """Input was refused; the message says why."""


class NotFound(AutomationError):
    """A named thing does not exist."""


class AuthError(AutomationError):
    """A key is missing, unknown, revoked, or lacks the scope."""


class NotYetAvailable(AutomationError):
    """A contract command whose capability has not landed yet."""
