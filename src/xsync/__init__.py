"""xsync: true bidirectional sync between an operations platform and Xero."""

__version__ = "0.1.0"
