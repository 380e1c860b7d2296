"""State machines: each declares its transitions in one table, and `move` is the one door every
status change goes through — it checks the transition and the actor, sets the status and its
timestamp together and records the audit event.

A domain declares, for example::

    TENDER = StateMachine("tender", {
        "publish": Transition({S.DRAFT}, S.PUBLISHED, "tender.published"),
        ...
    }, labels=lambda: TENDER_STATUS_LABELS, refusal=_l("Not possible while the tender is %(status)s."))

and its workflow calls ``TENDER.check("publish", tender)`` before its own rules and
``TENDER.move(actor, tender, "publish", allowed=perms.can_manage_tenders(actor))`` to change it; its
permissions module offers ``can_publish_tender(user, tender)`` built on ``TENDER.allows`` for the views
and templates.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Iterable, Mapping

from ..extensions import db
from . import clock
from .errors import DomainError
from .permissions import is_system, require


def allow(actor, allowed: bool) -> None:
    """Refuse a person the predicate refuses; the system's own changes (jobs, commands) pass."""
    if not is_system(actor):
        require(allowed)


@dataclass(frozen=True)
class Transition:
    """From any of `sources` to `target`, recorded in the audit trail as `event`."""

    sources: frozenset
    target: Enum
    event: str

    def __init__(self, sources: Iterable[Enum], target: Enum, event: str):
        object.__setattr__(self, "sources", frozenset(sources))
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "event", event)


class StateMachine:
    """The transitions of one kind of record, keyed by verb."""

    def __init__(self, name: str, transitions: Mapping[str, Transition], *,
                 labels: Callable[[], Mapping[Any, Any]], refusal: Any,
                 timestamp: str | None = "status_changed_at", reason: str | None = "status_reason",
                 actions: Mapping[str, Iterable[Enum]] | None = None):
        self.name = name
        self.transitions = dict(transitions)
        # What a state allows without leaving it (editing a draft, paying an accepted milestone):
        # asked with `allows`/`check` like a transition, never moved through `move`.
        self.actions = {verb: frozenset(states) for verb, states in (actions or {}).items()}
        self._labels = labels
        self._refusal = refusal
        self.timestamp = timestamp
        self.reason = reason

    def __repr__(self) -> str:
        return f"<StateMachine {self.name}: {', '.join(self.transitions)}>"

    def label(self, status) -> str:
        return str(self._labels().get(status, getattr(status, "value", status)))

    def allows(self, verb: str, obj) -> bool:
        """Whether the record's state allows `verb` (who acts is the permission predicate's part)."""
        if verb in self.actions:
            return obj.status in self.actions[verb]
        return obj.status in self.transitions[verb].sources

    def check(self, verb: str, obj, message: str | None = None) -> None:
        """Refuse, with the rule in words, a transition the record's state does not allow (`message`
        says it in the step's own words where the machine's general refusal would say less)."""
        if not self.allows(verb, obj):
            raise DomainError(message or str(self._refusal) % {"status": self.label(obj.status)})

    def move(self, actor, obj, verb: str, *, allowed: bool | None = None, reason: str = "",
             changes: Mapping[str, Any] | None = None, **extra) -> None:
        """The one door: check actor and state, set status and timestamp, record the event, flush.

        `allowed` is the permission predicate's answer for this actor (skipped for the system's own
        changes); `changes` adds fields the same step changed to the event; `extra` names values the
        event records as new (an award's winner, a reason code).
        """
        if _AUDIT is None:
            raise RuntimeError("no audit trail registered for state changes (core.workflow.record_with)")
        record, jsonable = _AUDIT
        if allowed is not None:
            allow(actor, allowed)
        self.check(verb, obj)
        step = self.transitions[verb]
        old = obj.status
        obj.status = step.target
        if self.timestamp:
            setattr(obj, self.timestamp, clock.now())
        if self.reason and reason:
            setattr(obj, self.reason, reason)
        db.session.flush()
        event_changes = {"status": [getattr(old, "value", old), step.target.value]}
        if reason:
            event_changes["reason"] = [None, reason]
        event_changes.update(changes or {})
        event_changes.update({k: [None, jsonable(v)] for k, v in extra.items()})
        record(step.event, actor=actor, obj=obj, changes=event_changes)

    def verbs_from(self, status) -> list[str]:
        """The verbs possible from a status (for tests and help texts)."""
        return [verb for verb, step in self.transitions.items() if status in step.sources]


MACHINES: dict[str, StateMachine] = {}

# How a transition is recorded: set by the audit trail when it loads (core imports no domain).
_AUDIT: tuple[Callable, Callable] | None = None


def record_with(record: Callable, jsonable: Callable) -> None:
    """The audit trail's `record(action, actor=, obj=, changes=)` and its value converter."""
    global _AUDIT
    _AUDIT = (record, jsonable)


def register(machine: StateMachine) -> StateMachine:
    """Record a machine so tests can walk every declared transition."""
    MACHINES[machine.name] = machine
    return machine
