"""Task secrets at rest: encrypted with a key that never enters the database.

Secrets must survive the hand-over from the API process to a worker process (and a retry),
but the task tables are readable by anyone with database access and end up in backups. So
they are sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key held in configuration
(``scaffolder.secrets_key``) or, on a single machine, a key file in the data directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from goldpath.core import jsonutil
from goldpath.core.errors import ConfigError, GoldpathError

KEY_FILE = Path("keys") / "scaffolder-secrets.key"


class SecretBox:
    def __init__(self, key: bytes | str) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                "scaffolder secrets key must be 32 url-safe base64-encoded bytes "
                "(generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')",
                where="scaffolder.secrets_key",
            ) from exc

    @classmethod
    def for_data_dir(cls, data_dir: Path, configured: str | None = None) -> SecretBox:
        if configured:
            return cls(configured.encode())
        path = data_dir / KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = Fernet.generate_key()
            # O_EXCL: two processes starting together must not both write different keys.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(key)
        return cls(path.read_bytes().strip())

    def seal(self, secrets: Mapping[str, Any]) -> str:
        return self._fernet.encrypt(jsonutil.dumps(dict(secrets)).encode()).decode()

    def open(self, ciphertext: str) -> dict[str, Any]:
        try:
            data = self._fernet.decrypt(ciphertext.encode())
        except InvalidToken as exc:
            raise GoldpathError(
                "the task's secrets cannot be decrypted: the scaffolder secrets key changed "
                "since the task was created; retry the task with its secrets",
                where="secrets",
            ) from exc
        value = jsonutil.loads(data)
        return value if isinstance(value, dict) else {}
