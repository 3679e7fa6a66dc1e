"""The seller's documents on Amazon's storage, as presigned URLs the simulator serves.

Feed documents are uploaded by the seller (``PUT``) and read back; processing reports
and report documents are written by the simulator and downloaded (``GET``). Each kind
lives in its own :class:`DocumentStore`, under its own path; a document's URL carries
its key as the ``X-Amz-Signature`` query value, and a wrong or missing key is refused
as S3 refuses it (403 AccessDenied, :mod:`sandbox.amazon.operations`).
"""

from __future__ import annotations

import gzip
import hmac
import secrets
import uuid
from dataclasses import dataclass

from omnisync.sandbox.amazon.http import JSON, not_found

GZIP = "GZIP"


@dataclass
class StoredDocument:
    document_id: str
    content_type: str
    key: str
    content: bytes | None = None
    compression: str | None = None
    uploads: int = 0


class DocumentStore:
    """The documents of one kind, served under ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._documents: dict[str, StoredDocument] = {}

    def get(self, document_id: str) -> StoredDocument | None:
        return self._documents.get(document_id)

    def new(self, content_type: str) -> StoredDocument:
        """An empty document, for the seller to upload to."""
        document = StoredDocument(str(uuid.uuid4()), content_type, secrets.token_urlsafe(16))
        self._documents[document.document_id] = document
        return document

    def holding(self, content: bytes, content_type: str, *, compress: bool) -> StoredDocument:
        """A document of ``content``, gzipped (``compression`` GZIP) when ``compress``."""
        document = self.new(content_type)
        if compress:
            document.content, document.compression = gzip.compress(content), GZIP
        else:
            document.content = content
        return document

    def signed(self, document_id: str, key: str) -> StoredDocument | None:
        """The document a presigned URL names, when its signature is right."""
        document = self._documents.get(document_id)
        if document is None or not hmac.compare_digest(key.encode(), document.key.encode()):
            return None
        return document

    def url(self, base_url: str, document: StoredDocument) -> str:
        return f"{base_url}{self.path}/{document.document_id}?X-Amz-Signature={document.key}"

    def answer(self, base_url: str, document_id: str, id_field: str, kind: str) -> JSON:
        """The get*Document answer: ``{id_field, url, compressionAlgorithm?}``."""
        document = self._documents.get(document_id)
        if document is None:
            raise not_found(f"{kind} {document_id} was not found.")
        body: JSON = {id_field: document_id, "url": self.url(base_url, document)}
        if document.compression:
            body["compressionAlgorithm"] = document.compression
        return body
