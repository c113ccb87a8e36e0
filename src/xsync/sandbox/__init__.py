"""The Xero sandbox: a local emulator of the Xero Accounting API, identity and limits.

It stands alone: nothing here imports xsync's own Xero client, mapping or model, so a bug in the
client cannot hide its twin in the emulator.
"""
