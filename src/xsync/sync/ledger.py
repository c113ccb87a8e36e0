"""The engine's view of the state database, which :mod:`xsync.state.ledger` owns (every SQL
statement on it lives under ``xsync.state``); the names the engine's modules import from here."""

from xsync.state.ledger import Base as Base
from xsync.state.ledger import Ledger as Ledger
from xsync.state.ledger import pack as pack
from xsync.state.ledger import record_hash as record_hash
from xsync.state.ledger import transaction as transaction
from xsync.state.ledger import unpack as unpack
