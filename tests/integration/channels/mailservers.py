"""Real mail servers for the e-mail tests: Debian's dovecot-imapd (started from a private config in
a temp dir, on a free port) and aiosmtpd SMTP servers on the test loop."""

from __future__ import annotations

import imaplib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from hub.models import new_id
from hub.store import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "berry-test-pw"

CONF = """base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@dataclass
class Dovecot:
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        d = self.directory
        for sub in ("run", "state", "home"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "home").chmod(0o777)
        (d / "users").write_text("")
        (d / "dovecot.conf").write_text(CONF.format(d=d, port=self.port))
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(d / "dovecot.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        "dovecot exited: "
                        f"{self.process.stderr.read().decode() if self.process.stderr else ''}"
                        f"{(d / 'dovecot.log').read_text() if (d / 'dovecot.log').exists() else ''}"
                    ) from None
                time.sleep(0.05)
        raise RuntimeError("dovecot did not start listening")

    def add_user(self) -> str:
        """Add a mailbox user and return once dovecot accepts its login. dovecot re-reads the
        passwd-file when its mtime/size change; a change within the same second as its last read
        was seen to go unnoticed in CI (login NO), so bump the mtime and wait for a good login."""
        user = f"support-{new_id()}@berry.test"
        users = self.directory / "users"
        before = users.stat().st_mtime
        with open(users, "a") as fh:
            fh.write(f"{user}:{{PLAIN}}{PASSWORD}\n")
        stamp = max(time.time(), before + 1)
        os.utime(users, (stamp, stamp))
        deadline = time.monotonic() + 10
        while True:
            try:
                with imaplib.IMAP4("127.0.0.1", self.port, timeout=5) as imap:
                    imap.login(user, PASSWORD)
                    return user
            except imaplib.IMAP4.error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            if self.process.stderr:
                self.process.stderr.close()


class Collector:
    """An aiosmtpd handler keeping what it received; refuses recipients at ``refuse``."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], bytes]] = []
        self.refuse: dict[str, str] = {"nobody@example.net": "550 5.1.1 no such user",
                                       "full@example.org": "452 4.2.2 mailbox full"}

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.original_content or envelope.content
        self.mails.append((str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content)))
        return "250 OK"
