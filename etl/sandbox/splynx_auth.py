"""Splynx API v2 authentication: HMAC-signed API key requests and access tokens.

Why real crypto and real refusals: the loader's signing, nonce handling and token renewal must be proven
against a server that says no exactly where Splynx does (see /work/shared/api/splynx.md section 2):

* `Authorization: Splynx-EA (key=K&nonce=N&signature=S)`, S = upper(hex(hmac_sha256(secret, f"{N}{K}"))),
  where N must be greater than every nonce this key used before (kept in SQLite, so a restart remembers).
* `Authorization: Splynx-EA (access_token=T)`, T from `POST admin/auth/tokens` with auth_type `api_key`
  (key, nonce, signature) or `admin` (login, password); renewed with `GET admin/auth/tokens/{refresh}`,
  revoked with `DELETE admin/auth/tokens/{refresh}`.
* No header: 401 MISSED_AUTHORIZATION_HEADER; expired token: 401 EXPIRED_ACCESS_TOKEN; Basic auth:
  401 (the simulated key has "unsecure access" off); anything else wrong: 401 UNAUTHORIZED.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs

from etl.sandbox.splynx_store import SplynxStore
from etl.sandbox.splynx_validation import hash_secret

ACCESS_TTL_S = 1800.0  # Splynx access tokens live 30 minutes
REFRESH_TTL_S = 86400.0
HEADER_RE = re.compile(r"^\s*Splynx-EA\s*\((?P<params>.*)\)\s*$", re.IGNORECASE)


class AuthError(Exception):
    """A refused request: HTTP status, Splynx internal_code and message."""

    def __init__(self, status: int, internal_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.internal_code = internal_code
        self.message = message


def signature(api_key: str, api_secret: str, nonce: int | str) -> str:
    """The Splynx signature: upper(hex(HMAC-SHA256(secret, nonce + key)))."""
    return hmac.new(api_secret.encode(), f"{nonce}{api_key}".encode(), hashlib.sha256).hexdigest().upper()


class Authenticator:
    """Checks Authorization headers and issues, renews and revokes access tokens."""

    def __init__(self, store: SplynxStore, api_key: str, api_secret: str) -> None:
        self.store = store
        self.api_key = api_key
        self.api_secret = api_secret
        self.access_ttl_s = ACCESS_TTL_S
        self.refresh_ttl_s = REFRESH_TTL_S

    def check_header(self, header: str | None) -> str:
        """Authenticate one request; return who it is ("api_key:K" or "admin:ID") or raise AuthError."""
        if not header or not header.strip():
            raise AuthError(401, "MISSED_AUTHORIZATION_HEADER", "Authorization header is missing")
        if header.strip().lower().startswith("basic"):
            raise AuthError(401, "UNAUTHORIZED", "Unsecure access (Basic auth) is disabled for this API key")
        match = HEADER_RE.match(header)
        if not match:
            raise AuthError(401, "UNAUTHORIZED", "Authorization header is malformed")
        params = {k: v[-1] for k, v in parse_qs(match.group("params"), keep_blank_values=True).items()}
        if "access_token" in params:
            return self._check_token(params["access_token"])
        return self._check_signature(params.get("key"), params.get("nonce"), params.get("signature"))

    def _check_signature(self, key: str | None, nonce: Any, sig: str | None) -> str:
        if not key or nonce in (None, "") or not sig:
            raise AuthError(401, "UNAUTHORIZED", "key, nonce and signature are all required")
        if not hmac.compare_digest(key, self.api_key):
            raise AuthError(401, "UNAUTHORIZED", "API key is invalid")
        if not re.fullmatch(r"\d{1,20}", str(nonce)):
            raise AuthError(401, "UNAUTHORIZED", "Nonce must be a positive integer")
        expected = signature(self.api_key, self.api_secret, str(nonce))
        if not hmac.compare_digest(str(sig).upper(), expected):
            raise AuthError(401, "UNAUTHORIZED", "Signature is invalid")
        if not self.store.advance_nonce(key, int(str(nonce))):
            raise AuthError(401, "UNAUTHORIZED", "Nonce is invalid: it must be greater than the previous one")
        return f"api_key:{key}"

    def _check_token(self, token: str) -> str:
        if not token:
            raise AuthError(401, "EMPTY_ACCESS_TOKEN", "Access token is empty")
        row = self.store.token("access_token", token)
        if row is None:
            raise AuthError(401, "UNAUTHORIZED", "Access token is invalid")
        if time.time() >= row["access_exp"]:
            raise AuthError(401, "EXPIRED_ACCESS_TOKEN", "Access token is expired")
        return str(row["subject"])

    # -- tokens --------------------------------------------------------------------------------------

    def issue(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer `POST admin/auth/tokens`: check the credentials, then hand out a token pair."""
        auth_type = body.get("auth_type")
        if auth_type == "api_key":
            subject = self._check_signature(body.get("key"), body.get("nonce"), body.get("signature"))
        elif auth_type == "admin":
            subject = self._check_admin(body.get("login"), body.get("password"))
        else:
            raise AuthError(400, "INVALID_AUTH_TYPE", f"Auth type {auth_type!r} is not supported")
        return {**self._new_pair(subject), "permissions": []}

    def _check_admin(self, login: Any, password: Any) -> str:
        if not isinstance(login, str) or not isinstance(password, str) or not login:
            raise AuthError(401, "INVALID_USER", "login and password are required")
        found = self.store.select("administrators", "json_extract(data, '$.login') = ? COLLATE NOCASE", [login])
        if not found or not hmac.compare_digest(found[0].get("password") or "", hash_secret(password)):
            raise AuthError(401, "INVALID_USER", "Login or password is incorrect")
        return f"admin:{found[0]['id']}"

    def _new_pair(self, subject: str) -> dict[str, Any]:
        now = time.time()
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        self.store.save_token(access, refresh, now + self.access_ttl_s, now + self.refresh_ttl_s, subject)
        return {
            "access_token": access,
            "access_token_expiration": int(now + self.access_ttl_s),
            "refresh_token": refresh,
            "refresh_token_expiration": int(now + self.refresh_ttl_s),
        }

    def renew(self, refresh: str) -> dict[str, Any]:
        """Answer `GET admin/auth/tokens/{refresh}`: a fresh pair replaces the old one."""
        row = self.store.token("refresh_token", refresh)
        if row is None:
            raise AuthError(401, "UNAUTHORIZED", "Refresh token is invalid")
        if time.time() >= row["refresh_exp"]:
            raise AuthError(401, "EXPIRED_REFRESH_TOKEN", "Refresh token is expired")
        self.store.drop_token(refresh)
        return self._new_pair(str(row["subject"]))

    def logout(self, refresh: str) -> None:
        """Answer `DELETE admin/auth/tokens/{refresh}`: the pair stops working."""
        if not self.store.drop_token(refresh):
            raise AuthError(404, "NOT_FOUND", "Refresh token not found")
