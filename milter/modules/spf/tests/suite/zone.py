#!/usr/bin/python3
"""zone.py - serve one scenario of the openspf/pyspf SPF test suite from a
real DNS server (unbound) on loopback.

The zone data is read the way the reference driver (pyspf's testspf.py)
reads it:
  - an SPF entry is also served as TXT unless the name has a TXT entry;
  - `TXT: NONE` means no TXT record;
  - a TXT/SPF value that is a list is one record of several strings;
  - `TIMEOUT` makes a query for the name time out unless a record of the
    queried type comes before it in the list; `{TYPE: TIMEOUT}` makes that
    type time out.

How it is served (unbound, see README.md for why unbound and not dnsmasq):
  - every name that answers all types is in an authoritative zone for "."
    (auth-zone, for-downstream): real NXDOMAIN for unknown names, NOERROR
    with no answer (and the SOA) for a name without the asked type, CNAME
    chains inside the zone followed in the answer, TXT/SPF written as raw
    RFC 3597 rdata so string boundaries, empty strings and non-ASCII bytes
    are exact, strings over 255 octets split into several character-strings
    (a record of no strings becomes one empty string unless raw_null_txt);
  - a name that times out for some type is a `deny` local zone holding the
    records that do answer: unbound answers those and drops every other
    query for the name, so the client's own timeout fires;
  - unbound's built-in local zones (localhost, the AS112 and documentation
    reverse zones...) are switched off, so 2.0.192.in-addr.arpa and friends
    come from the suite's data like any other name.

Nothing here needs more than the Python standard library and PyYAML.
Run it by hand to look at a scenario's server:
    zone.py list FILE                  scenarios and what cannot be served
    zone.py verify FILE [SCENARIO...]  query every name x type, compare
    zone.py serve FILE SCENARIO        serve it until ^C (print the port)
    zone.py selftest                   the same check on made-up edge cases
"""

import gzip
import ipaddress
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile

QTYPES = {'A': 1, 'NS': 2, 'CNAME': 5, 'SOA': 6, 'PTR': 12, 'MX': 15, 'TXT': 16, 'AAAA': 28, 'SPF': 99}
TYPENAMES = {v: k for k, v in QTYPES.items()}
# The types the suite's data uses; a name is checked for each of them.
DATA_TYPES = ('A', 'AAAA', 'MX', 'PTR', 'TXT', 'SPF', 'CNAME')
TTL = 60
TIMEOUT = 'TIMEOUT'

# unbound's built-in local zones (unbound.conf(5), "local-zone"): turned
# off so that names under them are answered from the suite's data.
UNBOUND_DEFAULT_ZONES = (
    ['localhost.', '127.in-addr.arpa.', 'home.arpa.', 'onion.', 'test.', 'invalid.',
     'resolver.arpa.', 'service.arpa.',
     '1.' + '0.' * 31 + 'ip6.arpa.', '0.' * 32 + 'ip6.arpa.',
     '10.in-addr.arpa.', '168.192.in-addr.arpa.', '0.in-addr.arpa.', '254.169.in-addr.arpa.',
     '2.0.192.in-addr.arpa.', '100.51.198.in-addr.arpa.', '113.0.203.in-addr.arpa.',
     '255.255.255.255.in-addr.arpa.', 'd.f.ip6.arpa.', '8.e.f.ip6.arpa.', '9.e.f.ip6.arpa.',
     'a.e.f.ip6.arpa.', 'b.e.f.ip6.arpa.', '8.b.d.0.1.0.0.2.ip6.arpa.']
    + ['%d.172.in-addr.arpa.' % i for i in range(16, 32)]
    + ['%d.100.in-addr.arpa.' % i for i in range(64, 128)])


# --- the suite files ---------------------------------------------------------

def load_suite(path):
    """The scenarios of a suite file (.yml or .yml.gz), in file order."""
    import yaml  # PyYAML; imported here so --help works without it
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as fp:
        return [d for d in yaml.safe_load_all(fp) if d]


def slug(text):
    """A scenario's description as an id: 'Initial processing' -> 'initial-processing'."""
    out = ''.join(c.lower() if c.isalnum() else '-' for c in text.strip())
    while '--' in out:
        out = out.replace('--', '-')
    return out.strip('-')


def scenario_ids(scenarios):
    """Unique slugs, in order (a repeated description gets -2, -3...)."""
    seen, ids = {}, []
    for s in scenarios:
        base = slug(s.get('description', 'scenario')) or 'scenario'
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else '%s-%d' % (base, seen[base]))
    return ids


# --- names and rdata ------------------------------------------------------------

class Unservable(Exception):
    pass


def norm_name(name):
    """Lower case, no trailing dot (the suite's keys are absolute names)."""
    name = str(name)
    return (name[:-1] if name.endswith('.') else name).lower()


def name_labels(name):
    """Labels of a name as bytes; Unservable if DNS cannot carry it."""
    name = str(name)
    if name in ('', '.'):
        return []
    if name.endswith('.'):
        name = name[:-1]
    labels = [lab.encode('utf-8') for lab in name.split('.')]
    for lab in labels:
        if not lab:
            raise Unservable('empty label in %r' % name)
        if len(lab) > 63:
            raise Unservable('label of %d octets (max 63) in %r' % (len(lab), name))
    if sum(len(lab) + 1 for lab in labels) + 1 > 255:
        raise Unservable('name of more than 255 octets: %r' % name)
    return labels


def present_name(name):
    """Master-file presentation of a name, escaping what is not a letter, digit, - or _."""
    labels = name_labels(name)
    if not labels:
        return '.'
    out = []
    for lab in labels:
        out.append(''.join(chr(b) if (chr(b).isascii() and (chr(b).isalnum() or chr(b) in '-_'))
                           else '\\%03d' % b for b in lab))
    return '.'.join(out) + '.'


def txt_strings(value, raw_null=False):
    """A TXT/SPF value (a string, or a list = one record of several strings) as a
    tuple of byte strings, each at most 255 octets (longer ones are split).
    A record of no strings (`SPF: []`) becomes one empty string, unless
    raw_null: RFC 1035 wants at least one, and libunbound answers SERVFAIL for
    a whole RRset holding an empty rdata."""
    parts = list(value) if isinstance(value, (list, tuple)) else [value]
    if not parts and not raw_null:
        parts = ['']
    out = []
    for p in parts:
        b = str(p).encode('utf-8')  # what pyspf's driver does with the text
        if not b:
            out.append(b'')
        while b:
            out.append(b[:255])
            b = b[255:]
    return tuple(out)


def txt_generic(strings):
    """RFC 3597 rdata for a TXT/SPF record: exact bytes, even zero strings."""
    wire = b''.join(bytes([len(s)]) + s for s in strings)
    return '\\# %d %s' % (len(wire), wire.hex()) if wire else '\\# 0'


class Record:
    """One resource record: type name and a canonical value used both to write
    it and to compare it with what the server answers."""

    def __init__(self, rtype, value, raw_null=False):
        self.type = rtype
        if rtype == 'A':
            self.value = str(ipaddress.IPv4Address(str(value).strip()))
        elif rtype == 'AAAA':
            self.value = str(ipaddress.IPv6Address(str(value).strip()))
        elif rtype == 'MX':
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise Unservable('MX value %r is not [preference, host]' % (value,))
            pref = int(value[0])
            if not 0 <= pref <= 65535:
                raise Unservable('MX preference %r' % (value[0],))
            self.value = (pref, norm_name(value[1]))
            name_labels(value[1])
        elif rtype in ('PTR', 'CNAME'):
            self.value = norm_name(value)
            name_labels(value)
        elif rtype in ('TXT', 'SPF'):
            self.value = txt_strings(value, raw_null)
        else:
            raise Unservable('record type %s is not supported' % rtype)

    def key(self):
        return (self.type, self.value)

    def rdata(self):
        """(type mnemonic, rdata) in master-file syntax."""
        if self.type in ('A', 'AAAA'):
            return self.type, self.value
        if self.type == 'MX':
            return 'MX', '%d %s' % (self.value[0], present_name(self.value[1]))
        if self.type in ('PTR', 'CNAME'):
            return self.type, present_name(self.value)
        return 'TYPE%d' % QTYPES[self.type], txt_generic(self.value)


# --- pyspf's reading of the zone data ----------------------------------------------

def getrdata(entries):
    """pyspf testspf.getrdata(): the entries of one name as a list of
    (type, raw value) and TIMEOUT, with SPF copied to TXT (at the end) unless
    the name has TXT of its own, and TXT: NONE dropped."""
    if entries == TIMEOUT or not isinstance(entries, list):
        entries = [entries]
    out, generated, gen = [], [], True
    for m in entries:
        if not isinstance(m, dict):
            out.append(m)  # TIMEOUT
            continue
        for t, v in m.items():
            t = str(t).upper()
            if t in ('TXT', 'SPF') and not isinstance(v, list):
                v = [v]
            if t == 'TXT':
                gen = False
            elif t == 'SPF' and gen:
                generated.append(('TXT', v))
            if v != ['NONE']:
                out.append((t, v))
    if gen:
        out.extend(generated)
    return out


def simulate(entries, qtype):
    """What pyspf's driver answers for a query of qtype at a name with these
    entries: TIMEOUT, or the list of raw values of that type."""
    seen_type = False
    found = []
    for e in entries:
        if e == TIMEOUT:
            if not seen_type:
                return TIMEOUT
            return found
        if not isinstance(e, tuple):
            continue
        t, v = e
        if t == qtype:
            seen_type = True
            if v == TIMEOUT or v == [TIMEOUT]:
                return TIMEOUT
            found.append(v)
    return found


class Zone:
    """One scenario's zone data, planned for unbound."""

    def __init__(self, zonedata, raw_null_txt=False):
        self.raw_null = raw_null_txt
        self.entries = {}     # name -> pyspf entries
        self.problems = []    # what cannot be served as pyspf's driver serves it
        self.auth = {}        # name -> [Record] served by the auth zone
        self.deny = {}        # name -> [Record] served by a deny local zone
        self.expect = {}      # (name, qtype) -> TIMEOUT | set of record keys
        for raw, recs in (zonedata or {}).items():
            name = norm_name(raw)
            if name in self.entries:
                self.problems.append('%s: given twice (differing only in case); the last wins' % raw)
            self.entries[name] = getrdata(recs)
        for name, entries in self.entries.items():
            self._plan(name, entries)
        self.timeout_names = sorted(self.deny)
        # Names in the data below a timing-out name: they must escape its deny zone.
        self.escapes = sorted(n for n in self.auth
                              if any(n.endswith('.' + d) for d in self.deny))
        for d in self.deny:
            below = [n for n in self.entries if n.endswith('.' + d)]
            self.problems.append(
                '%s: times out, and so does every name below it that is not in the data '
                '(pyspf would answer those as nonexistent)%s' % (
                    d, '' if not below else '; %d name(s) of the data below it answer normally' % len(below)))

    def _plan(self, name, entries):
        try:
            name_labels(name)
        except Unservable as e:
            self.problems.append('%s: not served: %s' % (name, e))
            return
        outcome = {}
        for qt in DATA_TYPES:
            res = simulate(entries, qt)
            if res == TIMEOUT:
                outcome[qt] = TIMEOUT
                continue
            recs, keys = [], set()
            for v in res:
                if qt in ('TXT', 'SPF') and isinstance(v, list) and not v:
                    self.problems.append(
                        '%s %s []: a record of no strings, served %s' % (
                            name, qt, 'as such (an empty rdata, RFC 1035-illegal: libunbound '
                            'answers SERVFAIL for the RRset)' if self.raw_null
                            else 'as one empty string (zero strings are RFC 1035-illegal)'))
                try:
                    r = Record(qt, v, self.raw_null)
                except (Unservable, ValueError) as e:
                    self.problems.append('%s %s %r: not served: %s' % (name, qt, v, e))
                    continue
                if r.key() in keys:
                    self.problems.append('%s %s %r: a duplicate record; DNS serves it once' % (name, qt, v))
                    continue
                keys.add(r.key())
                recs.append(r)
            outcome[qt] = recs
        timeouts = [qt for qt in DATA_TYPES if outcome[qt] == TIMEOUT]
        answered = [r for qt in DATA_TYPES if outcome[qt] != TIMEOUT for r in outcome[qt]]
        cnames = [r for r in answered if r.type == 'CNAME']
        if cnames and len(answered) > len(cnames):
            self.problems.append('%s: CNAME beside other data; only the CNAME is served' % name)
            answered = cnames
        if len(cnames) > 1:
            self.problems.append('%s: several CNAMEs; only the first is served' % name)
            answered = cnames[:1]
        if timeouts:
            empty = [qt for qt in DATA_TYPES if outcome[qt] != TIMEOUT and not outcome[qt]]
            if empty:
                self.problems.append('%s: %s time out but %s answer no data; they time out too'
                                     % (name, '/'.join(timeouts), '/'.join(empty)))
            self.deny[name] = answered
        else:
            self.auth[name] = answered
        for qt in DATA_TYPES:
            if outcome[qt] == TIMEOUT or (timeouts and not outcome[qt]):
                self.expect[(name, qt)] = TIMEOUT
            elif cnames and qt != 'CNAME':
                self.expect[(name, qt)] = None  # a CNAME: the target's data, not checked here
            else:
                self.expect[(name, qt)] = {r.key() for r in answered if r.type == qt}

    # --- unbound configuration -------------------------------------------------------

    def zonefile(self):
        lines = ['$TTL %d' % TTL,
                 '. IN SOA ns.spf-suite.invalid. hostmaster.spf-suite.invalid. 1 3600 600 86400 %d' % TTL,
                 '. IN NS ns.spf-suite.invalid.']
        for name in sorted(self.auth):
            owner = present_name(name)
            for r in self.auth[name]:
                t, rdata = r.rdata()
                lines.append('%s %d IN %s %s' % (owner, TTL, t, rdata))
        return '\n'.join(lines) + '\n'

    def unbound_conf(self, workdir, addr, port, verbose=False):
        q = '"%s"' % workdir
        lines = [
            'server:',
            '  verbosity: %d' % (2 if verbose else 0),
            '  interface: %s' % addr,
            '  port: %d' % port,
            '  do-ip4: yes',
            '  do-ip6: no',
            '  do-udp: yes',
            '  do-tcp: yes',
            '  username: ""',
            '  chroot: ""',
            '  directory: %s' % q,
            '  pidfile: "%s/unbound.pid"' % workdir,
            '  logfile: ""',
            '  use-syslog: no',
            '  log-queries: %s' % ('yes' if verbose else 'no'),
            '  num-threads: 1',
            '  so-reuseport: no',
            '  outgoing-range: 32',
            '  num-queries-per-thread: 64',
            '  incoming-num-tcp: 16',
            '  outgoing-num-tcp: 0',
            '  msg-cache-size: 1m',
            '  rrset-cache-size: 1m',
            '  module-config: "iterator"',
            '  do-not-query-localhost: yes',
            '  access-control: 127.0.0.0/8 allow',
            '  minimal-responses: yes',
            '  rrset-roundrobin: no',  # the data's order, every time (pyspf's driver keeps it)
        ]
        for z in UNBOUND_DEFAULT_ZONES:
            lines.append('  local-zone: "%s" nodefault' % z)
        for name in sorted(self.deny):
            lines.append('  local-zone: "%s" deny' % present_name(name))
            for r in self.deny[name]:
                t, rdata = r.rdata()
                # Single quotes: the rdata's own escapes reach unbound's parser as written.
                lines.append("  local-data: '%s %d IN %s %s'" % (present_name(name), TTL, t, rdata))
        for name in self.escapes:
            lines.append('  local-zone: "%s" transparent' % present_name(name))
        lines += [
            'auth-zone:',
            '  name: "."',
            '  zonefile: "%s/root.zone"' % workdir,
            '  for-downstream: yes',
            '  for-upstream: no',
            '  fallback-enabled: no',
            'remote-control:',
            '  control-enable: no',
        ]
        return '\n'.join(lines) + '\n'


# --- a minimal DNS client (readiness, verification) ---------------------------------

def make_query(qid, name, qtype, edns=True):
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    q += b''.join(bytes([len(lab)]) + lab for lab in name_labels(name)) + b'\0'
    q += struct.pack('>HH', qtype, 1)
    if edns:
        q += b'\0' + struct.pack('>HHIH', 41, 4096, 0, 0)
    return q


def _read_name(msg, off):
    labels, jumped, end, hops = [], False, off, 0
    while True:
        if off >= len(msg) or hops > 64:
            raise ValueError('bad name')
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumped, hops = True, hops + 1
            continue
        off += 1
        if n == 0:
            break
        labels.append(msg[off:off + n])
        off += n
    if not jumped:
        end = off
    text = '.'.join(''.join(chr(b) if 32 < b < 127 and chr(b) not in '.\\' else '\\%03d' % b
                            for b in lab) for lab in labels)
    return text, end


def _unescape(text):
    """Presentation name (with \\DDD) back to the plain text norm_name() gives."""
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] == '\\' and text[i + 1:i + 4].isdigit():
            out.append(int(text[i + 1:i + 4]))
            i += 4
        else:
            out += text[i].encode()
            i += 1
    return out.decode('utf-8', 'replace').lower()


def parse_response(msg):
    """(id, rcode, tc, [(owner, type name, canonical value)]) of a response."""
    qid, flags, qd, an = struct.unpack('>HHHH', msg[:8])
    off = 12
    for _ in range(qd):
        _, off = _read_name(msg, off)
        off += 4
    answers = []
    for _ in range(an):
        owner, off = _read_name(msg, off)
        rtype, _cls, _ttl, rdlen = struct.unpack('>HHIH', msg[off:off + 10])
        off += 10
        rd = msg[off:off + rdlen]
        tname = TYPENAMES.get(rtype, 'TYPE%d' % rtype)
        if tname == 'A':
            val = str(ipaddress.IPv4Address(rd))
        elif tname == 'AAAA':
            val = str(ipaddress.IPv6Address(rd))
        elif tname == 'MX':
            val = (struct.unpack('>H', rd[:2])[0], _unescape(_read_name(msg, off + 2)[0]))
        elif tname in ('PTR', 'CNAME'):
            val = _unescape(_read_name(msg, off)[0])
        elif tname in ('TXT', 'SPF'):
            strings, i = [], 0
            while i < len(rd):
                strings.append(bytes(rd[i + 1:i + 1 + rd[i]]))
                i += 1 + rd[i]
            val = tuple(strings)
        else:
            val = rd.hex()
        answers.append((_unescape(owner), tname, val))
        off += rdlen
    return qid, flags & 0xF, bool(flags & 0x0200), answers


def ask_many(addr, port, questions, wait=1.0, window=32):
    """Ask every (name, qtype) over UDP, `window` at a time; {question: parsed
    response, or None when nothing came for `wait` seconds}."""
    results = {}
    for start in range(0, len(questions), window):
        results.update(_ask_window(addr, port, questions[start:start + window], wait))
    return results


def _ask_window(addr, port, questions, wait):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(wait)
    pending, results = {}, {}
    try:
        base = random.randrange(0, 0x10000)
        for i, (name, qtype) in enumerate(questions):
            qid = (base + i) & 0xFFFF
            pending[qid] = (name, qtype)
            results[(name, qtype)] = None
            sock.sendto(make_query(qid, name, QTYPES[qtype]), (addr, port))
        for _ in range(len(questions) + 10):  # bounded: one reply per question
            if not pending:
                break
            try:
                data, _ = sock.recvfrom(65535)
            except socket.timeout:
                break
            try:
                parsed = parse_response(data)
            except (ValueError, struct.error, IndexError):
                continue
            q = pending.pop(parsed[0], None)
            if q is not None:
                results[q] = parsed
    finally:
        sock.close()
    return results


# --- the server -----------------------------------------------------------------------

def find_unbound():
    for p in (os.environ.get('UNBOUND'), shutil.which('unbound'), '/usr/sbin/unbound'):
        if p and os.access(p, os.X_OK):
            return p
    return None


def free_port(addr):
    """A port free for both UDP and TCP on addr (it may be taken before use; start() retries)."""
    for _ in range(20):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind((addr, 0))
            port = u.getsockname()[1]
            t.bind((addr, port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError('no free port on %s' % addr)


class Server:
    """unbound serving one Zone on addr:port (port 0: pick one), in the foreground."""

    def __init__(self, zone, workdir, addr='127.0.0.1', port=0, unbound=None, verbose=False):
        self.zone, self.workdir, self.addr = zone, workdir, addr
        self.want_port, self.port = port, None
        self.unbound = unbound or find_unbound()
        self.verbose = verbose
        self.proc = None
        self.log = os.path.join(workdir, 'unbound.log')

    def start(self):
        if not self.unbound:
            raise RuntimeError('unbound not found (package unbound)')
        os.makedirs(self.workdir, exist_ok=True)
        with open(os.path.join(self.workdir, 'root.zone'), 'w') as fp:
            fp.write(self.zone.zonefile())
        last = ''
        for _ in range(5 if self.want_port == 0 else 1):
            port = self.want_port or free_port(self.addr)
            conf = os.path.join(self.workdir, 'unbound.conf')
            with open(conf, 'w') as fp:
                fp.write(self.zone.unbound_conf(self.workdir, self.addr, port, self.verbose))
            logfp = open(self.log, 'w')
            self.proc = subprocess.Popen([self.unbound, '-d', '-c', conf], stdin=subprocess.DEVNULL,
                                         stdout=logfp, stderr=subprocess.STDOUT)
            logfp.close()
            self.port = port
            if self._wait_ready():
                return self
            last = self._log_tail()
            self.stop()
        raise RuntimeError('unbound did not start on %s: %s' % (self.addr, last))

    def _wait_ready(self):
        for i in range(250):  # at most ~5 s
            if self.proc.poll() is not None:
                return False
            r = ask_many(self.addr, self.port, [('.', 'SOA')], wait=0.02)
            if r[('.', 'SOA')] is not None:
                return True
        return False

    def _log_tail(self):
        try:
            with open(self.log, errors='replace') as fp:
                return fp.read()[-2000:].strip()
        except OSError:
            return ''

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def verify(server, zone, wait=1.0):
    """Ask the server every name x type of the data and compare with what
    pyspf's driver would answer; a list of mismatch descriptions."""
    qs = [(n, qt) for (n, qt) in zone.expect]
    qs += [('nonexistent-name.spf-suite.invalid', 'A'), ('localhost', 'A'),
           ('4.2.0.192.in-addr.arpa', 'PTR')]
    got = ask_many(server.addr, server.port, qs, wait=wait)
    bad = []
    for (name, qt), want in zone.expect.items():
        resp = got[(name, qt)]
        if want == TIMEOUT:
            if resp is not None:
                bad.append('%s %s: want a timeout, got rcode %d' % (name, qt, resp[1]))
            continue
        if resp is None:
            bad.append('%s %s: no answer' % (name, qt))
            continue
        _, rcode, tc, answers = resp
        if rcode != 0:
            bad.append('%s %s: rcode %d' % (name, qt, rcode))
        if tc:
            bad.append('%s %s: truncated over UDP' % (name, qt))
        if want is None:
            if not any(a[1] == 'CNAME' and a[0] == name for a in answers):
                bad.append('%s %s: CNAME missing from the answer' % (name, qt))
            continue
        have = {(a[1], a[2]) for a in answers if a[0] == name and a[1] == qt}
        if have != want:
            bad.append('%s %s: want %s got %s' % (name, qt, sorted(want), sorted(have)))
    for name in ('nonexistent-name.spf-suite.invalid', 'localhost'):
        resp = got[(name, 'A')]
        if resp is None or resp[1] != 3:
            bad.append('%s A: want NXDOMAIN, got %s' % (name, 'a timeout' if resp is None else 'rcode %d' % resp[1]))
    if ('4.2.0.192.in-addr.arpa', 'PTR') not in zone.expect:
        resp = got[('4.2.0.192.in-addr.arpa', 'PTR')]
        if resp is None or resp[1] != 3:
            bad.append('4.2.0.192.in-addr.arpa PTR: want NXDOMAIN from the suite zone')
    return bad


# Cases the suites have few or none of: served and checked by `zone.py selftest`.
SELFTEST_ZONE = {
    'long.test.example': [{'TXT': 'v=spf1 ' + ' '.join('ip4:192.0.2.%d' % i for i in range(1, 40)) + ' -all'}],
    'multi.test.example': [{'TXT': ['v=spf1 ', '', 'ip4:192.0.2.1', ' -all']}, {'TXT': 'second'},
                           {'TXT': ''}, {'SPF': 'v=spf1 -all'}, {'A': '192.0.2.1'},
                           {'AAAA': '2001:DB8::1'}, {'MX': [10, 'mx.test.example']}, {'MX': [0, '']}],
    'spfgen.test.example': [{'SPF': ['v=spf1', ' +all']}],
    'nul.test.example': [{'SPF': []}],
    'alias.test.example': [{'CNAME': 'multi.test.example'}],
    'half.test.example': [{'A': '192.0.2.7'}, 'TIMEOUT'],
    'sub.half.test.example': [{'TXT': 'below a timeout'}],
    'all.test.example': ['TIMEOUT'],
    'sp ace/odd:name.test.example': [{'A': '192.0.2.9'}],
    'Mixed.Case.test.example': [{'PTR': 'Target.test.example.'}],
    ('x' * 63 + '.') * 3 + 'y' * 56 + '.test': [{'A': '192.0.2.10'}],  # 255 octets: the longest
    ('x' * 63 + '.') * 3 + 'z' * 57 + '.test': [{'A': '192.0.2.11'}],  # 256: cannot be served
    '4.2.0.192.in-addr.arpa': [{'PTR': 'multi.test.example'}],
    'nonascii.test.example': [{'TXT': '\u00efv\u00bb=\x80'}],
}


def main(argv):
    if len(argv) == 2 and argv[1] == 'selftest':
        zone = Zone(SELFTEST_ZONE)
        work = tempfile.mkdtemp(prefix='spf-zone-')
        try:
            with Server(zone, work) as srv:
                bad = verify(srv, zone)
                chain = ask_many(srv.addr, srv.port, [('alias.test.example', 'TXT')])
        finally:
            shutil.rmtree(work, ignore_errors=True)
        ans = chain[('alias.test.example', 'TXT')]
        if ans is None or not any(a[0] == 'multi.test.example' and a[1] == 'TXT' for a in ans[3]):
            bad.append('alias.test.example TXT: the CNAME target\'s TXT is not in the answer')
        for b in bad:
            print('MISMATCH ' + b)
        for p in zone.problems:
            print('note: ' + p)
        print('selftest: %d questions, %d mismatches' % (len(zone.expect) + 3, len(bad)))
        return 1 if bad else 0
    if len(argv) < 3 or argv[1] not in ('list', 'verify', 'serve'):
        print(__doc__.strip().split('\n\n')[-1], file=sys.stderr)
        return 2
    cmd, path = argv[1], argv[2]
    scenarios = load_suite(path)
    ids = scenario_ids(scenarios)
    chosen = argv[3:]
    rc = 0
    for sid, sc in zip(ids, scenarios):
        if chosen and sid not in chosen:
            continue
        zone = Zone(sc.get('zonedata'))
        if cmd == 'list':
            print('%s: %d names, %d timing out' % (sid, len(zone.entries), len(zone.deny)))
            for p in zone.problems:
                print('  - ' + p)
        elif cmd == 'verify':
            work = tempfile.mkdtemp(prefix='spf-zone-')
            try:
                with Server(zone, work) as srv:
                    bad = verify(srv, zone)
                print('%s: %d questions, %d mismatches' % (sid, len(zone.expect) + 3, len(bad)))
                for b in bad:
                    print('  MISMATCH ' + b)
                rc |= 1 if bad else 0
            finally:
                shutil.rmtree(work, ignore_errors=True)
        else:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            work = tempfile.mkdtemp(prefix='spf-zone-')
            srv = Server(zone, work, verbose=True).start()
            print('%s served on %s port %d (config and log in %s); ^C stops'
                  % (sid, srv.addr, srv.port, work), flush=True)
            try:
                signal.sigwait({signal.SIGINT, signal.SIGTERM})
            finally:
                srv.stop()
                shutil.rmtree(work, ignore_errors=True)
            return 0
    return rc


if __name__ == '__main__':
    sys.exit(main(sys.argv))
