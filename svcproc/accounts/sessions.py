"""The signed session cookie, renewed at most once a minute.

A session ends after PERMANENT_SESSION_LIFETIME without a request: each request renews the cookie's
signature (its age) and expiry. Signing and sending the cookie again on every request cost 0.2–0.3 ms
(a tenth of a light page), so a cookie signed less than SESSION_RENEW_AFTER_SECONDS ago (60 unless
set) is left as it is. A session then ends between the lifetime less that interval and the lifetime
after its last request; a changed session (logging in, a message to show) is always sent at once.
"""
from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, TimestampSigner

# Whose `get_timestamp` is the signer's clock (the cookie's age is reckoned as its signature is).
_CLOCK = TimestampSigner(b"clock")


class RenewingCookieSessions(SecureCookieSessionInterface):
    def open_session(self, app, request):
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        session = self.session_class(data)
        session.signed_at = int(signed_at.timestamp())
        return session

    def should_set_cookie(self, app, session) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        return signed_at is None or _CLOCK.get_timestamp() - signed_at >= int(
            app.config.get("SESSION_RENEW_AFTER_SECONDS", 60))
