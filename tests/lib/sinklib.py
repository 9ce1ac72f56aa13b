"""sinklib.py - helpers of the sink tests (test_sinks.py, test_fleet.py):
a real redis-server and rsyslogd started on loopback in a temp dir, a
minimal RESP client (no redis-py needed), free ports, and a generator of a
long capture (copies of one capture with other client ports) for runs that
must last long enough to kill a sink in the middle.

Servers are started by the test and stopped by it (stop()); nothing is
sent off the loopback interface.
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gen"))
from rewrite_ports import _rewrite_frame  # noqa: E402


def free_port():
    """A TCP port free on 127.0.0.1 now (also free for UDP, checked)."""
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", p))
            u.close()
            return p
        except OSError:
            u.close()
    raise RuntimeError("no free port")


def wait_tcp(port, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


# ---------------------------------------------------------------- RESP
class Resp:
    """A minimal redis client: call("LLEN", "k") returns the decoded reply
    (int, bytes, list, None; an error reply raises RuntimeError)."""

    def __init__(self, port, timeout=10.0, password=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")
        if password:
            self.call("AUTH", password)

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))

    def read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def call(self, *args):
        self.send(*args)
        return self.read()

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


class Redis:
    """redis-server on 127.0.0.1:port, data in workdir (AOF with fsync
    always when persist: a graceful stop and a restart keep every
    acknowledged write)."""

    def __init__(self, workdir, port=None, persist=False, password=None):
        self.dir = workdir
        self.port = port or free_port()
        self.persist = persist
        self.password = password
        self.proc = None

    def start(self):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--dir", self.dir, "--daemonize", "no", "--protected-mode", "yes",
                "--logfile", os.path.join(self.dir, "redis.log")]
        if self.persist:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_tcp(self.port):
            raise RuntimeError("redis-server did not start on port %d" % self.port)
        # loading the AOF: wait until it answers PING
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                c = Resp(self.port, password=self.password)
                c.call("PING")
                c.close()
                return self
            except (RuntimeError, OSError, ConnectionError):
                time.sleep(0.05)
        raise RuntimeError("redis-server on port %d does not answer" % self.port)

    def stop(self, graceful=True):
        if not self.proc:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self):
        return Resp(self.port, password=self.password)


def have(*tools):
    return all(shutil.which(t) for t in tools)


# ---------------------------------------------------------------- rsyslog
RSYSLOG_TEMPLATE = ("%syslogfacility-text%.%syslogseverity-text% %app-name% %procid% %msgid% "
                    "%hostname%|%msg%\\n")


class Rsyslog:
    """rsyslogd -n with its own config in workdir: imudp and imtcp on
    loopback ports, imuxsock on workdir/log.sock, each input to its own
    file (udp.log, tcp.log, unix.log) as "FAC.SEV APP PROCID MSGID HOST|MSG"."""

    def __init__(self, workdir):
        self.dir = workdir
        self.udp = free_port()
        self.tcp = free_port()
        self.sock = os.path.join(workdir, "log.sock")
        self.proc = None

    def files(self):
        return {k: os.path.join(self.dir, k + ".log") for k in ("udp", "tcp", "unix")}

    def start(self):
        f = self.files()
        conf = os.path.join(self.dir, "rsyslog.conf")
        with open(conf, "w") as c:
            c.write('global(workDirectory="%s" maxMessageSize="1m")\n' % self.dir)
            c.write('module(load="imudp")\nmodule(load="imtcp")\n')
            c.write('module(load="imuxsock" SysSock.Use="off")\n')
            c.write('template(name="t" type="string" string="%s")\n' % RSYSLOG_TEMPLATE)
            for k in ("udp", "tcp", "unix"):
                c.write('ruleset(name="r%s") { action(type="omfile" file="%s" template="t") }\n' % (k, f[k]))
            c.write('input(type="imudp" address="127.0.0.1" port="%d" ruleset="rudp" rcvbufSize="4m")\n' % self.udp)
            c.write('input(type="imtcp" address="127.0.0.1" port="%d" ruleset="rtcp")\n' % self.tcp)
            c.write('input(type="imuxsock" socket="%s" ruleset="runix" UseSpecialParser="off" '
                    'RateLimit.Interval="0")\n' % self.sock)
        self.proc = subprocess.Popen(["rsyslogd", "-n", "-f", conf, "-i", os.path.join(self.dir, "rsyslog.pid")],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "rsyslog.err"), "w"))
        if not wait_tcp(self.tcp):
            raise RuntimeError("rsyslogd did not start (see %s)" % os.path.join(self.dir, "rsyslog.err"))
        end = time.monotonic() + 10
        while not os.path.exists(self.sock) and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(0.3)  # imudp's thread
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # flushes omfile
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def read(self, key, want=None, timeout=10.0):
        """The records of one input as (fields, msg) once want arrived
        (or the timeout passed)."""
        path = self.files()[key]
        end = time.monotonic() + timeout
        while True:
            recs = []
            if os.path.exists(path):
                with open(path, "rb") as fp:
                    for line in fp.read().decode("utf-8", "replace").splitlines():
                        head, _, msg = line.partition("|")
                        recs.append((head.split(" "), msg))
            if want is None or len(recs) >= want or time.monotonic() > end:
                if want is None:
                    time.sleep(0)
                return recs
            time.sleep(0.1)


# ---------------------------------------------------------------- captures
def read_pcap(path):
    """(header, [(record header, frame)]) of a classic little/big-endian pcap."""
    with open(path, "rb") as f:
        data = f.read()
    e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    out, off = [], 24
    while off + 16 <= len(data):
        cl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        out.append((data[off:off + 16], data[off + 16:off + 16 + cl]))
        off += 16 + cl
    return data[:24], e, out


def copies(path, client_port, n, first_port=20000, gap_s=1):
    """The frames of a capture n times, copy k with the client port
    client_port renamed first_port + k and its times shifted k * (the
    capture's span + gap_s) seconds; returns (pcap header, [record bytes])
    in time order."""
    hdr, e, recs = read_pcap(path)
    t0 = struct.unpack(e + "I", recs[0][0][:4])[0]
    t1 = struct.unpack(e + "I", recs[-1][0][:4])[0]
    span = t1 - t0 + gap_s
    out = []
    for k in range(n):
        for rh, fr in recs:
            sec, usec, cl, wl = struct.unpack(e + "IIII", rh)
            nf = _rewrite_frame(fr, client_port, first_port + k)
            out.append(struct.pack(e + "IIII", sec + k * span, usec, len(nf), wl - len(fr) + len(nf)) + nf)
    return hdr, out
