"""Tenant Metering Ledger: tenant accounts, tariffs, quotas and the billing ledger."""

__version__ = "0.2.0"
