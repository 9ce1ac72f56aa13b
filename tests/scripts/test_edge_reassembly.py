#!/usr/bin/env python3
"""End-to-end TCP reassembly check on generated edge-case captures.

Runs tests/gen/gen_edge.py into a temporary directory, then for each
generated capture runs

    $IMAPSCOPE -r CASE.pcap -T json --streams-dir DIR

(env IMAPSCOPE, default ./build/imapscope) and compares, per connection, the
bytes written to DIR/<flow_id>.client and DIR/<flow_id>.server, the
client_bytes / server_bytes and the gap list of the "imap_session" event, and
the reassembly anomaly names, with the generator's expectations.  Prints
"PASS <case>" or "FAIL <case>: reason" per case and exits non-zero on any
failure.  Connections are matched by endpoints (src = client), several on the
same 4-tuple (port reuse) in order of their start.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'gen'))
import gen_edge  # noqa: E402

RUN_TIMEOUT_S = 20


def reasm_anomaly_names():
    """The reassembler's anomaly names, read from its X-macro table."""
    try:
        with open(os.path.join(ROOT, 'src', 'reassembly.h')) as fh:
            text = fh.read()
        table = text[text.index('#define REASM_ANOMALY_TABLE'):]
        table = table[:table.index('typedef enum')]
        names = re.findall(r'X\(\s*\w+\s*,\s*"([a-z0-9_]+)"', table)
        if names:
            return set(names)
    except (OSError, ValueError):
        pass
    return set(gen_edge.REASM_ANOMALY_NAMES)


def sessions_from(stdout):
    out = []
    for n, line in enumerate(stdout.splitlines()):
        line = line.strip()
        if not line:
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            raise ValueError('line %d is not JSON: %.80s' % (n + 1, line))
        if isinstance(ev, dict) and ev.get('event_type') == 'imap_session':
            out.append(ev)
    return out


def session_key(ev):
    return (str(ev.get('src_ip')), ev.get('src_port'), str(ev.get('dest_ip')), ev.get('dest_port'))


def norm_gaps(gaps):
    res = []
    for g in gaps or []:
        res.append((g.get('direction'), g.get('offset'), g.get('length')))
    return sorted(res)


def check_case(imapscope, gendir, js, reasm_names, workdir):
    with open(js) as fh:
        exp = json.load(fh)
    case = exp['case']
    sdir = os.path.join(workdir, case + '.streams')
    os.makedirs(sdir, exist_ok=True)
    pcap = os.path.join(gendir, exp['pcap'])
    try:
        r = subprocess.run([imapscope, '-r', pcap, '-T', 'json', '--streams-dir', sdir],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return 'timed out after %ds' % RUN_TIMEOUT_S
    if r.returncode != 0:
        return 'exit status %d: %s' % (r.returncode, r.stderr.decode(errors='replace').strip()[:200])
    try:
        sessions = sessions_from(r.stdout.decode('utf-8', errors='replace'))
    except ValueError as e:
        return str(e)

    # Group the program's sessions by endpoints, in order of start.
    by_key = {}
    for i, ev in enumerate(sessions):
        s = ev.get('imap_session') or {}
        start = s.get('start', 0)
        by_key.setdefault(session_key(ev), []).append((start if isinstance(start, int) else 0, i, ev))
    for v in by_key.values():
        v.sort(key=lambda t: (t[0], t[1]))

    problems = []
    used = set()
    for n, c in enumerate(exp['connections']):
        key = (c['client'][0], c['client'][1], c['server'][0], c['server'][1])
        cands = [t for t in by_key.get(key, []) if t[1] not in used]
        if not cands:
            problems.append('conn %d %s:%d->%s:%d: no imap_session event' % ((n,) + key))
            continue
        _start, idx, ev = cands[0]
        used.add(idx)
        s = ev.get('imap_session') or {}
        tag = 'conn %d' % n
        for side in ('client', 'server'):
            want_n = c[side + '_bytes']
            got_n = s.get(side + '_bytes')
            if got_n != want_n:
                problems.append('%s %s_bytes %r, expected %d' % (tag, side, got_n, want_n))
            with open(os.path.join(gendir, c[side + '_file']), 'rb') as fh:
                want = fh.read()
            path = os.path.join(sdir, '%s.%s' % (ev.get('flow_id'), side))
            try:
                with open(path, 'rb') as fh:
                    got = fh.read()
            except OSError:
                got = None if want else b''
            if got is None:
                problems.append('%s: no stream file %s' % (tag, os.path.basename(path)))
            elif got != want:
                i = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]),
                         min(len(got), len(want)))
                problems.append('%s %s stream differs at byte %d (%d bytes, expected %d)'
                                % (tag, side, i, len(got), len(want)))
        want_gaps = norm_gaps(c['gaps'])
        got_gaps = norm_gaps(s.get('gaps'))
        if got_gaps != want_gaps:
            problems.append('%s gaps %s, expected %s' % (tag, got_gaps, want_gaps))
        names = set()
        for a in s.get('anomalies') or []:
            nm = a.get('name') if isinstance(a, dict) else a
            if nm in reasm_names:
                names.add(nm)
        want_names = set(c['anomalies'])
        if names != want_names:
            problems.append('%s reassembly anomalies %s, expected %s'
                            % (tag, sorted(names), sorted(want_names)))
    for i, ev in enumerate(sessions):
        s = ev.get('imap_session') or {}
        if i not in used and (s.get('client_bytes') or s.get('server_bytes')):
            problems.append('unexpected session %s:%s->%s:%s with data' % session_key(ev))
    return '; '.join(problems) if problems else None


def main():
    imapscope = os.environ.get('IMAPSCOPE') or os.path.join(ROOT, 'build', 'imapscope')
    if not (os.path.isfile(imapscope) and os.access(imapscope, os.X_OK)):
        print('FAIL imapscope-missing: %s is not an executable' % imapscope)
        return 1
    # Source captures: arguments (for manual runs), else the default one.
    srcs = sys.argv[1:] or [gen_edge.default_input()]
    for src in srcs:
        if not os.path.isfile(src):
            print('FAIL edge-source-missing: %s' % src)
            return 1
    work = tempfile.mkdtemp(prefix='edge-reasm-')
    failed = 0
    try:
        gendir = os.path.join(work, 'gen')
        written = gen_edge.generate(srcs, gendir)
        if not written:
            print('FAIL edge-generator: no case generated from %s' % ' '.join(srcs))
            return 1
        names = reasm_anomaly_names()
        for case, _pcap, js in written:
            why = check_case(imapscope, gendir, js, names, work)
            if why:
                failed += 1
                print('FAIL edge-%s: %s' % (case, why))
            else:
                print('PASS edge-%s' % case)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
