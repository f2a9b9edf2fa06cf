"""Validation of client messages (protocol v1)."""

import pytest

from chairside import events as ev


def test_start_defaults():
    start = ev.parse_client_message('{"type": "start"}')
    assert isinstance(start, ev.Start)
    assert (start.language, start.sample_rate, start.encoding, start.channels) == ("fr", 16000, "pcm_s16le", 1)


def test_full_start():
    start = ev.parse_client_message(
        '{"type":"start","language":"en","sample_rate":44100,"encoding":"pcm_f32le","channels":2,"vocabulary":["amoxicilline","  clindamycine "]}'
    )
    assert start.sample_rate == 44100 and start.channels == 2
    assert start.vocabulary == ["amoxicilline", "clindamycine"]


@pytest.mark.parametrize(
    "text,code",
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_json"),
        ('{"type": "dance"}', "unknown_message"),
        ('{"no_type": 1}', "unknown_message"),
        ('{"type": "start", "encoding": "mp3"}', "invalid_message"),
        ('{"type": "start", "sample_rate": 4000}', "invalid_message"),
        ('{"type": "start", "sample_rate": 96000}', "invalid_message"),
        ('{"type": "start", "channels": 6}', "invalid_message"),
        ('{"type": "start", "language": "de"}', "invalid_message"),
        ('{"type": "start", "colour": "blue"}', "invalid_message"),
        ('{"type": "start", "vocabulary": "amoxicilline"}', "invalid_message"),
        ('{"type": "start", "context": {"practitioner": {"name": "Dr X"}}}', "invalid_message"),  # from the store now
        ('{"type": "start", "lab": {"phone": "000"}}', "invalid_message"),
        ('{"type": "start", "lab": {"doctor": {}}}', "invalid_message"),
        ('{"type": "start", "room": "Fauteuil 1"}', "invalid_message"),
        ('{"type": "start", "patient": "12"}', "invalid_message"),
        ('{"type": "start", "resume": "x"}', "invalid_message"),
        ('{"type": "preview", "draft": 1}', "invalid_message"),
    ],
)
def test_bad_messages_have_a_machine_readable_code(text, code):
    with pytest.raises(ev.ProtocolError) as info:
        ev.parse_client_message(text)
    assert info.value.code == code
    assert info.value.message


def test_error_messages_name_the_field():
    with pytest.raises(ev.ProtocolError, match="encoding"):
        ev.parse_client_message('{"type": "start", "encoding": "mp3"}')
    with pytest.raises(ev.ProtocolError, match=r"lab\.phone: .*not a valid phone number"):
        ev.parse_client_message('{"type": "start", "lab": {"phone": "000"}}')


def test_start_names_room_patient_and_lab_by_id():
    room, patient = "a" * 32, "b" * 32
    start = ev.parse_client_message('{"type": "start", "token": "t", "room": "%s", "patient": "%s", '
                                    '"lab": {"name": "Laboratoire Rhône", "phone": "04 72 00 00 02"}}' % (room, patient))
    assert (start.room, start.patient, start.token) == (room, patient, "t")
    assert start.lab.phone == "+33 4 72 00 00 02"


def test_server_events_serialize_with_their_type():
    final = ev.Final(utterance=1, text="bonjour", words=[ev.WordTiming(word="bonjour", start=0.1, end=0.5, probability=0.9)], start=0.0, end=0.6, language="fr")
    assert '"type":"final"' in final.model_dump_json()


def test_a_readback_is_shared_with_the_room_and_read_back_from_its_log():
    readback = ev.Readback(utterance=7, kind="prescription", title="Ordonnance", version=1,
                           lines=[ev.ReadbackLine(number=1, text="Amoxicilline 1 g, un comprimé matin et soir pendant 7 jours")],
                           pending="validate", message="Ordonnance, version 1 : 1 ligne. Dites « oui » pour signer")
    assert ev.shared(readback) is readback
    stored = ev.RoomEntry(session_id="f" * 32, event=readback).stored()
    assert stored["type"] == "readback" and stored["lines"][0] == {"number": 1, "text": readback.lines[0].text}
    event = {k: v for k, v in stored.items() if k != "session_id"}
    again = ev.RoomEntry.model_validate({"session_id": stored["session_id"], "event": event})
    assert again.event == readback
