"""Rooms: the live feed of a chair's dictation to every screen watching it,
on every replica.

**Writing.**  What a session in a room sends its dentist (partials, finals,
commands, drafts, documents, start and end) is appended to ``room_events``
with the room's next sequence number, in one transaction that also
``NOTIFY``-s the channel ``chairside_room_events`` with ``<room>:<seq>``
(ids only: a notification carries at most 8 kB, an event may not).  A
session's events are appended in order by one task (:class:`.publisher.RoomPublisher`),
so the dictation never waits for the database or for a screen.

**Fan-out.**  Every replica listens on the channel (:class:`.hub.RoomHub`).  When
a room it has screens for moves on, it reads the new rows once and offers
them to each screen's bounded queue.  A screen that falls too far behind
(its queue full: a frozen tab, a slow link) is not waited for: its queue is
dropped and it gets a fresh snapshot instead.

**Snapshot and catch-up** (:mod:`.views`): a screen
that connects gets the room's current session as it stands at sequence S
(transcript, drafts, documents), then the events after S.  A screen that
reconnects with the last sequence number it saw gets exactly the events it
missed, in order, from the table, when they are still all there; else a
snapshot.
"""
