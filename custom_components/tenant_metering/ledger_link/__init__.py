"""The link to the ledger add-on: its REST client, its tenants' state, their entities."""
