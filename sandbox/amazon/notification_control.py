"""``/_control/notifications``: the Amazon simulator's ORDER_CHANGE publishing, by hand.

Like every ``/_control`` route (:mod:`sandbox.control_api`) these take no credentials,
cost no rate limit and suffer no faults; answers are JSON, a refusal
``{"error": code, "message": ...}`` with a 4xx status:

- ``GET /_control/notifications``: destinations, subscriptions, paused, the counts;
- ``POST /_control/notifications/pause`` and ``/resume``: a broken subscription and
  its repair (``{"paused": true|false}``);
- ``POST /_control/notifications/raw``: the request body, as it is (malformed JSON
  welcome), sent to the ORDER_CHANGE subscription's queue; answers once it is sent
  (200 ``{"delivered": true, "queue_arn"}``), 502 when SQS refused it, 409 when
  there is no subscription or no SQS endpoint.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omnisync.sandbox.amazon.http import AmazonSimulatorError
from omnisync.sandbox.control_api import PREFIX

if TYPE_CHECKING:
    from omnisync.sandbox.amazon.notifier import NotifierControls

PATH: Final = PREFIX + "/notifications"
RAW_TIMEOUT_S: Final = 15.0


def notification_control_routes(notifier: NotifierControls) -> list[Route]:
    async def state(request: Request) -> Response:
        return JSONResponse(notifier.notifications_state())

    async def pause(request: Request) -> Response:
        notifier.pause_notifications()
        return JSONResponse({"paused": True})

    async def resume(request: Request) -> Response:
        notifier.resume_notifications()
        return JSONResponse({"paused": False})

    async def raw(request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace")
        try:
            delivery = notifier.publish_raw_notification(body)
        except AmazonSimulatorError as error:
            return JSONResponse({"error": "no_subscription", "message": str(error)}, 409)
        await asyncio.to_thread(delivery.done.wait, RAW_TIMEOUT_S)
        if not delivery.delivered:
            message = delivery.error or "not sent in time"
            return JSONResponse({"error": "not_delivered", "message": message}, 502)
        return JSONResponse({"delivered": True, "queue_arn": delivery.queue.arn})

    return [
        Route(PATH, state, methods=["GET"]),
        Route(PATH + "/pause", pause, methods=["POST"]),
        Route(PATH + "/resume", resume, methods=["POST"]),
        Route(PATH + "/raw", raw, methods=["POST"]),
    ]
