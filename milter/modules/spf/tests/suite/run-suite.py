#!/usr/bin/python3
"""run-suite.py - run an openspf/pyspf SPF test suite (rfc7208-tests.yml,
rfc4408-tests.yml) against the spf module through `mxparity scan`, each
scenario's zone data served by a real DNS server (unbound, see zone.py) on
loopback.

    run-suite.py [options] SUITE.yml[.gz]

Prints `FAIL ID: want X got Y` for each failing test, then exactly
`spf suite: N/203 pass` (rfc7208) or `spf suite rfc4408: N/M pass`.
Test ids are SCENARIO/TEST (scenario = its description, slugged); the
rfc4408 suite's carry the prefix `rfc4408:`.

Exit status (automake): 0 every failure is listed in known-failures.txt and
every listed test of this suite still fails; 1 otherwise; 77 a prerequisite
is missing; 99 the harness itself failed (DNS server, policy, a scan that
exited 2 or printed no result).

Engines: `mxparity` (the default: the module, what make check runs),
`spfquery` (libspf2's tool; needs root: a private mount namespace gives it a
resolv.conf naming the suite's server on 127.83.80.N:53) and `pyspf` (the
reference implementation, python3-spf, over the same DNS server).  The
last two validate the harness and the DNS serving; known-failures.txt
applies to the mxparity engine only, unless --known-failures is given.
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree (distcheck's is read-only)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zone  # noqa: E402  (beside this file)

SKIP, HARD = 77, 99
RESULTS = ('pass', 'fail', 'softfail', 'neutral', 'none', 'permerror', 'temperror')
OLD_RESULTS = {'unknown': 'permerror', 'error': 'temperror'}
HERE = os.path.dirname(os.path.abspath(__file__))
# The lines of a sanitizer report, as every test looks for them: a scan with one failed.
SRCDIR = os.path.normpath(os.path.join(HERE, '..', '..', '..', '..', '..'))
with open(os.path.join(os.environ.get('top_srcdir', SRCDIR), 'tests', 'integration',
                       'sanitizer.ere'), encoding='ascii') as _f:
    SANITIZER = re.compile(_f.read().strip())

POLICY = """\
version = "spf-suite"
mx {{ host "mx1.example.com" {{ tier = primary addresses = {{"192.0.2.250"}} }} }}
module spf {{
  resolver = "{resolver}"
  query_timeout = {query_timeout}
  eval_timeout = {eval_timeout}
  on_fail = {on_fail}  on_softfail = tag  on_neutral = tag  on_none = tag
  on_permerror = tag  on_temperror = tag  on_pass = accept
{extra}  explanation = "DEFAULT"
}}
"""
# Offered first; dropped when the module does not know them (mxparity check).
HELO_EXTRA = ('  helo_on_fail = tag  helo_on_softfail = tag  helo_on_neutral = tag  helo_on_none = tag\n'
              '  helo_on_permerror = tag  helo_on_temperror = tag  helo_on_pass = accept\n')

MESSAGE = ('From: SPF suite <suite@example.com>\nTo: someone@example.com\n'
           'Subject: spf suite\nMessage-ID: <spf-suite@example.com>\n'
           'Date: Thu, 26 Nov 2026 00:00:00 +0000\n\nRFC 7208 conformance.\n')


# What the spf module writes before the explanation in a 550 for fail.
REPLY_PREFIX = "SPF MAIL FROM check failed: "

class Skip(Exception):
    pass


class HarnessError(Exception):
    pass


class Case:
    def __init__(self, tid, scenario, name, data):
        self.id, self.scenario, self.name = tid, scenario, name
        self.helo = str(data.get('helo', ''))
        self.host = str(data.get('host', ''))
        self.mailfrom = str(data.get('mailfrom', ''))
        r = data.get('result')
        self.want = [OLD_RESULTS.get(x, x) for x in (r if isinstance(r, list) else [r])]
        self.explanation = data.get('explanation')
        if self.explanation is not None:
            self.explanation = str(self.explanation)
        self.strict = data.get('strict', True)
        self.crash = None        # a crash or sanitizer report: never excused
        self.got = None          # result
        self.got_exp = None      # explanation seen (fail only)
        self.error = None        # harness error text
        self.detail = ''         # output kept for -v

    def want_text(self):
        return '|'.join(self.want)

    def passed(self):
        if self.error or self.crash or self.got not in self.want:
            return False
        return self.explanation is None or self.got_exp == self.explanation

    def why(self):
        if self.error:
            return self.error
        if self.crash:
            return self.crash
        if self.got not in self.want:
            return 'want %s got %s' % (self.want_text(), self.got)
        return 'want explanation %r got %r' % (self.explanation, self.got_exp)


# --- engines ---------------------------------------------------------------------------

class MxparityEngine:
    name = 'mxparity'
    addr_base = None

    def __init__(self, args, work):
        self.mxparity = args.mxparity
        self.module = args.module
        if not (self.mxparity and os.access(self.mxparity, os.X_OK)):
            raise Skip('mxparity not built (%s)' % self.mxparity)
        if not (self.module and os.path.isfile(self.module)):
            raise Skip('spf module not built (%s)' % self.module)
        self.qt, self.et = args.query_timeout, args.eval_timeout
        self.work = work
        self.moddir = os.path.join(work, 'modules')
        os.makedirs(self.moddir, exist_ok=True)
        os.symlink(os.path.abspath(self.module), os.path.join(self.moddir, 'spf.so'))
        self.msg = os.path.join(work, 'msg.eml')
        with open(self.msg, 'w') as fp:
            fp.write(MESSAGE)
        self.extra = None

    def policy(self, sdir, port, on_fail):
        path = os.path.join(sdir, 'policy-%s.conf' % on_fail)
        with open(path, 'w') as fp:
            fp.write(POLICY.format(resolver='127.0.0.1:%d' % port, query_timeout=self.qt,
                                   eval_timeout=self.et, on_fail=on_fail, extra=self.extra))
        return path

    def check_policy(self, verbose=0):
        """Settle the policy once with `mxparity check` (a 2 is a harness failure)."""
        errs = []
        for extra in (HELO_EXTRA, ''):
            self.extra = extra
            path = self.policy(self.work, 53, 'tag')
            p = subprocess.run([self.mxparity, 'check', '-c', path, '-M', self.moddir,
                                '-n', 'mx1.example.com'], stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, errors='replace', timeout=60)
            if p.returncode == 0:
                if verbose:
                    print('policy: %s' % ('module spf with helo_on_* = tag' if extra
                                          else 'module spf (no helo_on_* options)'))
                return
            errs.append((p.stdout + p.stderr).strip())
        raise HarnessError('mxparity check rejects the suite policy:\n' + '\n'.join(errs))

    def prepare(self, sc):
        sc.policies = {v: self.policy(sc.dir, sc.server.port, v) for v in ('tag', 'reject')}

    def scan(self, sc, case, on_fail):
        sender = '<%s>' % case.mailfrom
        cmd = [self.mxparity, 'scan', '-c', sc.policies[on_fail], '-M', self.moddir,
               '-n', 'mx1.example.com', '--client-ip', case.host, '--helo', case.helo,
               '--from', sender, '--rcpt', 'someone@example.com', self.msg]
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               errors='replace', timeout=self.et + 30)
        except subprocess.TimeoutExpired:
            raise HarnessError('mxparity scan (on_fail=%s) did not end within %d s'
                               % (on_fail, self.et + 30))
        out = '$ %s\n[exit %d]\n%s%s' % (' '.join(repr(c) if ' ' in c or not c else c for c in cmd),
                                         p.returncode, p.stdout, p.stderr)
        case.detail += out
        if p.returncode == 2:
            raise HarnessError('mxparity scan exited 2 (usage or policy error): %s'
                               % (p.stderr.strip().splitlines() or ['?'])[-1])
        san = SANITIZER.search(p.stderr)
        if san:
            case.crash = case.crash or 'mxparity scan (on_fail=%s): sanitizer report: %s' % (
                on_fail, p.stderr[san.start():].splitlines()[0])
        elif p.returncode < 0:
            case.crash = case.crash or 'mxparity scan (on_fail=%s) killed by signal %d' % (
                on_fail, -p.returncode)
        elif p.returncode not in (0, 1, 3):
            case.crash = case.crash or 'mxparity scan (on_fail=%s) exited %d' % (on_fail, p.returncode)
        result, reply = None, None
        prefix = self.msg + ': '
        for line in p.stdout.splitlines():
            if not line.startswith(prefix):
                continue
            rest = line[len(prefix):]
            m = re.search(r'(?:^|\s)spf=(\S+)', rest)
            if m and ' hop=' in rest:
                result = m.group(1)
            m = re.match(r'reply (\d{3}) (\d\.\d{1,3}\.\d{1,3}) ?(.*)$', rest)
            if m is None:  # refused before DATA: "reject at MAIL: 550 5.7.1 TEXT"
                m = re.match(r'\S+ at [^:]+: (\d{3}) (\d\.\d{1,3}\.\d{1,3}) ?(.*)$', rest)
            if m:
                reply = m.group(3)
        # The module's reply is "SPF MAIL FROM check failed: EXPLANATION";
        # the suite compares the explanation alone.
        if reply is not None and reply.startswith(REPLY_PREFIX):
            reply = reply[len(REPLY_PREFIX):]
        return result, reply

    def run(self, sc, case):
        result, _ = self.scan(sc, case, 'tag')
        if result is None:
            raise HarnessError('no spf=RESULT in the scan summary')
        case.got = result
        if case.explanation is not None and result == 'fail':
            result2, reply = self.scan(sc, case, 'reject')
            case.got_exp = reply
            if result2 is not None and result2 != result:
                case.got = '%s/%s' % (result, result2)  # not the same twice: a failure


class SpfqueryEngine:
    """libspf2's spfquery: its resolver (glibc) reads /etc/resolv.conf and
    knows no port, so each run gets a private mount namespace with a
    resolv.conf naming the scenario's server on 127.83.80.N port 53."""
    name = 'spfquery'
    addr_base = '127.83.80.'

    def __init__(self, args, work):
        self.spfquery = shutil.which('spfquery')
        if not self.spfquery:
            raise Skip('spfquery not installed (package spfquery)')
        self.unshare, self.mount = shutil.which('unshare'), shutil.which('mount')
        if os.geteuid() != 0 or not self.unshare or not self.mount:
            raise Skip('--engine spfquery needs root, unshare and mount (a private mount namespace)')
        p = subprocess.run([self.unshare, '-m', '--propagation', 'private', 'true'],
                           capture_output=True, timeout=30)
        if p.returncode != 0:
            raise Skip('cannot make a mount namespace here; validate with zone.py verify or dig')
        self.qt = args.query_timeout

    def check_policy(self, verbose=0):
        pass

    def prepare(self, sc):
        sc.resolv = os.path.join(sc.dir, 'resolv.conf')
        with open(sc.resolv, 'w') as fp:
            fp.write('nameserver %s\noptions timeout:%d attempts:1\n' % (sc.server.addr, self.qt))

    def run(self, sc, case):
        sender = case.mailfrom or 'postmaster@' + case.helo
        cmd = [self.unshare, '-m', '--propagation', 'private', 'sh', '-c',
               'mount --bind "$0" /etc/resolv.conf && exec "$@"', sc.resolv,
               self.spfquery, '-ip=' + case.host, '-sender=' + sender, '-helo=' + case.helo,
               '-default-explanation=DEFAULT']
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               errors='replace', timeout=120)
        except subprocess.TimeoutExpired:
            raise HarnessError('spfquery did not end within 120 s')
        case.detail += '[exit %d]\n%s%s' % (p.returncode, p.stdout, p.stderr)
        lines = p.stdout.splitlines()
        errors = []
        if 'EndError' in lines:  # libspf2's error report comes before the result
            errors = lines[:lines.index('EndError')]
            lines = lines[lines.index('EndError') + 1:]
        if not lines or not (lines[0].strip() in RESULTS or lines[0].startswith('(')):
            raise HarnessError('spfquery printed no result: %s' % (p.stderr.strip()[-200:]))
        case.got = lines[0].strip()
        if case.got == '(invalid)':
            # libspf2 gave up with an error: a DNS one is a temperror, any other a
            # permerror (how a caller of libspf2 has to read it)
            dns = any(e.startswith('ErrorCode:') and 'DNS' in e for e in errors)
            case.got = 'temperror' if dns else 'permerror'
        if case.got == 'fail' and len(lines) > 1:
            # the SMTP comment: the explanation, then libspf2's " : Reason: mechanism"
            case.got_exp = re.sub(r' : Reason: .*$', '', lines[1])


class PyspfEngine:
    """The reference implementation (python3-spf, over pydns) asking the
    suite's server: what the suite's own driver does, but over real DNS."""
    name = 'pyspf'
    addr_base = None

    def __init__(self, args, work):
        try:
            import spf
            import DNS
        except ImportError as e:
            raise Skip('python3-spf with pydns (python3-dns) is needed: %s' % e)
        self.spf, self.qt = spf, args.query_timeout
        tls = self.tls = threading.local()
        plain = DNS.DnsRequest

        def request(*a, **kw):  # pyspf asks pydns's defaults; each thread its scenario's server
            kw.setdefault('server', [tls.addr])
            kw.setdefault('port', tls.port)
            return plain(*a, **kw)
        DNS.DnsRequest = request

    def check_policy(self, verbose=0):
        pass

    def prepare(self, sc):
        pass

    def run(self, sc, case):
        self.tls.addr, self.tls.port = sc.server.addr, sc.server.port
        q = self.spf.query(i=case.host, s=case.mailfrom, h=case.helo, strict=case.strict,
                           timeout=self.qt)
        q.set_default_explanation('DEFAULT')
        res, _code, exp = q.check()
        case.got = OLD_RESULTS.get(res, res)
        case.got_exp = exp if case.got == 'fail' else None


ENGINES = {'mxparity': MxparityEngine, 'spfquery': SpfqueryEngine, 'pyspf': PyspfEngine}


# --- bookkeeping -----------------------------------------------------------------------

def read_known(path, prefix, ids):
    """Entries of known-failures.txt that belong to this suite: {id: reason},
    plus complaints about malformed or stale lines."""
    known, bad = {}, []
    if not path:
        return known, bad
    try:
        with open(path, encoding='utf-8') as fp:
            lines = fp.read().splitlines()
    except FileNotFoundError:
        return known, ['%s: missing' % path]
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        parts = line.split(None, 1)
        tid = parts[0]
        mine = tid.startswith(prefix) if prefix else not re.match(r'rfc\d+:', tid)
        if not mine:
            continue
        if len(parts) < 2 or not parts[1].strip():
            bad.append('%s:%d: %s has no reason' % (path, n, tid))
            continue
        if tid not in ids:
            bad.append('%s:%d: %s is not a test of this suite' % (path, n, tid))
            continue
        known[tid] = parts[1].strip()
    return known, bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument('suite', help='rfc7208-tests.yml or rfc4408-tests.yml (.gz too)')
    ap.add_argument('--engine', choices=sorted(ENGINES), default='mxparity')
    top = os.environ.get('top_builddir', SRCDIR)
    ap.add_argument('--mxparity', default=os.path.join(top, 'mxparity'))
    ap.add_argument('--module', default=os.path.join(top, 'milter', 'modules', '.libs', 'spf.so'))
    ap.add_argument('--unbound', default=None, help='the unbound binary (default: from PATH)')
    ap.add_argument('--known-failures', default=None,
                    help='expectations file (default for the mxparity engine: known-failures.txt here)')
    ap.add_argument('--label', default=None, help='summary label (default from the file name)')
    ap.add_argument('--id-prefix', default=None, help="test id prefix (default '' or 'rfc4408:')")
    ap.add_argument('--jobs', '-j', type=int, default=8, help='scans at once (default 8)')
    ap.add_argument('--query-timeout', type=int, default=2)
    ap.add_argument('--eval-timeout', type=int, default=20)
    ap.add_argument('--null-txt', choices=('empty', 'raw'), default='empty',
                    help='serve a TXT/SPF record of no strings as one empty string (default) '
                         'or as the RFC 1035-illegal empty rdata')
    ap.add_argument('--only', action='append', default=[], help='run only ids starting with this')
    ap.add_argument('--work', default=None,
                    help='work directory, emptied first (default: a temporary one)')
    ap.add_argument('--keep', action='store_true',
                    help='keep the work directory even when the run passes')
    ap.add_argument('-v', '--verbose', action='count', default=0,
                    help='show the output of failing tests; twice: unbound logs queries')
    args = ap.parse_args()

    base = os.path.basename(args.suite)
    m = re.match(r'(rfc\d+)', base)
    is7208 = not m or m.group(1) == 'rfc7208'
    prefix = args.id_prefix if args.id_prefix is not None else ('' if is7208 else m.group(1) + ':')
    label = args.label or ('spf suite' if is7208 else 'spf suite ' + m.group(1))
    if args.known_failures is None and args.engine == 'mxparity':
        args.known_failures = os.path.join(HERE, 'known-failures.txt')
    if args.engine != 'mxparity':
        label += ' (engine %s)' % args.engine

    if not os.path.isfile(args.suite):
        print('SKIP: suite file %s not found' % args.suite)
        return SKIP
    try:
        scenarios = zone.load_suite(args.suite)
    except ImportError:
        print('SKIP: PyYAML is not installed (package python3-yaml)')
        return SKIP
    unbound = args.unbound or zone.find_unbound()
    if not unbound:
        print('SKIP: unbound is not installed (package unbound)')
        return SKIP

    cases_by_sc, all_ids = [], []
    for sid, sc in zip(zone.scenario_ids(scenarios), scenarios):
        cases = []
        for name, data in (sc.get('tests') or {}).items():
            tid = '%s%s/%s' % (prefix, sid, name)
            all_ids.append(tid)
            if args.only and not any(tid.startswith(o) for o in args.only):
                continue
            cases.append(Case(tid, sid, name, data or {}))
        cases_by_sc.append((sid, sc, cases))
    total = len(all_ids)
    known, bad_known = read_known(args.known_failures, prefix, set(all_ids))

    if args.work:
        work = os.path.abspath(args.work)
        if os.path.isdir(work) and os.listdir(work) and \
                not os.path.exists(os.path.join(work, '.spf-suite-work')):
            print('ERROR: --work %s is not empty and not an earlier run\'s' % work)
            return HARD
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        open(os.path.join(work, '.spf-suite-work'), 'w').close()
    else:
        work = tempfile.mkdtemp(prefix='spf-suite-')
    servers, rc = [], HARD
    try:
        try:
            engine = ENGINES[args.engine](args, work)
            engine.check_policy(args.verbose)
        except Skip as e:
            print('SKIP: %s' % e)
            rc = 0  # nothing worth keeping
            return SKIP
        except HarnessError as e:
            print('ERROR: %s' % e)
            return HARD

        class Sc:
            pass
        jobs = []
        for n, (sid, data, cases) in enumerate(cases_by_sc):
            if not cases:
                continue
            sc = Sc()
            sc.id, sc.cases = sid, cases
            sc.dir = os.path.join(work, sid)
            sc.zone = zone.Zone(data.get('zonedata'), raw_null_txt=args.null_txt == 'raw')
            addr = engine.addr_base + str(n + 1) if engine.addr_base else '127.0.0.1'
            sc.server = zone.Server(sc.zone, os.path.join(sc.dir, 'dns'), addr=addr,
                                    port=53 if engine.addr_base else 0, unbound=unbound,
                                    verbose=args.verbose > 1)
            try:
                sc.server.start()
            except (RuntimeError, OSError) as e:
                print('ERROR: %s: DNS server: %s' % (sid, e))
                return HARD
            servers.append(sc.server)
            engine.prepare(sc)
            jobs += [(sc, c) for c in cases]

        def one(job):
            sc, case = job
            t0 = time.monotonic()
            try:
                engine.run(sc, case)
            except HarnessError as e:
                case.error = 'harness error: %s' % e
            except Exception as e:  # an engine's own crash is the harness's problem
                case.error = 'harness error: %s: %s' % (type(e).__name__, e)
            case.secs = time.monotonic() - t0
            return case

        # Scenarios with names that time out first: their scans wait longest.
        jobs.sort(key=lambda j: not j[0].zone.deny)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            list(pool.map(one, jobs))

        ran = [c for _, _, cases in cases_by_sc for c in cases]
        if args.verbose:
            for c in sorted(ran, key=lambda c: -c.secs)[:5]:
                print('slow: %s %.1f s' % (c.id, c.secs))
        npass = 0
        unexpected, harness = 0, 0
        for c in ran:
            if c.passed():
                npass += 1
                continue
            tag = ''
            if c.error:
                harness += 1
                tag = 'ERROR'
            elif c.crash:
                tag = 'FAIL'
                unexpected += 1  # a crash is never a known failure
            elif c.id in known:
                tag = 'FAIL'
            else:
                tag = 'FAIL'
                unexpected += 1
            note = ' (known: %s)' % known[c.id] if c.id in known and not (c.error or c.crash) else ''
            print('%s %s: %s%s' % (tag, c.id, c.why(), note))
            if args.verbose:
                print('    ' + c.detail.rstrip().replace('\n', '\n    '))
        xpass = [c for c in ran if c.passed() and c.id in known]
        for c in xpass:
            print('XPASS %s: listed in known-failures.txt (%s) but passes' % (c.id, known[c.id]))
        for b in bad_known:
            print('KNOWN-FAILURES %s' % b)
        if harness:
            rc = HARD
        elif args.known_failures is None:
            rc = 0 if npass == len(ran) else 1
        else:
            rc = 1 if (unexpected or xpass or bad_known) else 0
        if args.only:
            print('(only %d of %d tests ran)' % (len(ran), total))
        if args.known_failures is not None and (unexpected or xpass or bad_known):
            print('%d unexpected failure(s), %d listed test(s) now passing, %d bad known-failures line(s)'
                  % (unexpected, len(xpass), len(bad_known)))
        if args.keep or rc != 0:
            print('work directory kept: %s' % work)
        print('%s: %d/%d pass' % (label, npass, total))
        return rc
    finally:
        for s in servers:
            s.stop()
        if not args.keep and rc == 0:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    try:
        sys.exit(main())
    except Exception:  # the driver's own crash is a harness error, not a failing test
        import traceback
        traceback.print_exc()
        sys.exit(HARD)
