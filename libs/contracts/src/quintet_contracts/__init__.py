"""Event contracts shared by every Quintet service.

Producers and consumers import the same payload models from here, so nothing untyped goes on the wire.
"""

from quintet_contracts.envelope import EVENTS_EXCHANGE, Envelope, EventSpec, event_registry, register_event

__all__ = ["EVENTS_EXCHANGE", "Envelope", "EventSpec", "event_registry", "register_event"]
