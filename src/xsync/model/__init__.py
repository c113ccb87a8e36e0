"""Canonical records: the one vocabulary both sides are mapped to and the engine compares.

Every field value is text or ``None``: money as normalised decimal text ("1234.50"), quantities
and unit prices as decimal text with up to 4 places, dates as "YYYY-MM-DD", statuses in the
operations vocabulary. Text values compare exactly and snapshot to JSON without loss.
"""

from xsync.model.entities import ENTITIES, ENTITY_ORDER, EntitySpec, spec
from xsync.model.records import Line, Record

__all__ = ["ENTITIES", "ENTITY_ORDER", "EntitySpec", "Line", "Record", "spec"]
