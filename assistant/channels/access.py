"""Who may use the staff functions: one check for the API, the Gradio tabs and any later channel."""

from __future__ import annotations

import hmac

from assistant.config import Settings


def admin_enabled(settings: Settings) -> bool:
    """Staff functions exist only when a token is configured; an empty token disables them."""
    return bool(settings.admin_token)


def token_ok(settings: Settings, given: str | None) -> bool:
    """The given token equals the configured one (compared in constant time)."""
    if not admin_enabled(settings) or not given:
        return False
    return hmac.compare_digest(given.encode(), settings.admin_token.encode())
