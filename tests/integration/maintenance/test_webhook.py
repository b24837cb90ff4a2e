"""The webhook notifier against a real HTTP receiver on 127.0.0.1: retries, restarts, refusals."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from config.settings import WebhookSettings
from maintenance.notify import Notification, WebhookNotifier, WebhookSecretError
from models.timebase import ManualClock
from tests.integration.maintenance.webhook_kit import SECRET, running_receiver
from tests.support import free_port
from tests.unit.maintenance.alerts.policy_kit import T0

pytestmark = pytest.mark.asyncio(loop_scope="session")

RETRY_S = 5.0


def note(alert: str, event: str = "alert.raised") -> Notification:
    return Notification(f"{alert}:{event}", event, {"alert": {"id": alert}, "order": None})


def notifier(spool: Path, url: str, clock: ManualClock) -> WebhookNotifier:
    return WebhookNotifier(
        spool, url, SECRET, clock=clock, timeout_s=5.0, retry_initial_s=RETRY_S, retry_max_s=60.0
    )


async def test_a_failing_receiver_gets_the_same_signed_post_again_after_each_backoff(
    tmp_path: Path,
) -> None:
    clock = ManualClock(T0)
    with running_receiver(fail_first=2) as receiver:
        hook = notifier(tmp_path / "queue.sqlite", receiver.url, clock)
        assert await hook.enqueue(note("AL-000001"))
        first = await hook.deliver_due()
        assert (first.delivered, first.pending) == (0, 1)
        assert first.retry_at == T0 + timedelta(seconds=RETRY_S)
        clock.advance(RETRY_S - 0.001)
        assert (await hook.deliver_due()).delivered == 0  # still backing off: nothing sent
        clock.advance(0.001)
        second = await hook.deliver_due()
        assert second.retry_at == clock.now() + timedelta(seconds=2 * RETRY_S)
        clock.advance(2 * RETRY_S)
        third = await hook.deliver_due()
        await hook.close()
    assert (third.delivered, third.pending, third.retry_at) == (1, 0, None)
    assert [r.answered for r in receiver.received] == [503, 503, 200]
    assert {r.key for r in receiver.received} == {"AL-000001:alert.raised"}
    assert len({r.body for r in receiver.received}) == 1
    assert all(r.signed for r in receiver.received)
    assert [r.headers["X-Trustfloor-Attempt"] for r in receiver.received] == ["1", "2", "3"]
    delivered = receiver.delivered[0]
    assert delivered.headers["X-Trustfloor-Event"] == "alert.raised"
    assert delivered.headers["Content-Type"] == "application/json"
    assert delivered.json() == {
        "event": "alert.raised",
        "idempotency_key": "AL-000001:alert.raised",
        "alert": {"id": "AL-000001"},
        "order": None,
    }


async def test_a_pending_notification_is_delivered_by_the_next_notifier_on_the_same_spool(
    tmp_path: Path,
) -> None:
    spool, clock = tmp_path / "queue.sqlite", ManualClock(T0)
    down = notifier(spool, f"http://127.0.0.1:{free_port()}/hooks", clock)  # nothing listens
    await down.enqueue(note("AL-000001"))
    await down.enqueue(note("AL-000001", "alert.ordered"))
    report = await down.deliver_due()
    assert (report.delivered, report.pending) == (0, 2)
    failed = await down.get("AL-000001:alert.raised")
    assert failed is not None
    assert failed.attempts == 1
    assert "no answer" in failed.last_error
    await down.close()
    with running_receiver() as receiver:
        restarted = notifier(spool, receiver.url, clock)  # a new process after a restart
        report = await restarted.deliver_due()
        await restarted.close()
    assert (report.delivered, report.pending) == (2, 0)
    assert [r.key for r in receiver.received] == [
        "AL-000001:alert.raised",
        "AL-000001:alert.ordered",
    ]


async def test_a_key_is_queued_once_even_when_enqueued_again(tmp_path: Path) -> None:
    with running_receiver() as receiver:
        hook = notifier(tmp_path / "queue.sqlite", receiver.url, ManualClock(T0))
        assert await hook.enqueue(note("AL-000002"))
        await hook.deliver_due()
        assert not await hook.enqueue(note("AL-000002"))  # a replay after a crash
        report = await hook.deliver_due()
        await hook.close()
    assert (report.delivered, report.pending) == (0, 0)
    assert len(receiver.received) == 1


async def test_a_refused_notification_is_set_aside_and_the_queue_moves_on(tmp_path: Path) -> None:
    with running_receiver(fail_first=1, fail_status=400) as receiver:
        hook = notifier(tmp_path / "queue.sqlite", receiver.url, ManualClock(T0))
        await hook.enqueue(note("AL-000003"))
        await hook.enqueue(note("AL-000004"))
        report = await hook.deliver_due()
        refused = await hook.get("AL-000003:alert.raised")
        await hook.close()
    assert (report.delivered, report.refused, report.pending) == (1, 1, 0)
    assert refused is not None
    assert (refused.state, refused.last_error) == ("refused", "HTTP 400")


async def test_a_redirect_is_not_followed(tmp_path: Path) -> None:
    with running_receiver(accept_status=302) as receiver:
        hook = notifier(tmp_path / "queue.sqlite", receiver.url, ManualClock(T0))
        await hook.enqueue(note("AL-000005"))
        report = await hook.deliver_due()
        await hook.close()
    assert (report.delivered, report.refused) == (0, 1)
    assert len(receiver.received) == 1


async def test_the_running_notifier_sends_what_is_enqueued(tmp_path: Path) -> None:
    with running_receiver() as receiver:
        hook = notifier(tmp_path / "queue.sqlite", receiver.url, ManualClock(T0))
        task = asyncio.create_task(hook.run(), name="webhook-notifier")
        await hook.enqueue(note("AL-000006"))
        await receiver.wait_for(1)
        await hook.enqueue(note("AL-000006", "alert.cleared"))
        await receiver.wait_for(2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await hook.close()
    assert [r.key for r in receiver.delivered] == [
        "AL-000006:alert.raised",
        "AL-000006:alert.cleared",
    ]


async def test_the_secret_comes_from_the_named_environment_variable(tmp_path: Path) -> None:
    settings = WebhookSettings(url="http://127.0.0.1:9/hook", secret_env="PLANNER_HOOK_SECRET")
    with pytest.raises(WebhookSecretError, match="PLANNER_HOOK_SECRET") as refused:
        WebhookNotifier.from_settings(settings, tmp_path, environ={})
    assert "PLANNER_HOOK_SECRET" in refused.value.advice
    hook = WebhookNotifier.from_settings(
        settings, tmp_path, environ={"PLANNER_HOOK_SECRET": "x"}, clock=ManualClock(T0)
    )
    await hook.close()
    assert hook.url == settings.url
    assert (tmp_path / "queue" / "notifications.sqlite").exists()
