"""Provides the error types the domain raises and the CLI turns into exit code 2."""

from __future__ import annotations


class DivepyError(Exception):
    """An input divepy cannot analyse: a bad image, reference, flag or config.

    The message is one line meant for the user; the CLI prints it and exits 2.
    """

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class ImageFormatError(DivepyError):
    """The archive or folder is not a readable image (broken, truncated, unknown layout)."""


class UnsafePathError(ImageFormatError):
    """A member name escapes the root, holds NUL or cannot be decoded."""


class DigestMismatchError(ImageFormatError):
    """A blob's bytes do not hash to the digest the image names for it."""


class ImageSelectionError(DivepyError):
    """The archive holds several images or platforms and the request does not pick one."""


class ConfigError(DivepyError):
    """A CI rules file, a flag value or a threshold is invalid."""


class SourceError(DivepyError):
    """An image source (engine, registry, stdin) could not give the image."""
