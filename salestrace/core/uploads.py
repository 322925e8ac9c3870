"""How an upload small enough to stay in memory is received (FILE_UPLOAD_HANDLERS).

Django's in-memory handler writes each 64 KB piece into a BytesIO, and the evidence service then
reads it all back: two copies of a 4.5 MB photo while the rep waits. This one keeps the pieces
and joins them once; a BytesIO made from the joined bytes shares them, and reading it whole
returns them without a copy.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler


class JoinedMemoryUploadHandler(MemoryFileUploadHandler):
    """MemoryFileUploadHandler with the file's pieces kept in a list and joined at the end."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        self.parts: list[bytes] = []
        super().new_file(*args, **kwargs)  # raises StopFutureHandlers when it takes the file

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if self.activated:
            self.parts.append(raw_data)
            return None
        return raw_data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if not self.activated:
            return None
        self.file = BytesIO(b"".join(self.parts))
        self.parts = []
        return super().file_complete(file_size)
