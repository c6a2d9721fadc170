"""``hubpush hub up / down / status``: a local hub, the registry container and the gateway
process in front of it, on this machine (:mod:`.runner`)."""

from .runner import hub_down, hub_status, hub_up
from .state import HubStatus

__all__ = ["HubStatus", "hub_down", "hub_status", "hub_up"]
