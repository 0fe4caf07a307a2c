# A loopback SMTP server for the channel tests (Debian's python3-aiosmtpd): saves each message
# to OUT/NNNN.eml. Mode "plain", or "starttls" (certificate and key given) with AUTH required:
# login "caretaker", password "right-pass". Runs until its stdin closes.
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, out, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Save:
    async def handle_DATA(self, server, session, envelope):
        path = os.path.join(out, "%04d.eml" % len(os.listdir(out)))
        with open(path + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(path + ".tmp", path)
        return "250 OK"


def auth(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"caretaker" and data.password == b"right-pass"
    return AuthResult(success=ok, handled=False)


kw = {}
if mode == "starttls":
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    kw = dict(tls_context=ctx, require_starttls=True, authenticator=auth, auth_required=True)
c = Controller(Save(), hostname="127.0.0.1", port=port, **kw)
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
