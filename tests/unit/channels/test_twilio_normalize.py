"""The Twilio adapter's reading of an inbound form: WhatsApp location shares, media file names."""

from __future__ import annotations

from channels.twilio.messaging import TwilioMessagingAdapter
from hub.models import Channel

ACCOUNT = "AC" + "1" * 32


def whatsapp_form(**extra: str) -> dict[str, str]:
    return {"MessageSid": "SM" + "a" * 32, "AccountSid": ACCOUNT, "From": "whatsapp:+27821234567",
            "To": "whatsapp:+27600000002", "Body": "", "NumMedia": "0", **extra}


def adapter() -> TwilioMessagingAdapter:
    return TwilioMessagingAdapter(channel=Channel.whatsapp, account_sid=ACCOUNT, auth_token="tok",
                                  from_number="+27600000002")


async def test_a_location_share_is_a_location_message_with_a_map_link() -> None:
    inbound = adapter().normalize(whatsapp_form(Latitude="-33.9249", Longitude="18.4241",
                                                Label="Berry Events", Address="1 Long St, Cape Town"))
    assert inbound.text.startswith("Location shared: Berry Events — 1 Long St, Cape Town\n")
    assert "https://www.openstreetmap.org/?mlat=-33.9249&mlon=18.4241" in inbound.text
    shared = inbound.meta["location"]
    assert shared["latitude"] == -33.9249 and shared["label"] == "Berry Events"
    bare = adapter().normalize(whatsapp_form(Latitude="1.5", Longitude="2"))
    assert bare.text.startswith("Location shared: 1.5, 2.0\n")
    for lat, lon in (("91", "0"), ("nan", "0"), ("x", "1"), ("", "")):  # no usable position: no location
        assert "location" not in adapter().normalize(whatsapp_form(Latitude=lat, Longitude=lon)).meta


async def test_media_file_names_get_an_extension_from_the_content_type() -> None:
    form = whatsapp_form(NumMedia="4", **{f"MediaUrl{i}": f"https://api.twilio.com/m/{i}" for i in range(4)},
                         MediaContentType0="image/jpeg", MediaContentType1="audio/ogg",
                         MediaContentType2="application/pdf", MediaContentType3="application/x-unheard-of")
    names = [a.filename for a in adapter().normalize(form).attachments]
    assert names == ["media0.jpg", "media1.ogg", "media2.pdf", "media3"]
