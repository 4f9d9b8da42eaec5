"""The worker's slot count (pipeline.slots): webhook POSTs per kind and per server, the
quota a claim gets from it, and the memory of a fruitless look (issue 12, item 1)."""

from __future__ import annotations

from postlane.config import Settings
from postlane.domain.jobs import Job
from postlane.domain.types import JobKind
from postlane.pipeline.slots import Slots


def _job(server: int | None, kind: JobKind = JobKind.NOTIFY, job_id: int = 1) -> Job:
    return Job(job_id, kind, str(job_id), 1, 11, "w1", server)


def test_quota_counts_per_kind_and_per_server() -> None:
    slots = Slots(Settings(worker_concurrency=10, webhook_worker_share=0.5,
                           webhook_concurrency_per_server=2))
    assert slots.limit == 5
    for job in (_job(1), _job(1), _job(2), _job(None), _job(None, JobKind.SCREEN)):
        slots.started(job)
    quota = slots.quota(free=5)
    assert (quota.free, quota.per_server, dict(quota.running)) == (1, 2, {1: 2, 2: 1})
    assert slots.quota(free=0).free == 0

    # Room that a claim had to leave alone wakes the worker; other room does not.
    assert slots.finished(_job(1)) is True  # server 1 was at its share
    assert slots.finished(_job(2)) is False
    assert slots.finished(_job(None, JobKind.SCREEN)) is False
    assert dict(slots.quota(free=5).running) == {1: 1}


def test_the_kind_at_its_share_wakes_on_room() -> None:
    slots = Slots(Settings(worker_concurrency=4, webhook_worker_share=0.5,
                           webhook_concurrency_per_server=8))
    slots.started(_job(1))
    slots.started(_job(2))
    assert slots.quota(free=2).free == 0
    assert slots.finished(_job(2)) is True
    assert slots.quota(free=3).free == 1


def test_at_least_one_webhook_slot() -> None:
    assert Slots(Settings(worker_concurrency=1, webhook_worker_share=0.1)).limit == 1


def test_a_fruitless_look_is_not_repeated_until_news() -> None:
    slots = Slots(Settings(worker_concurrency=64, webhook_concurrency_per_server=1))
    slots.started(_job(1))
    full = slots.quota(free=63)  # leaves server 1's jobs alone
    assert slots.worth_a_look(full) and not slots.waiting(full)
    slots.looked(full, claimed=0)
    assert not slots.worth_a_look(full) and slots.waiting(full)
    # A quota that leaves alone less is worth a look: server 1 has room again.
    slots.finished(_job(1))
    roomy = slots.quota(free=64)
    assert slots.worth_a_look(roomy) and not slots.waiting(roomy)
    # ... and one that leaves alone more is not.
    slots.started(_job(1))
    slots.started(_job(2))
    assert not slots.worth_a_look(slots.quota(free=62))
    slots.news()
    assert slots.worth_a_look(slots.quota(free=62))


def test_a_look_that_found_work_is_not_remembered() -> None:
    slots = Slots(Settings())
    quota = slots.quota(free=64)
    slots.looked(quota, claimed=3)
    assert slots.worth_a_look(quota)
