"""Errors of reading: one bad record, and the exception that carries it."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class RecordError:
    """One malformed record: where it is and what is wrong with it."""

    path: str
    line: int  # 1-based physical line in the (decompressed) file
    field: str | None  # the field as named in the file, or None for the whole record
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        if self.field is None:
            return f"{where}: {self.message}"
        return f"{where}: field {self.field!r}: {self.message}"


class MalformedInputError(ValueError):
    """A record (with ``on_error="fail"``) or the file itself cannot be read."""

    def __init__(self, error: RecordError) -> None:
        super().__init__(str(error))
        self.error = error
