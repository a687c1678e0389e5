"""The CLI's HTTP client: every command but serve/worker/up/db talks to a server's REST API."""

from __future__ import annotations

import os
from typing import Any

import httpx

from goldpath.core.errors import GoldpathError

DEFAULT_URL = "http://127.0.0.1:7007"


class ClientError(GoldpathError):
    """The server answered with an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class Client:
    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 60.0):
        self.url = (url or os.environ.get("GOLDPATH_URL") or DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("GOLDPATH_TOKEN")
        headers = {
            "accept": "application/json, application/problem+json",
            "user-agent": "goldpath-cli",
        }
        if token:
            headers["authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            raise ClientError(
                f"cannot reach goldpath at {self.url} (is `goldpath serve` running? "
                "set --url or GOLDPATH_URL)"
            ) from exc
        except httpx.HTTPError as exc:
            raise ClientError(f"request to {self.url}{path} failed: {exc}") from exc
        if response.status_code >= 400:
            body: Any = None
            try:
                body = response.json()
                message = body.get("detail") or body.get("error", {}).get("message")
            except ValueError:
                message = None
            raise ClientError(
                message or f"HTTP {response.status_code} from {path}",
                status=response.status_code,
                body=body,
            )
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self._http.close()
