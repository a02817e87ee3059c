"""Loading Modbus meter profiles for Home Assistant: built-ins plus the user's files.

User profiles live in ``<config>/tenant_metering/profiles/``. Reading files blocks, so the
catalog is loaded in an executor. A user file that cannot be used becomes a repair issue
naming the file and the field; the issue goes away once the file loads (or is removed).
"""

from pathlib import Path

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from ...const import DOMAIN, ISSUE_PROFILE_INVALID, PROFILES_DIR
from .core import ProfileCatalog, ProfileError, load_profiles

_ISSUE_PREFIX = f"{ISSUE_PROFILE_INVALID}_"


def user_profiles_dir(hass: HomeAssistant) -> Path:
    """Where the user's own profile files go."""
    return Path(hass.config.path(PROFILES_DIR))


async def async_load_catalog(hass: HomeAssistant) -> ProfileCatalog:
    """Built-in and user profiles; refused user files are raised as repair issues."""
    catalog = await hass.async_add_executor_job(load_profiles, [user_profiles_dir(hass)])
    _sync_issues(hass, catalog.errors)
    return catalog


@callback
def _sync_issues(hass: HomeAssistant, errors: tuple[ProfileError, ...]) -> None:
    wanted = {f"{_ISSUE_PREFIX}{error.file.name}": error for error in errors}
    registry = ir.async_get(hass)
    for domain, issue_id in list(registry.issues):
        if domain == DOMAIN and issue_id.startswith(_ISSUE_PREFIX) and issue_id not in wanted:
            ir.async_delete_issue(hass, DOMAIN, issue_id)
    for issue_id, error in wanted.items():
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_PROFILE_INVALID,
            translation_placeholders={
                "file": str(error.file),
                "field": error.field,
                "message": error.message,
            },
        )
