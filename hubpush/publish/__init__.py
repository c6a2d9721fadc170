"""Publishing an executor: one job (:mod:`.plan`), one flow (:mod:`.flow`) over a small backend
protocol (:mod:`.ports`) with a backend per kind of hub (:mod:`.bare_registry`,
:mod:`.hub_gateway`), wired for the CLI in :mod:`.service`."""

from .plan import PushPlan, PushResult, plan_push
from .service import push_executor

__all__ = ["PushPlan", "PushResult", "plan_push", "push_executor"]

