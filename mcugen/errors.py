"""One error tree for everything mcugen refuses.

Every error carries what failed, the offending value and a hint, so the CLI can
print a single line and exit non-zero without a traceback.
"""

from __future__ import annotations


class McugenError(Exception):
    """Base of every error mcugen reports to a user."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class InternalError(McugenError):
    """Something mcugen made is wrong (its plan, its C, its pre-processing): a bug in
    mcugen, never the user's input. README: exit code 4."""

    exit_code = 4


class ModelError(McugenError):
    """The model file cannot be read or is not a model mcugen can compile."""


class UnsupportedModelError(ModelError):
    """A readable model that mcugen refuses: float, hybrid, custom ops, int16."""


class BoardError(McugenError):
    """An unknown board or a board data file that breaks the schema."""


class FitError(McugenError):
    """The model does not fit the chosen board."""

    exit_code = 1


class ReferenceInterpreterError(McugenError):
    """The tflite-micro reference interpreter failed or is missing."""
