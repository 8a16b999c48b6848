/*
 * check_spf_syntax.c - the strict RFC 7208 record syntax check.  The
 * records come from the openspf rfc7208 suite (rfc7208-tests.yml), each
 * with the id of a test that fetches it: a record whose tests expect
 * anything but permerror must be accepted, and one whose permerror is a
 * syntax error must be refused.  Then the edges the suite does not reach.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "check_mxparity.h"
#include "rewrite.h"
#include "syntax.h"

/* A record and the suite test (or the rule) it stands for. */
struct valid_case {
	const char *id;
	const char *record;
};

/* A record with a syntax error, and what the reason must say. */
struct invalid_case {
	const char *id;
	const char *record;
	const char *why;
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Records whose tests expect pass, fail, softfail, neutral or none. */
static const struct valid_case suite_valid[] = {
	{ "selecting-records/empty", "v=spf1" },
	{ "selecting-records/case-insensitive", "v=SpF1 ~all" },
	{ "selecting-records/multispf2", "v=spf1 +all" },
	{ "initial-processing/longlabel", "v=spf1 -all" },
	{ "all-mechanism-syntax/all-neutral", "v=spf1 ?all" },
	{ "all-mechanism-syntax/all-double", "v=spf1 all -all" },
	{ "initial-processing/two-spaces", "v=spf1 a  -all" },
	{ "initial-processing/trailing-space", "v=spf1 a -all " },
	{ "initial-processing/nolocalpart", "v=spf1 -all exp=exp.example.net" },
	{ "macro-expansion-rules/require-valid-helo", "v=spf1 -a:%{h} +all" },
	{ "macro-expansion-rules/require-valid-helo",
	  "v=spf1 -include:_spfh.%{d2} ip4:1.2.3.0/24 -all" },
	{ "macro-expansion-rules/exp-txt-macro-char", "v=spf1 -all exp=%{ir}.example.com" },
	{ "macro-expansion-rules/domain-name-truncation",
	  "v=spf1 -all exp=foobar.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.example.com" },
	{ "macro-expansion-rules/upper-macro", "v=spf1 -all exp=msg8.%{D2}" },
	{ "macro-expansion-rules/hello-domain-literal", "v=spf1 a:%{H} -all" },
	{ "macro-expansion-rules/macro-mania-in-domain",
	  "v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all" },
	{ "macro-expansion-rules/macro-reverse-split-on-dash",
	  "v=spf1 exists:%{i}.%{l2r-}.user.%{d2}" },
	{ "macro-expansion-rules/macro-multiple-delimiters", "v=spf1 exists:%{l2r+-}.user.%{d2}" },
	{ "macro-expansion-rules/p-macro-multiple",
	  "v=spf1 exists:%{p}.should.example.com ~exists:%{p}.ok.example.com" },
	{ "macro-expansion-rules/trailing-dot-domain", "v=spf1 redirect=%{d}.d.spf.example.com." },
	{ "macro-expansion-rules/trailing-dot-domain", "v=spf1 include:o.spf.example.com. ~all" },
	{ "macro-expansion-rules/trailing-dot-domain", "v=spf1 redirect=a.spf.example.com" },
	{ "macro-expansion-rules/trailing-dot-domain", "v=spf1 ip4:192.168.218.40" },
	{ "macro-expansion-rules/trailing-dot-exp", "v=spf1 exp=msg.example.com. -all" },
	{ "ip4-mechanism-syntax/ip4-mapped-ip6", "v=spf1 -ip4:1.2.3.4 ip6:::FFFF:1.2.3.4" },
	{ "ip4-mechanism-syntax/cidr4-0", "v=spf1 ip4:1.1.1.1/0 -all" },
	{ "ip4-mechanism-syntax/cidr4-32", "v=spf1 ip4:1.2.3.4/32 -all" },
	{ "ip6-mechanism-syntax/cidr6-0", "v=spf1 ip6:::1.1.1.1/0" },
	{ "ip6-mechanism-syntax/cidr6-33", "v=spf1 ip6:Cafe:Babe:8000::/33" },
	{ "rfc4408:ip6-mechanism-syntax/cidr6-33", "v=spf1 ip6:CAFE:BABE:8000::/33" },
	{ "a-mechanism-syntax/a-ip6-dualstack", "v=spf1 a -all" },
	{ "a-mechanism-syntax/a-cidr4-0", "v=spf1 a/0 -all" },
	{ "a-mechanism-syntax/a-cidr6-0-ip4", "v=spf1 a//0 -all" },
	{ "a-mechanism-syntax/a-cidr6", "v=spf1 a//33 -all" },
	{ "a-mechanism-syntax/a-dual-cidr-ip4-default", "v=spf1 a//64 -all" },
	{ "a-mechanism-syntax/a-dual-cidr-ip6-default", "v=spf1 a/24 -all" },
	{ "a-mechanism-syntax/a-dual-cidr-ip4-match", "v=spf1 a/24//64 -all" },
	{ "a-mechanism-syntax/a-multi-ip1", "v=spf1 a:foo.example.com/24" },
	{ "a-mechanism-syntax/a-dash-in-toplabel", "v=spf1 a:foo.example.xn--zckzah -all" },
	{ "a-mechanism-syntax/a-colon-domain", "v=spf1 a:foo:bar/baz.example.com" },
	{ "mx-mechanism-syntax/mx-empty", "v=spf1 mx" },
	{ "mx-mechanism-syntax/mx-cidr4-0", "v=spf1 mx/0 -all" },
	{ "mx-mechanism-syntax/mx-cidr6-0-ip4", "v=spf1 mx//0 -all" },
	{ "mx-mechanism-syntax/mx-cidr6", "v=spf1 mx//33 -all" },
	{ "mx-mechanism-syntax/mx-multi-ip1", "v=spf1 mx:foo.example.com/24" },
	{ "mx-mechanism-syntax/mx-colon-domain", "v=spf1 mx:foo:bar/baz.example.com" },
	{ "ptr-mechanism-syntax/ptr-match-implicit", "v=spf1 ptr -all" },
	{ "ptr-mechanism-syntax/ptr-match-target", "v=spf1 ptr:example.com -all" },
	{ "ptr-mechanism-syntax/ptr-case-change", "v=spf1 ptr:example.Com -all" },
	{ "exists-mechanism-syntax/exists-ip4", "v=spf1 exists:mail.example.com" },
	{ "include-mechanism-semantics-and-syntax/include-fail",
	  "v=spf1 include:ip5.example.com ~all" },
	{ "include-mechanism-semantics-and-syntax/include-softfail",
	  "v=spf1 include:ip6.example.com all" },
	{ "record-evaluation/default-result", "v=spf1 ip4:1.2.3.4" },
	{ "record-evaluation/modifier-charset-good",
	  "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all" },
	{ "record-evaluation/redirect-after-mechanisms1", "v=spf1 redirect=t5.example.com ~all" },
	{ "record-evaluation/redirect-after-mechanisms2",
	  "v=spf1 ip4:1.2.3.4 redirect=t2.example.com" },
	{ "semantics-of-exp-and-other-modifiers/redirect-cancels-exp",
	  "v=spf1 exp=exp1.example.com redirect=e2.example.com" },
	{ "semantics-of-exp-and-other-modifiers/include-ignores-exp",
	  "v=spf1 include:e3.example.com -all exp=exp3.example.com" },
	{ "semantics-of-exp-and-other-modifiers/exp-void",
	  "v=spf1 a:erehwon.example.com a:foobar.com exp=nxdomain.com -all" },
	{ "semantics-of-exp-and-other-modifiers/default-modifier-obsolete", "v=spf1 default=pass" },
	{ "semantics-of-exp-and-other-modifiers/default-modifier-obsolete2", "v=spf1 default=+" },
	{ "processing-limits/mech-at-limit", "v=spf1 a mx a mx a mx a mx a ptr ip4:1.2.3.4 -all" },
	{ "test-cases-from-implementation-bugs/bytes-bug",
	  "v=spf1 ptr:fe.example.org ptr:sgp.example.com exp=_expspf.example.org -all" },
	{ "test-cases-from-implementation-bugs/cname-aliasing",
	  "v=spf1 ip4:192.0.2.225 ?include:webmail.pair.com ?include:relay.pair.com -all" },
	{ "test-cases-from-implementation-bugs/cname-aliasing",
	  "v=spf1 ip4:66.39.3.0/24 ip4:209.68.6.94/32" },
	/* The suite allows fail or permerror: a name DNS cannot carry does not exist (4.3). */
	{ "record-evaluation/invalid-domain-long-via-macro", "v=spf1 a:%{H}.bar -all" },
	{ "record-evaluation/invalid-domain-long",
	  "v=spf1 a:a123456789012345678901234567890123456789012345678901234567890123.example.com"
	  " -all" },
};

/* Records whose tests expect permerror for something other than syntax. */
static const struct valid_case suite_permerror_not_syntax[] = {
	{ "selecting-records/multitxt2", "V=sPf1 +all" },
	{ "processing-limits/include-loop", "v=spf1 include:e2.example.com" },
	{ "processing-limits/redirect-loop", "v=spf1 ip4:1.1.1.1 redirect=e1.example.com" },
	{ "processing-limits/mech-over-limit",
	  "v=spf1 a mx a mx a mx a mx a ptr a ip4:1.2.3.4 -all" },
	{ "processing-limits/include-over-limit", "v=spf1 a a a a a a a a" },
	{ "processing-limits/void-over-limit",
	  "v=spf1 a:err.example.com a:err1.example.com a:err2.example.com ?all" },
	{ "include-mechanism-semantics-and-syntax/include-permerror",
	  "v=spf1 include:e6.example.com -all" },
	{ "include-mechanism-semantics-and-syntax/include-none",
	  "v=spf1 include:erehwon.example.com -all" },
	{ "semantics-of-exp-and-other-modifiers/redirect-none",
	  "v=spf1 redirect=erehwon.example.com" },
};

/* Records whose permerror is a syntax error. */
static const struct invalid_case suite_invalid[] = {
	/* Each string breaks after its \x escapes: "\x96all" would be one escape. */
	{ "initial-processing/non-ascii-policy",
	  "v=spf1 a:\xc3\xaf\xc2\xbb\xc2\xbf"
	  "garbage.example.net -all",
	  "byte 0xc3 at offset 9" },
	{ "initial-processing/non-ascii-mech",
	  "v=spf1 \xc2\x80"
	  "a:example.net -all",
	  "byte 0xc2 at offset 7" },
	{ "initial-processing/non-ascii-result",
	  "v=spf1 a:example.net \xc2\x96"
	  "all",
	  "byte 0xc2 at offset 21" },
	{ "initial-processing/control-char-policy", "v=spf1 a:ctrl.example.com\rptr -all",
	  "byte 0x0d at offset 25" },
	{ "initial-processing/badip4",
	  "v=spf1 ip4:192.0.2.5\n include:spf.protection.outlook.com ~all", "byte 0x0a" },
	{ "record-evaluation/detect-errors-anywhere", "v=spf1 ip4:1.2.3.4 -all moo",
	  "term 3 'moo': unknown mechanism" },
	{ "record-evaluation/modifier-charset-bad1",
	  "v=spf1 moo.cow/far_out=man:dog/cat ip4:1.2.3.4 -all", "unknown mechanism" },
	{ "record-evaluation/modifier-charset-bad2",
	  "v=spf1 moo.cow:far_out=man:dog/cat ip4:1.2.3.4 -all", "unknown mechanism" },
	{ "record-evaluation/redirect-is-modifier", "v=spf1 ip4:1.2.3.4 redirect:t2.example.com",
	  "term 2 'redirect:t2.example.com': unknown mechanism" },
	{ "record-evaluation/invalid-domain", "v=spf1 a:foo-bar -all",
	  "no '.' before its top label" },
	{ "all-mechanism-syntax/all-dot", "v=spf1 -all.", "unknown mechanism" },
	{ "all-mechanism-syntax/all-arg", "v=spf1 -all:foobar", "all takes no argument" },
	{ "all-mechanism-syntax/all-cidr", "v=spf1 -all/8", "all takes no argument" },
	{ "ptr-mechanism-syntax/ptr-cidr", "v=spf1 ptr/0 -all", "ptr takes no cidr length" },
	{ "ptr-mechanism-syntax/ptr-empty-domain", "v=spf1 ptr:", "empty domain-spec" },
	{ "a-mechanism-syntax/a-bad-cidr4", "v=spf1 a/33 -all", "ip4 cidr length above 32" },
	{ "a-mechanism-syntax/a-bad-cidr6", "v=spf1 a//129 -all", "ip6 cidr length above 128" },
	{ "a-mechanism-syntax/a-dual-cidr-ip4-err", "v=spf1 a/24/64 -all", "ip4 cidr length" },
	{ "a-mechanism-syntax/a-bad-domain", "v=spf1 a:example.com:8080", "top label" },
	{ "a-mechanism-syntax/a-numeric", "v=spf1 a:111.222.33.44",
	  "term 1 'a:111.222.33.44': top label is numeric" },
	{ "a-mechanism-syntax/a-numeric-toplabel", "v=spf1 a:abc.123", "top label is numeric" },
	{ "a-mechanism-syntax/a-bad-toplabel", "v=spf1 a:example.-com",
	  "top label begins or ends with '-'" },
	{ "a-mechanism-syntax/a-only-toplabel", "v=spf1 a:museum", "no '.' before its top label" },
	{ "a-mechanism-syntax/a-only-toplabel-trailing-dot", "v=spf1 a:museum.",
	  "no '.' before its top label" },
	{ "a-mechanism-syntax/a-empty-domain", "v=spf1 a:", "empty domain-spec" },
	{ "include-mechanism-semantics-and-syntax/include-syntax-error", "v=spf1 include +all",
	  "include needs ':' and a domain-spec" },
	{ "include-mechanism-semantics-and-syntax/include-empty-domain", "v=spf1 include: -all",
	  "empty domain-spec" },
	{ "include-mechanism-semantics-and-syntax/include-cidr",
	  "v=spf1 include:ip5.example.com/24 -all", "include takes no cidr length" },
	{ "mx-mechanism-syntax/mx-bad-cidr4", "v=spf1 mx/33 -all", "ip4 cidr length above 32" },
	{ "mx-mechanism-syntax/mx-bad-cidr6", "v=spf1 mx//129 -all", "ip6 cidr length above 128" },
	{ "mx-mechanism-syntax/mx-bad-domain", "v=spf1 mx:example.com:8080", "top label" },
	{ "mx-mechanism-syntax/mx-numeric-top-label", "v=spf1 mx:abc.123", "top label is numeric" },
	{ "mx-mechanism-syntax/mx-bad-toplab", "v=spf1 mx:example.-com",
	  "top label begins or ends with '-'" },
	{ "mx-mechanism-syntax/mx-empty-domain", "v=spf1 mx: -all", "empty domain-spec" },
	{ "exists-mechanism-syntax/exists-empty-domain", "v=spf1 exists:", "empty domain-spec" },
	{ "exists-mechanism-syntax/exists-implicit", "v=spf1 exists",
	  "exists needs ':' and a domain-spec" },
	{ "exists-mechanism-syntax/exists-cidr", "v=spf1 exists:mail.example.com/24",
	  "exists takes no cidr length" },
	{ "ip4-mechanism-syntax/cidr4-33", "v=spf1 ip4:1.2.3.4/33 -all",
	  "ip4 cidr length above 32" },
	{ "ip4-mechanism-syntax/cidr4-032", "v=spf1 ip4:1.2.3.4/032 -all",
	  "cidr length has a leading zero" },
	{ "ip4-mechanism-syntax/bare-ip4", "v=spf1 ip4", "ip4 needs ':' and an address" },
	{ "ip4-mechanism-syntax/bad-ip4-port", "v=spf1 ip4:1.2.3.4:8080", "not an IPv4 address" },
	{ "ip4-mechanism-syntax/bad-ip4-short", "v=spf1 ip4:1.2.3", "not an IPv4 address" },
	{ "ip4-mechanism-syntax/ip4-dual-cidr", "v=spf1 ip4:1.2.3.4//32", "malformed cidr length" },
	{ "ip6-mechanism-syntax/bare-ip6", "v=spf1 -all ip6", "ip6 needs ':' and an address" },
	{ "ip6-mechanism-syntax/cidr6-129", "v=spf1 ip6:::1.1.1.1/129",
	  "ip6 cidr length above 128" },
	{ "ip6-mechanism-syntax/cidr6-bad", "v=spf1 ip6:::1.1.1.1//33", "malformed cidr length" },
	{ "ip6-mechanism-syntax/ip6-bad1", "v=spf1 ip6::CAFE::BABE", "not an IPv6 address" },
	{ "semantics-of-exp-and-other-modifiers/redirect-syntax-error", "v=spf1 redirect=-all ?all",
	  "no '.' before its top label" },
	{ "semantics-of-exp-and-other-modifiers/invalid-modifier", "v=spf1 1up=foo",
	  "unknown mechanism" },
	{ "semantics-of-exp-and-other-modifiers/empty-modifier-name", "v=spf1 =all",
	  "unknown mechanism" },
	{ "semantics-of-exp-and-other-modifiers/exp-empty-domain", "v=spf1 exp= -all",
	  "empty domain-spec" },
	{ "semantics-of-exp-and-other-modifiers/exp-syntax-error", "v=spf1 exp=-all",
	  "no '.' before its top label" },
	{ "semantics-of-exp-and-other-modifiers/exp-twice",
	  "v=spf1 exp=e13msg.example.com -all exp=e11msg.example.com", "exp= appears twice" },
	{ "semantics-of-exp-and-other-modifiers/redirect-empty-domain",
	  "v=spf1 ?all redirect=", "empty domain-spec" },
	{ "semantics-of-exp-and-other-modifiers/redirect-twice",
	  "v=spf1 redirect=e12.example.com -all redirect=e12.example.com",
	  "redirect= appears twice" },
	{ "semantics-of-exp-and-other-modifiers/unknown-modifier-syntax", "v=spf1 -all foo=%abc",
	  "'%' not followed by" },
	{ "macro-expansion-rules/exp-only-macro-char", "v=spf1 -all exp=%{r}.example.com",
	  "c, r and t are for explanation text only" },
	{ "macro-expansion-rules/invalid-macro-char", "v=spf1 -exists:%(ir).sbl.example.com ?all",
	  "'%' not followed by" },
	{ "macro-expansion-rules/invalid-embedded-macro-char",
	  "v=spf1 exists:foo%(ir).sbl.example.com ?all", "'%' not followed by" },
	{ "macro-expansion-rules/invalid-trailing-macro-char",
	  "v=spf1 exists:foo%.sbl.example.com ?all", "'%' not followed by" },
	{ "macro-expansion-rules/undef-macro", "v=spf1 a:%{a}.example.com -all",
	  "unknown macro letter" },
	/* The suite allows fail or permerror; an empty label is refused here. */
	{ "record-evaluation/invalid-domain-empty-label", "v=spf1 a:mail.example...com -all",
	  "empty label" },
};

/* Edges the suite does not reach, all valid by RFC 7208 section 12. */
static const struct valid_case extra_valid[] = {
	{ "ip6 loopback", "v=spf1 ip6:::1" },
	{ "ip6 unspecified, /0 and /128", "v=spf1 ip6:::/0 ip6:::1/128" },
	{ "ip6 full and embedded ip4", "v=spf1 ip6:1:2:3:4:5:6:7:8 ip6:2001:DB8::192.0.2.1/96" },
	{ "ip4 /0 and every octet bound", "v=spf1 ip4:0.0.0.0/0 ip4:255.255.255.255/32" },
	{ "a and mx with a domain and a dual cidr",
	  "v=spf1 a:foo.example.com/32//64 mx:%{d}/0//0" },
	{ "qualifiers", "v=spf1 +a -mx ~ptr ?include:example.com -all" },
	{ "unknown modifier name characters", "v=spf1 moo.cow-2_3=ghi" },
	{ "unknown modifier, empty value", "v=spf1 foo=" },
	{ "unknown modifier named like a mechanism", "v=spf1 a=b" },
	{ "macro as domain-end", "v=spf1 redirect=%{d}" },
	{ "macros then a top label", "v=spf1 a:%{d}.%{i}.example" },
	{ "literal glued to a macro", "v=spf1 a:x%{l}y.example.com" },
	{ "%% as domain-end", "v=spf1 exists:x%%" },
	{ "transformers and delimiters",
	  "v=spf1 exists:%{ir}.%{l1r-}.%{d10}.%{sR}.%{o.-+,/_=}.x.org" },
	{ "a '.' delimiter is not an empty label", "v=spf1 exists:%{l..}.example.com" },
	{ "every macro letter of a record",
	  "v=spf1 exists:%{s}%{l}%{o}%{d}%{i}%{p}%{h}%{v}.x.org" },
	{ "upper-case names", "V=SPF1 IP4:192.0.2.1 A:EXAMPLE.COM MX PTR REDIRECT=EXAMPLE.NET" },
	{ "a toplabel that is digits with a dash", "v=spf1 a:foo.1-2" },
	{ "underscore labels", "v=spf1 include:_spf.google.com" },
	{ "pyspf doctest", "v=spf1 -mx:%%%_/.Clara.de/27" },
	{ "pyspf doctest", "v=spf1 ~exists:%{i}.%{s1}.100/86400.rate.%{d}" },
	{ "only spaces after the version", "v=spf1    " },
};

/* Edges the suite does not reach, each a syntax error. */
static const struct invalid_case extra_invalid[] = {
	{ "tab between terms", "v=spf1 a\t-all", "byte 0x09" },
	{ "DEL", "v=spf1 a:x.com\x7f", "byte 0x7f" },
	{ "version glued to a term", "v=spf1mx", "not an SPF record" },
	{ "version 10", "v=spf10", "not an SPF record" },
	{ "dual cidr on ip4", "v=spf1 ip4:1.2.3.4/32//64", "malformed cidr length" },
	{ "ip4 octet with a leading zero", "v=spf1 ip4:1.2.03.4", "not an IPv4 address" },
	{ "ip4 octet above 255", "v=spf1 ip4:1.2.3.256", "not an IPv4 address" },
	{ "ip4 with five octets", "v=spf1 ip4:1.2.3.4.5", "not an IPv4 address" },
	{ "ip4 cidr with no digits", "v=spf1 ip4:1.2.3.4/", "cidr length has no digits" },
	{ "ip6 with nine groups", "v=spf1 ip6:1:2:3:4:5:6:7:8:9", "not an IPv6 address" },
	{ "ip6 group of five digits", "v=spf1 ip6:12345::", "not an IPv6 address" },
	{ "ip6 zone id", "v=spf1 ip6:fe80::1%eth0", "not an IPv6 address" },
	{ "ip6 empty", "v=spf1 ip6:", "not an IPv6 address" },
	{ "ip6 cidr leading zero", "v=spf1 ip6:::/064", "leading zero" },
	{ "a cidr /00", "v=spf1 a/00", "leading zero" },
	{ "a ip6 cidr /0128", "v=spf1 a//0128", "leading zero" },
	{ "a cidr far too long", "v=spf1 a:x.com/99999999999999999999",
	  "ip4 cidr length above 32" },
	{ "a cidr ip6 then ip4", "v=spf1 a//64/24", "malformed dual-cidr-length" },
	{ "a cidr ip4 twice", "v=spf1 a/24/16", "malformed dual-cidr-length" },
	{ "trailing slash", "v=spf1 a:x.com/", "top label" },
	{ "comma after the domain", "v=spf1 a:mail.example.com,", "top label" },
	{ "leading dot: an empty label", "v=spf1 a:.example.com", "empty label" },
	{ "double dot at the end", "v=spf1 a:example.com..", "empty label" },
	{ "dot after a final macro", "v=spf1 a:%{d}.", "top label" },
	{ "literal after a final macro", "v=spf1 a:%{d}x", "top label" },
	{ "top label ends with '-'", "v=spf1 a:foo.bar-", "top label begins or ends with '-'" },
	{ "c macro outside exp text", "v=spf1 exists:%{c}.example.com", "c, r and t" },
	{ "t macro in an unknown modifier", "v=spf1 foo=%{t}", "c, r and t" },
	{ "zero transformer", "v=spf1 exists:%{d0}.example.com", "zero labels" },
	{ "unterminated macro", "v=spf1 exists:%{d", "malformed macro" },
	{ "bad delimiter", "v=spf1 exists:%{d;}.example.com", "malformed macro" },
	{ "lone percent at the end", "v=spf1 foo=abc%", "'%' at the end" },
	{ "macro letter missing", "v=spf1 exists:%{}.example.com", "unknown macro letter" },
	{ "exp twice, any case", "v=spf1 exp=a.example.com EXP=b.example.com",
	  "exp= appears twice" },
	{ "redirect twice, any case", "v=spf1 REDIRECT=x.com redirect=y.com",
	  "redirect= appears twice" },
	{ "double qualifier", "v=spf1 ++all", "unknown mechanism" },
	{ "a macro as a term", "v=spf1 %{d}", "unknown mechanism" },
	{ "a lone colon", "v=spf1 :", "unknown mechanism" },
	{ "include with a colon only after spaces", "v=spf1 include :x.com", "include needs" },
	{ "ptr with a cidr after a domain", "v=spf1 ptr:x.com/24", "ptr takes no cidr length" },
};

START_TEST(test_suite_valid_records_accepted)
{
	char why[256];

	for (size_t i = 0; i < COUNT(suite_valid); i++) {
		why[0] = '\0';
		ck_assert_msg(spf_record_syntax_ok(suite_valid[i].record, why, sizeof(why)),
			      "%s: \"%s\" refused: %s", suite_valid[i].id, suite_valid[i].record,
			      why);
	}
}
END_TEST

START_TEST(test_suite_permerror_for_other_reasons_accepted)
{
	char why[256];

	for (size_t i = 0; i < COUNT(suite_permerror_not_syntax); i++) {
		const struct valid_case *c = &suite_permerror_not_syntax[i];

		why[0] = '\0';
		ck_assert_msg(spf_record_syntax_ok(c->record, why, sizeof(why)),
			      "%s: \"%s\" refused: %s", c->id, c->record, why);
	}
}
END_TEST

/* expect_refused - record is refused and the reason says want */
static void
expect_refused(const struct invalid_case *c)
{
	char why[256] = "";

	ck_assert_msg(!spf_record_syntax_ok(c->record, why, sizeof(why)), "%s: \"%s\" accepted",
		      c->id, c->record);
	ck_assert_msg(strstr(why, c->why) != NULL, "%s: \"%s\" refused for \"%s\", want \"%s\"",
		      c->id, c->record, why, c->why);
}

START_TEST(test_suite_syntax_errors_refused)
{
	for (size_t i = 0; i < COUNT(suite_invalid); i++)
		expect_refused(&suite_invalid[i]);
}
END_TEST

/*
 * a-null and mx-null: a NUL byte inside the record.  A C string ends
 * there and looks valid, so the DNS layer must pass the joined length.
 */
START_TEST(test_nul_byte_needs_the_length)
{
	static const char a_null[] = "v=spf1 a:foo.example.com\0";
	static const char mx_null[] = "v=spf1 mx:foo.example.com\0 -all";
	char why[256] = "";

	ck_assert(!spf_record_syntax_ok_len(a_null, sizeof(a_null) - 1, why, sizeof(why)));
	ck_assert_str_eq(why, "byte 0x00 at offset 24 is not printable ASCII");
	ck_assert(!spf_record_syntax_ok_len(mx_null, sizeof(mx_null) - 1, why, sizeof(why)));
	ck_assert(strstr(why, "byte 0x00 at offset 25") != NULL);
	ck_assert(spf_record_syntax_ok(a_null, why, sizeof(why)));
}
END_TEST

START_TEST(test_extra_valid_records_accepted)
{
	char why[256];

	for (size_t i = 0; i < COUNT(extra_valid); i++) {
		why[0] = '\0';
		ck_assert_msg(spf_record_syntax_ok(extra_valid[i].record, why, sizeof(why)),
			      "%s: \"%s\" refused: %s", extra_valid[i].id, extra_valid[i].record,
			      why);
	}
}
END_TEST

START_TEST(test_extra_syntax_errors_refused)
{
	for (size_t i = 0; i < COUNT(extra_invalid); i++)
		expect_refused(&extra_invalid[i]);
}
END_TEST

START_TEST(test_is_spf1)
{
	ck_assert(spf_record_is_spf1("v=spf1", 6));
	ck_assert(spf_record_is_spf1("V=SPF1 -all", 11));
	ck_assert(!spf_record_is_spf1("v=spf10", 7));
	ck_assert(!spf_record_is_spf1("v=spf1mx", 8));
	ck_assert(!spf_record_is_spf1("v=spf1\t-all", 11));
	ck_assert(!spf_record_is_spf1("v=spf", 5));
	ck_assert(!spf_record_is_spf1("", 0));
}
END_TEST

START_TEST(test_why_buffer)
{
	char small[8], why[256];
	GString *term = g_string_new("v=spf1 a:");

	/* No buffer, an empty one, a short one: the verdict still stands. */
	ck_assert(!spf_record_syntax_ok("v=spf1 a:", NULL, 0));
	ck_assert(!spf_record_syntax_ok("v=spf1 a:", small, 0));
	ck_assert(!spf_record_syntax_ok("v=spf1 a:", small, sizeof(small)));
	ck_assert_str_eq(small, "term 1 ");
	/* A long term is quoted in part. */
	for (int i = 0; i < 200; i++)
		g_string_append(term, "x.");
	g_string_append(term, "123");
	ck_assert(!spf_record_syntax_ok(term->str, why, sizeof(why)));
	ck_assert(strstr(why, "...': top label is numeric") != NULL);
	ck_assert_uint_lt(strlen(why), 120);
	g_string_free(term, TRUE);
}
END_TEST

/* Every prefix of a record, alone in an allocation of its exact size (for ASan and valgrind). */
START_TEST(test_reads_only_len_bytes)
{
	static const char *const records[] = {
		"v=spf1 a:x.%{d2r-} mx/24//64 ip6:::1/12 exists:%%%_",
		"v=spf1 foo=%{l1r} ip4:1.2.3.4/0 redirect=x.org."
	};
	char why[128];

	for (size_t i = 0; i < COUNT(records); i++) {
		for (size_t len = 0; len <= strlen(records[i]); len++) {
			/* One spare byte in front, so that len may be 0. */
			char *block = g_malloc(len + 1);

			memcpy(block + 1, records[i], len);
			(void)spf_record_syntax_ok_len(block + 1, len, why, sizeof(why));
			g_free(block);
		}
	}
}
END_TEST

START_TEST(test_big_record)
{
	GString *rec = g_string_new("v=spf1");
	char why[128];

	for (int i = 0; i < 20000; i++)
		g_string_append(rec, " ip4:192.0.2.1/32");
	ck_assert(spf_record_syntax_ok_len(rec->str, rec->len, why, sizeof(why)));
	g_string_append(rec, " %");
	ck_assert(!spf_record_syntax_ok_len(rec->str, rec->len, why, sizeof(why)));
	ck_assert(strstr(why, "term 20001 '%'") != NULL);
	g_string_free(rec, TRUE);
}
END_TEST

/* The respelling for libspf2: same meaning, a spelling its compiler takes. */
START_TEST(test_rewrite_keeps_the_meaning)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "v=spf1 ip4:1.2.3.4 -all", "v=spf1 ip4:1.2.3.4 -all" },
		/* unknown modifiers are ignored by the RFC, refused by libspf2 */
		{ "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all",
		  "v=spf1 ip4:1.2.3.4 -all" },
		/* modifiers act after the mechanisms wherever they stand */
		{ "v=spf1 redirect=t5.example.com ~all", "v=spf1 ~all redirect=t5.example.com" },
		{ "v=spf1 exp=e.example.com  REDIRECT=r.example.com a ",
		  "v=spf1 a exp=e.example.com REDIRECT=r.example.com" },
		/* /0 is the union of the two /1 halves, qualifier kept */
		{ "v=spf1 -ip4:1.2.3.4/0 +all", "v=spf1 -ip4:0.0.0.0/1 -ip4:128.0.0.0/1 +all" },
		{ "v=spf1 ip6:::1/0", "v=spf1 ip6:::/1 ip6:8000::/1" },
		{ "v=spf1 ip4:1.2.3.0/10 a:x.example/0", "v=spf1 ip4:1.2.3.0/10 a:x.example/0" },
		/* a mechanism with "=" in its domain-spec stays a mechanism */
		{ "v=spf1 exists:%{l}=x.example.com -all",
		  "v=spf1 exists:%{l}=x.example.com -all" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *got = spf_record_rewrite(cases[i].in);

		ck_assert_msg(spf_record_syntax_ok(cases[i].in, NULL, 0), "%s", cases[i].in);
		ck_assert_str_eq(got, cases[i].out);
		g_free(got);
	}
}
END_TEST

static Suite *
suite_spf_syntax(void)
{
	Suite *s = suite_create("spf_syntax");
	TCase *tc = tcase_create("rfc7208");

	tcase_add_test(tc, test_suite_valid_records_accepted);
	tcase_add_test(tc, test_suite_permerror_for_other_reasons_accepted);
	tcase_add_test(tc, test_suite_syntax_errors_refused);
	tcase_add_test(tc, test_nul_byte_needs_the_length);
	tcase_add_test(tc, test_extra_valid_records_accepted);
	tcase_add_test(tc, test_extra_syntax_errors_refused);
	tcase_add_test(tc, test_is_spf1);
	tcase_add_test(tc, test_why_buffer);
	tcase_add_test(tc, test_reads_only_len_bytes);
	tcase_add_test(tc, test_big_record);
	tcase_add_test(tc, test_rewrite_keeps_the_meaning);
	suite_add_tcase(s, tc);
	return s;
}

Suite *suite_spf_threads(void); /* check_spf_threads.c */

int
main(void)
{
	static Suite *(*const suites[])(void) = { suite_spf_syntax, suite_spf_threads, NULL };

	return mxp_check_main("check_spf", suites);
}
