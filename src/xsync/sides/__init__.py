"""The two sides the engine syncs: the operations store and Xero, each mapped to canonical
records; plus :class:`~xsync.sides.memory.MemoryStore`, a dict-backed side for tests."""
