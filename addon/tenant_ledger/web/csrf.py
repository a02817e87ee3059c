"""CSRF protection: a per-session nonce in a SameSite=Strict cookie, a form token bound to it.

The form token is HMAC(secret, user id, nonce): a page from another site can neither read the
token nor make the browser send the cookie, and a token leaked for one HA user is useless for
another.
"""

import hashlib
import hmac
import secrets

from aiohttp import web

COOKIE = "tm_session"
FIELD = "csrf_token"
MISSING_MESSAGE = (
    "This form was not sent from the ledger's own page (its security token is missing). "
    "Reload the page and try again."
)
INVALID_MESSAGE = (
    "This form's security token is not valid (the page is outdated or came from elsewhere). "
    "Reload the page and try again."
)


class CsrfGuard:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @staticmethod
    def session_nonce(request: web.Request) -> tuple[str, bool]:
        """The session's nonce and whether it is new (then the response must set the cookie)."""
        nonce = request.cookies.get(COOKIE, "")
        if len(nonce) == 43 and nonce.replace("-", "").replace("_", "").isalnum():
            return nonce, False
        return secrets.token_urlsafe(32), True

    def token(self, user_id: str, nonce: str) -> str:
        message = f"{user_id}\n{nonce}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def problem(self, request: web.Request, user_id: str, submitted: str | None) -> str | None:
        """Why the submitted token is refused, or None when it is good."""
        nonce = request.cookies.get(COOKIE)
        if not submitted or not nonce:
            return MISSING_MESSAGE
        if not hmac.compare_digest(submitted, self.token(user_id, nonce)):
            return INVALID_MESSAGE
        return None

    @staticmethod
    def set_cookie(response: web.StreamResponse, nonce: str, prefix: str) -> None:
        response.set_cookie(COOKIE, nonce, path=f"{prefix}/", httponly=True, samesite="Strict")
