"""Drive keys at rest: Fernet-encrypted with the ``key-encryption-key`` secret.

The plaintext key (a service-account JSON) only exists in memory while it is validated,
encrypted, or handed to the Drive client by ``AccountRepository.get_key``.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from fileserver.config import secret
from fileserver.errors import ConfigError


class KeyCipher:
    def __init__(self, fernet_key: str | bytes) -> None:
        try:
            self._fernet = Fernet(fernet_key)
        except (ValueError, TypeError) as exc:
            raise ConfigError("key-encryption-key is not a valid Fernet key") from exc

    @classmethod
    def from_secret(cls) -> KeyCipher:
        return cls(secret("key-encryption-key"))

    def encrypt(self, key: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(key, sort_keys=True).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ConfigError("a stored Drive key cannot be decrypted with "
                              "key-encryption-key (was the secret rotated?)") from exc
