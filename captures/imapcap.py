"""Recording IMAP client for the capture scenarios (python imaplib).

RecIMAP / RecIMAP_SSL are imaplib clients whose send/read/readline are
wrapped so that every application-layer byte is logged per connection, after
TLS decryption and before DEFLATE compression (i.e. exactly the bytes imaplib
itself writes and parses).  Tags are deterministic: A001, A002, ...

Transcript.dump(path) writes the ground truth JSON the decoder tests compare
against:
  {"connections": [{"client_port", "server_port", "tls": "none|starttls|implicit",
                    "compress": bool, "client": b64, "server": b64,
                    "commands": [{"tag", "command", "status"}]}]}

COMPRESS=DEFLATE (RFC 4978) is done by hand: after the tagged OK every write
goes through a raw-deflate compressor with a full flush per write, and reads
go through a raw-deflate decompressor.
"""
import base64
import imaplib
import json
import re
import socket
import ssl
import zlib

# Commands imaplib does not know; states as in RFCs (AUTH, SELECTED).
for _name, _states in {
        "ID": ("NONAUTH", "AUTH", "SELECTED"),
        "COMPRESS": ("AUTH", "SELECTED"),
        "UNSELECT": ("SELECTED",),
        "IDLE": ("AUTH", "SELECTED"),
        "GETMETADATA": ("AUTH", "SELECTED"),
        "SETMETADATA": ("AUTH", "SELECTED"),
        "LISTRIGHTS": ("AUTH", "SELECTED"),
        "SORT": ("SELECTED",),
        "THREAD": ("SELECTED",),
        "MOVE": ("SELECTED",),
        "XNOSUCHCMD": ("NONAUTH", "AUTH", "SELECTED"),
        "FROBNICATE": ("NONAUTH", "AUTH", "SELECTED"),
        "LOGIN": ("NONAUTH",),
}.items():
    imaplib.Commands.setdefault(_name, _states)
imaplib.Commands["ENABLE"] = ("AUTH",)
imaplib.Commands["ID"] = ("NONAUTH", "AUTH", "SELECTED")

CONNECTIONS = []


class Lit:
    """A literal argument for RecMixin.raw(): {n} or, with plus, {n+}."""

    def __init__(self, data, plus=False):
        self.data = data if isinstance(data, bytes) else data.encode("utf-8")
        self.plus = plus


class RecMixin:
    TLS_MODE = "none"

    def _rec_init(self):
        self.rec = {"client_port": 0, "server_port": 0, "tls": self.TLS_MODE,
                    "compress": False, "client": bytearray(),
                    "server": bytearray(), "commands": []}
        self._cmd_index = {}
        self._z_out = None
        self._z_in = None
        self._z_buf = b""
        CONNECTIONS.append(self.rec)

    # -- deterministic tags ------------------------------------------------
    def _connect(self):
        orig = imaplib.Int2AP
        imaplib.Int2AP = lambda _n: b"A"
        try:
            return super()._connect()
        finally:
            imaplib.Int2AP = orig

    def _new_tag(self):
        self.tagnum += 1
        tag = b"A%03d" % self.tagnum
        self.tagged_commands[tag] = None
        return tag

    # -- transport hooks ---------------------------------------------------
    def open(self, host="", port=imaplib.IMAP4_PORT, timeout=None):
        self._rec_init()
        super().open(host, port, timeout)
        self.rec["client_port"] = self.sock.getsockname()[1]
        self.rec["server_port"] = self.sock.getpeername()[1]

    def send(self, data):
        self.rec["client"] += data
        if self._z_out is not None:
            data = self._z_out.compress(data) + self._z_out.flush(zlib.Z_FULL_FLUSH)
        self.sock.sendall(data)

    def _z_fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self._z_buf += self._z_in.decompress(chunk)
        return True

    def read(self, size):
        if self._z_in is None:
            data = self.file.read(size)
        else:
            while len(self._z_buf) < size and self._z_fill():
                pass
            data, self._z_buf = self._z_buf[:size], self._z_buf[size:]
        self.rec["server"] += data
        return data

    def readline(self):
        if self._z_in is None:
            line = self.file.readline(imaplib._MAXLINE + 1)
        else:
            while b"\n" not in self._z_buf and self._z_fill():
                pass
            i = self._z_buf.find(b"\n")
            i = len(self._z_buf) if i < 0 else i + 1
            line, self._z_buf = self._z_buf[:i], self._z_buf[i:]
        self.rec["server"] += line
        return line

    def shutdown(self):
        # Drain whatever the server still sends (tagged OK after BYE), so the
        # transcript holds every byte of the connection.
        try:
            self.sock.settimeout(2.0)
            while True:
                if self._z_in is not None:
                    if self._z_buf:
                        self.rec["server"] += self._z_buf
                        self._z_buf = b""
                    if not self._z_fill():
                        break
                    continue
                data = self.file.read1(65536) if hasattr(self.file, "read1") else self.file.read(1)
                if not data:
                    break
                self.rec["server"] += data
        except (OSError, ValueError, ssl.SSLError):
            pass
        super().shutdown()

    # -- command bookkeeping -----------------------------------------------
    def _command(self, name, *args):
        n = len(self.rec["commands"])
        label = name
        if name == "UID" and args:  # "UID FETCH", "UID MOVE", ...
            label = "UID " + (args[0].decode() if isinstance(args[0], bytes) else args[0])
        self.rec["commands"].append({"tag": "", "command": label, "status": None})
        tag = super()._command(name, *args)
        self.rec["commands"][n]["tag"] = tag.decode()
        self._cmd_index[tag] = n
        return tag

    def _get_tagged_response(self, tag, expect_bye=False):
        typ, dat = super()._get_tagged_response(tag, expect_bye)
        n = self._cmd_index.get(tag)
        if n is not None and typ != "BYE":
            self.rec["commands"][n]["status"] = typ
        return typ, dat

    def _get_response(self):
        resp = super()._get_response()
        # A tagged completion that arrives after an early BYE (LOGOUT).
        m = re.match(rb"(A\d+) (OK|NO|BAD)", resp or b"")
        if m and m.group(1) in self._cmd_index:
            self.rec["commands"][self._cmd_index[m.group(1)]]["status"] = m.group(2).decode()
        return resp

    def cmd(self, name, *args):
        """Run a command; NO/BAD are returned, not raised."""
        try:
            return self._simple_command(name, *args)
        except self.error as e:
            return ("BAD" if "BAD" in str(e) else "NO", [str(e).encode()])

    def raw(self, name, parts, wait=True):
        """Send `TAG name parts...` where parts are bytes/str or Lit
        (any number of literals, synchronizing or LITERAL+)."""
        tag = self._new_tag()
        self.rec["commands"].append({"tag": tag.decode(), "command": name, "status": None})
        self._cmd_index[tag] = len(self.rec["commands"]) - 1
        buf = tag + b" " + name.encode()
        for p in parts:
            if isinstance(p, Lit):
                buf += b" {%d%s}\r\n" % (len(p.data), b"+" if p.plus else b"")
                if not p.plus:
                    self.send(buf)
                    buf = b""
                    while self._get_response():
                        if self.tagged_commands[tag]:
                            return self._command_complete(name, tag)
                buf += p.data
            else:
                # A literal's data is followed directly by the next part's
                # leading space, as the grammar wants (`{5}\r\nalice "pw"`).
                buf += b" " + (p.encode("utf-8") if isinstance(p, str) else p)
        self.send(buf + b"\r\n")
        if not wait:
            return tag
        try:
            return self._command_complete(name, tag)
        except self.error as e:
            return ("BAD" if "BAD" in str(e) else "NO", [str(e).encode()])

    def compress(self):
        typ, dat = self._simple_command("COMPRESS", "DEFLATE")
        if typ == "OK":
            self._z_out = zlib.compressobj(6, zlib.DEFLATED, -15)
            self._z_in = zlib.decompressobj(-15)
            self.rec["compress"] = True
        return typ, dat

    def starttls(self, ssl_context=None):
        r = super().starttls(ssl_context)
        self.rec["tls"] = "starttls"
        return r


class RecIMAP(RecMixin, imaplib.IMAP4):
    TLS_MODE = "none"


class RecIMAP_SSL(RecMixin, imaplib.IMAP4_SSL):
    TLS_MODE = "implicit"


def tls_context(keylog, cafile, version=None):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.keylog_filename = keylog
    if version == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    elif version == "1.3":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def _fill_status(r):
    """LOGOUT returns at the BYE; its tagged completion is only in the drained
    bytes.  Take any missing status from the server's tagged line."""
    for c in r["commands"]:
        if c["status"] is None and c["tag"]:
            m = re.search(rb"(?m)^" + c["tag"].encode() + rb" (OK|NO|BAD)\b", bytes(r["server"]))
            if m:
                c["status"] = m.group(1).decode()


def dump(path):
    out = []
    for r in CONNECTIONS:
        _fill_status(r)
        out.append({"client_port": r["client_port"], "server_port": r["server_port"],
                    "tls": r["tls"], "compress": r["compress"],
                    "client": base64.b64encode(bytes(r["client"])).decode(),
                    "server": base64.b64encode(bytes(r["server"])).decode(),
                    "commands": r["commands"]})
    with open(path, "w") as f:
        json.dump({"connections": out}, f, indent=1)
        f.write("\n")
    CONNECTIONS.clear()
