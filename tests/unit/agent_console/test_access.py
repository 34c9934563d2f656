"""Room membership and visibility rules (pure functions)."""

from __future__ import annotations

from agent_console import access
from agent_console.ratelimit import Bucket
from hub.auth import Principal
from hub.models import Channel, Conversation, Role


def conv(team: str | None = None, assignee: str | None = None) -> Conversation:
    return Conversation(number=1, contact_id="c", channel=Channel.sms, thread_key="t", team_id=team,
                        assignee_id=assignee)


AGENT = Principal(role=Role.agent, user_id="u1", team_ids=("venues",))
SUPERVISOR = Principal(role=Role.supervisor, user_id="s1")
CUSTOMER = Principal(role=Role.customer, user_id="k1", contact_id="c")


def test_agents_join_their_teams_and_the_shared_inbox_supervisors_join_all() -> None:
    assert access.rooms_for(AGENT) == ["staff", "agent:u1", "team:-", "team:venues"]
    assert access.rooms_for(SUPERVISOR) == ["staff", "agent:s1", "all"]


def test_team_conversations_are_private_to_the_team_its_assignee_and_supervisors() -> None:
    assert access.can_see(AGENT, conv())
    assert access.can_see(AGENT, conv("venues"))
    assert not access.can_see(AGENT, conv("catering"))
    assert access.can_see(AGENT, conv("catering", assignee="u1"))
    assert access.can_see(SUPERVISOR, conv("catering"))
    assert not access.can_see(CUSTOMER, conv())


def test_events_go_to_supervisors_the_scope_and_the_assignee() -> None:
    assert access.event_rooms(conv()) == ["all", "team:-"]
    assert access.event_rooms(conv("venues", "u9")) == ["agent:u9", "all", "team:venues"]


def test_bucket_allows_a_burst_then_refuses() -> None:
    bucket = Bucket(3, 0.001)
    assert [bucket.take() for _ in range(5)] == [True, True, True, False, False]


def test_the_console_and_the_rest_api_share_one_rule() -> None:
    from hub.auth import visibility

    key = Principal(role=Role.agent, api_key_id="k")  # an integration acts for the organisation
    for who in (AGENT, SUPERVISOR, key):
        for c in (conv(), conv("venues"), conv("catering"), conv("catering", assignee="u1")):
            assert access.can_see(who, c) == visibility.can_see(who, c)
    assert visibility.can_see(CUSTOMER, conv()) and not access.can_see(CUSTOMER, conv())  # portal: REST only
    assert [visibility.in_scope(AGENT, t) for t in (None, "venues", "catering")] == [True, True, False]
    assert visibility.in_scope(SUPERVISOR, "catering") and visibility.in_scope(key, "catering")


def test_a_message_shows_its_attachments_and_raw_email() -> None:
    from channels.blob_access import blob_ids
    from hub.models import Attachment, Message

    files = [Attachment(blob_id="b1"), Attachment(url="https://x"), Attachment(blob_id="b1")]
    message = Message(conversation_id="c", contact_id="k", channel=Channel.email, direction="in",
                      author_type="customer", attachments=files, meta={"email": {"raw_blob_id": "raw"}})
    assert blob_ids(message) == ["b1", "raw"]
