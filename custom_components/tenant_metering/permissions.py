"""Who may act: money and power are landlord (admin) actions.

Tenants are HA users (the ledger's tenant portal needs them), and any HA user can call any
service over the WebSocket API; so every action that moves money or switches supply checks
the caller. Automations and scripts act without a user (``user_id`` None) and are allowed:
the landlord wrote them.
"""

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized, UnknownUser


async def async_require_admin(hass: HomeAssistant, context: Context | None) -> None:
    """Raise Unauthorized unless the context has no user or an admin user."""
    if context is None or context.user_id is None:
        return
    user = await hass.auth.async_get_user(context.user_id)
    if user is None:
        raise UnknownUser(context=context, user_id=context.user_id)
    if not user.is_admin:
        raise Unauthorized(context=context, user_id=context.user_id)
