"""An aiosmtpd handler for the notice delivery tests: every accepted message is written, whole, to a file in
a directory (with a Received: header added, as a real server would), atomically (written to a dot-file,
then renamed), before the server answers 250. A recipient whose local part starts with "reject-" is refused
with 550, one starting with "busy-" with 451.

    python3 -m aiosmtpd -n -l 127.0.0.1:PORT [--tlscert CERT --tlskey KEY] -c smtp_sink.DirHandler OUTDIR

With --tlscert/--tlskey the server offers STARTTLS and requires it before MAIL.
"""
import os
import time
import uuid


class DirHandler:
    def __init__(self, outdir):
        self.outdir = outdir
        os.makedirs(outdir, exist_ok=True)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("smtp_sink.DirHandler takes one argument: the output directory")
        return cls(args[0])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local.startswith("reject-"):
            return "550 5.1.1 no such mailbox here"
        if local.startswith("busy-"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = "%d-%s.eml" % (time.time_ns(), uuid.uuid4().hex[:8])
        # "with ESMTPS" when the session ran over STARTTLS (RFC 3848), as real servers write it.
        protocol = "ESMTPS" if getattr(session, "ssl", None) is not None else "ESMTP"
        received = ("Received: from %s (%s) by smtp-sink.test with %s id %s;\r\n\t%s\r\n"
                    % (session.host_name, session.peer[0], protocol, name,
                       time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())))
        data = received.encode() + (envelope.original_content or envelope.content)
        tmp = os.path.join(self.outdir, "." + name)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.outdir, name))
        return "250 2.0.0 OK queued as " + name
