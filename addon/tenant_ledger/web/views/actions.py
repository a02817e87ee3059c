"""The landlord's forms on a tenant page; every change goes through the ledger's operations.

A refused form comes back with the messages next to the fields and the typed values kept; a
good one redirects (post/redirect/get) so a reload does not post twice.
"""

from collections.abc import Callable
from typing import Any

from aiohttp import web
import sqlalchemy as sa

from tenant_ledger import operations as ops
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.errors import LedgerError
from tenant_ledger.journal import Entry
from tenant_ledger.web import forms
from tenant_ledger.web.context import Page, Web, redirect
from tenant_ledger.web.views.accounts import rerender_with_errors

type Change = Callable[[sa.Connection, Catalog], Any]


async def _apply(
    web_ui: Web,
    page: Page,
    form: str,
    build: Callable[[], Change],
    *,
    catalog_changed: bool = False,
    affects_others: bool = False,
) -> web.StreamResponse:
    """Validate (``build`` raises FormError), write, redirect; or re-render with the message.

    ``affects_others``: the change may alter other tenants' published state too (all are
    re-evaluated).
    """
    values = {f"{form}.{name}": str(value) for name, value in (page.form or {}).items()}
    try:
        change = build()
        await web_ui.service.write(
            change,
            affects=None if affects_others else [page.tenant_id],
            catalog_changed=catalog_changed,
        )
    except forms.FormError as err:
        return await rerender_with_errors(
            web_ui, page, {f"{form}.{err.field}": err.message}, values
        )
    except LedgerError as err:
        # The same money form again (double click, reload, back and resubmit): it was posted
        # once, which is what the landlord wanted, so it answers as that first post did.
        if err.code != "already_posted":
            return await rerender_with_errors(web_ui, page, {f"{form}.": err.message}, values)
    raise redirect(page, f"/tenants/{page.tenant_id}", done=form)


class _UnconfirmedError(Exception):
    """A valid money form above the landlord's limit, not yet confirmed for this amount."""

    def __init__(self, amount_minor: int) -> None:
        super().__init__(amount_minor)
        self.amount_minor = amount_minor


def _money(operation: Callable[..., Entry], *, positive: bool, form: str) -> Any:
    async def handle(web_ui: Web, page: Page) -> web.StreamResponse:
        def build() -> Change:
            minor = forms.amount("amount", page.field("amount"), web_ui.currency, positive=positive)
            action = web_ui.action(page, forms.text("reason", page.field("reason")))
            ref = ops.caller_ref(ops.RefSource.FORM, forms.form_key(page.field("form_key")))
            # The confirmation names the amount in minor units: confirming 500.00 does not
            # confirm 5000.00 typed over it on the way back.
            if abs(minor) > web_ui.confirm_above_minor and page.field("confirmed") != str(minor):
                raise _UnconfirmedError(minor)
            tenant_id = page.tenant_id
            return lambda c, cat: operation(
                c, cat, action, tenant_id=tenant_id, amount_minor=minor, ref=ref
            )

        try:
            return await _apply(web_ui, page, form, build)
        except _UnconfirmedError as unconfirmed:
            return web_ui.render(
                page,
                "confirm.html",
                form=form,
                tenant_id=page.tenant_id,
                name=web_ui.service.catalog.tenants[page.tenant_id].name,
                amount_minor=unconfirmed.amount_minor,
                limit_minor=web_ui.confirm_above_minor,
                fields={name: page.field(name) for name in ("amount", "reason", "form_key")},
            )

    return handle


top_up = _money(ops.top_up, positive=True, form="topup")
adjust = _money(ops.adjust, positive=False, form="adjustment")


async def reverse(web_ui: Web, page: Page) -> web.StreamResponse:
    """One click on an entry: a reversing entry (refused for a second time by its unique ref;
    a double click answers as the first did)."""

    def build() -> Change:
        action = web_ui.action(page, forms.text("reason", page.field("reason")))
        entry_id = int(page.request.match_info["entry_id"])
        tenant_id = page.tenant_id
        return lambda c, cat: ops.reverse(c, cat, action, tenant_id=tenant_id, entry_id=entry_id)

    return await _apply(web_ui, page, "reverse", build)


async def exemption(web_ui: Web, page: Page) -> web.StreamResponse:
    def build() -> Change:
        exempt = page.field("exempt") == "on"
        until = page.field("until")
        until_us = forms.local_time("until", until, web_ui.service.catalog.zone) if until else None
        action = web_ui.action(page, forms.text("reason", page.field("reason")))
        tenant_id = page.tenant_id
        return lambda c, cat: ops.set_exemption(
            c, cat, action, tenant_id=tenant_id, exempt=exempt, until_us=until_us
        )

    return await _apply(web_ui, page, "exemption", build, catalog_changed=True)


async def approve_cutoff(web_ui: Web, page: Page) -> web.StreamResponse:
    def build() -> Change:
        action = web_ui.action(page, forms.text("reason", page.field("reason")))
        tenant_id = page.tenant_id
        return lambda c, cat: ops.approve_cutoff(c, cat, action, tenant_id=tenant_id)

    return await _apply(web_ui, page, "cutoff", build, catalog_changed=True)


def _seen_user(web_ui: Web, typed: str) -> str:
    """The id of the HA user the landlord picked or typed: a waiting user's id, user name or
    display name (as the console saw them), else what was typed, taken as an id."""
    for user in web_ui.seen.values():
        if typed in (user.user_id, user.name, user.display_name):
            return user.user_id
    return typed


async def link_user(web_ui: Web, page: Page) -> web.StreamResponse:
    picked = page.field("user_id") or page.field("user")

    def build() -> Change:
        user_id = _seen_user(web_ui, forms.text("user_id", picked))
        seen = web_ui.seen.get(user_id)
        label = page.field("label") or (seen.label if seen else user_id)
        action = web_ui.action(page, f"HA user {label} is tenant {page.tenant_id}")
        tenant_id = page.tenant_id
        return lambda c, cat: ops.link_user(
            c, cat, action, user_id=user_id, label=label, tenant_id=tenant_id
        )

    try:
        # Linking moves the user away from any tenant it saw before: that one is republished too.
        return await _apply(web_ui, page, "link", build, affects_others=True)
    except web.HTTPSeeOther:
        web_ui.seen.pop(_seen_user(web_ui, picked), None)
        raise


async def unlink_user(web_ui: Web, page: Page) -> web.StreamResponse:
    def build() -> Change:
        user_id = forms.text("user_id", page.field("user_id"))
        action = web_ui.action(page, f"HA user {user_id} no longer sees {page.tenant_id}")
        tenant_id = page.tenant_id
        return lambda c, _cat: ops.unlink_user(c, action, user_id=user_id, tenant_id=tenant_id)

    return await _apply(web_ui, page, "unlink", build)
