/*
 * check_received.c - the original client read out of a peer's Received
 * header: real shapes from Postfix, Sendmail, Exim and others, and hostile
 * text that must be refused without harm.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "check_mxparity.h"
#include "tier/received.h"

/* One header value and what must come out of it. */
struct sample {
	const char *what;
	const char *value;
	const char *helo, *name, *addr, *by;
};

/* Also the seed corpus of tests/fuzz/fuzz_received.c: keep one file per sample there. */
static const struct sample samples[] = {
	/* Postfix 3.x: "from HELO (NAME [ADDR])", NAME "unknown" without rDNS. */
	{ "postfix rdns",
	  "from mail.example.org (mail.example.org [192.0.2.10])\r\n"
	  "\tby mx2.example.com (Postfix) with ESMTP id 4Xyz1234AB\r\n"
	  "\tfor <user@example.com>; Tue, 12 Mar 2024 10:00:00 +0000 (UTC)",
	  "mail.example.org", "mail.example.org", "192.0.2.10", "mx2.example.com" },
	{ "postfix no rdns",
	  "from client.example (unknown [198.51.100.7])\r\n"
	  "\tby mx2.example.com (Postfix) with ESMTP id 4Q2bX03xYz;\r\n"
	  "\tWed, 13 Mar 2024 08:15:02 +0100 (CET)",
	  "client.example", "unknown", "198.51.100.7", "mx2.example.com" },
	{ "postfix ipv6",
	  "from out1.vger.email (out1.vger.email [IPv6:2620:137:e000::1:20])\n"
	  "\tby mail.lfdr.de (Postfix) with ESMTP id D81467A9926\n"
	  "\tfor <lists+linux-i2c@lfdr.de>; Thu, 21 Sep 2023 20:11:45 +0200 (CEST)",
	  "out1.vger.email", "out1.vger.email", "2620:137:e000::1:20", "mail.lfdr.de" },
	{ "postfix ipv6 long form",
	  "from v6.example.net (v6.example.net [IPv6:2001:DB8:0:0:0:0:0:1])\r\n"
	  "\tby mx2.example.com (Postfix) with ESMTPS id 4TqY0v6kS2z9sWR",
	  "v6.example.net", "v6.example.net", "2001:db8::1", "mx2.example.com" },
	{ "postfix tls",
	  "from mail-ej1-f54.google.com (mail-ej1-f54.google.com [209.85.218.54])\r\n"
	  "\t(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits)\r\n"
	  "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\r\n"
	  "\t(No client certificate requested)\r\n"
	  "\tby mx2.example.com (Postfix) with ESMTPS id 4TqY0v6kS2z9sWR\r\n"
	  "\tfor <a@example.com>; Tue, 12 Mar 2024 10:00:01 +0000 (UTC)",
	  "mail-ej1-f54.google.com", "mail-ej1-f54.google.com", "209.85.218.54",
	  "mx2.example.com" },
	{ "postfix client cert",
	  "from relay.example.org (relay.example.org [203.0.113.8])\r\n"
	  "\t(using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits))\r\n"
	  "\t(Client CN \"relay.example.org\", Issuer \"Example CA (R3)\" (verified OK))\r\n"
	  "\tby mx2.example.com (Postfix) with ESMTPS id 5B7C8D9E0F\r\n"
	  "\tfor <b@example.com>; Tue, 12 Mar 2024 10:00:02 +0000 (UTC)",
	  "relay.example.org", "relay.example.org", "203.0.113.8", "mx2.example.com" },
	{ "postfix helo address literal, sasl",
	  "from [192.168.1.23] (unknown [203.0.113.45])\r\n"
	  "\t(Authenticated sender: alice@example.com)\r\n"
	  "\tby mx2.example.com (Postfix) with ESMTPSA id 3F2A1C0123\r\n"
	  "\tfor <bob@example.net>; Tue, 12 Mar 2024 10:00:03 +0000 (UTC)",
	  "[192.168.1.23]", "unknown", "203.0.113.45", "mx2.example.com" },
	{ "postfix no helo",
	  "from unknown (unknown [192.0.2.99])\r\n"
	  "\tby mx2.example.com (Postfix) with SMTP id 1A2B3C4D5E;\r\n"
	  "\tTue, 12 Mar 2024 10:00:04 +0000 (UTC)",
	  "unknown", "unknown", "192.0.2.99", "mx2.example.com" },
	{ "postfix neutered helo",
	  "from ?script?alert?1?/script? (unknown [198.51.100.23])\r\n"
	  "\tby mx2.example.com (Postfix) with SMTP id 6C7D8E9F01",
	  "?script?alert?1?/script?", "unknown", "198.51.100.23", "mx2.example.com" },
	{ "postfix unfolded",
	  "from smtp.example.net (smtp.example.net [203.0.113.9]) by mx2.example.com (Postfix) "
	  "with ESMTP id 4AD393CCFD2 for <x@example.com>; Mon, 19 Jul 2021 11:04:29 +0200 (CEST)",
	  "smtp.example.net", "smtp.example.net", "203.0.113.9", "mx2.example.com" },
	{ "postfix ipv6 helo literal",
	  "from [IPv6:2001:db8::25] (unknown [IPv6:2001:db8::25])\r\n"
	  "\tby mx2.example.com (Postfix) with ESMTP id 2B3C4D5E6F",
	  "[IPv6:2001:db8::25]", "unknown", "2001:db8::25", "mx2.example.com" },
	{ "postfix 2 space folding",
	  "from isis.lip6.fr (isis.lip6.fr [132.227.60.2])\n"
	  " (using TLSv1 with cipher DHE-RSA-AES256-SHA (256/256 bits))\n"
	  " (No client certificate requested)\n"
	  " by systeme.lip6.fr (Postfix) with ESMTPS id 701BE77D2\n"
	  " for <cocci@systeme.lip6.fr>; Fri, 29 Nov 2019 18:19:57 +0100 (CET)",
	  "isis.lip6.fr", "isis.lip6.fr", "132.227.60.2", "systeme.lip6.fr" },
	{ "postfix ipv4-mapped",
	  "from mapped.example (unknown [IPv6:::ffff:192.0.2.1])\r\n"
	  "\tby mx2.example.com (Postfix) with ESMTP id 7D8E9F0A1B",
	  "mapped.example", "unknown", "::ffff:192.0.2.1", "mx2.example.com" },

	/* Sendmail: "from HELO ([user@]NAME [ADDR] [(may be forged)])". */
	{ "sendmail 8.15",
	  "from systeme.lip6.fr (systeme.lip6.fr [132.227.104.7])\n"
	  "\tby isis.lip6.fr (8.15.2/8.15.2) with ESMTP id xATHK04G029312;\n"
	  "\tFri, 29 Nov 2019 18:20:00 +0100 (CET)",
	  "systeme.lip6.fr", "systeme.lip6.fr", "132.227.104.7", "isis.lip6.fr" },
	{ "sendmail may be forged",
	  "from localhost (ti.dhcp.ti.com [172.24.227.95] (may be forged))\n"
	  "\tby lelvsmtp6.itg.ti.com (8.15.2/8.15.2) with ESMTP id 449Ico8E003719;\n"
	  "\tThu, 9 May 2024 13:38:50 -0500",
	  "localhost", "ti.dhcp.ti.com", "172.24.227.95", "lelvsmtp6.itg.ti.com" },
	{ "sendmail ipv6 may be forged, folded in the comment",
	  "from mail-wm1-x331.google.com (mail-wm1-x331.google.com\n"
	  " [IPv6:2a00:1450:4864:20:0:0:0:331] (may be forged))\n"
	  " by isis.lip6.fr (8.15.2/8.15.2) with ESMTP id xATHJuSh028230\n"
	  " for <cocci@systeme.lip6.fr>; Fri, 29 Nov 2019 18:19:56 +0100 (CET)",
	  "mail-wm1-x331.google.com", "mail-wm1-x331.google.com", "2a00:1450:4864:20::331",
	  "isis.lip6.fr" },
	{ "sendmail 8.17 ident",
	  "from client.example.org (joe@client.example.org [192.0.2.44])\n"
	  "\tby mx2.example.com (8.17.1/8.17.1) with ESMTP id 41CA0b3x012345\n"
	  "\tfor <a@example.com>; Tue, 12 Mar 2024 11:00:00 +0100",
	  "client.example.org", "client.example.org", "192.0.2.44", "mx2.example.com" },
	{ "sendmail no rdns",
	  "from helo.example ([198.51.100.200])\n"
	  "\tby mx2.example.com (8.17.2/8.17.2) with ESMTP id 41CA0b3y012346;\n"
	  "\tTue, 12 Mar 2024 11:00:01 +0100",
	  "helo.example", "", "198.51.100.200", "mx2.example.com" },
	{ "sendmail helo address literal",
	  "from [192.0.2.5] (host.example.net [192.0.2.5])\n"
	  "\tby mx2.example.com (8.15.2/8.15.2) with ESMTP id 41CA0b3z012347",
	  "[192.0.2.5]", "host.example.net", "192.0.2.5", "mx2.example.com" },
	{ "sendmail authenticated, tls, may be forged",
	  "from Mazikeen (cpebc4dfb928313-cmbc4dfb928310.cpe.net.cable.rogers.com "
	  "[99.228.251.108] (may be forged))\n"
	  "        (authenticated bits=0)\n"
	  "        by elephants.elehost.com (8.16.1/8.16.1) with ESMTPSA id 28NKhRqg077328\n"
	  "        (version=TLSv1.2 cipher=ECDHE-RSA-AES256-GCM-SHA384 bits=256 verify=NO)\n"
	  "        for <git@vger.kernel.org>; Fri, 23 Sep 2022 16:43:27 -0400 (EDT)\n"
	  "        (envelope-from rsbecker@nexbridge.com)",
	  "Mazikeen", "cpebc4dfb928313-cmbc4dfb928310.cpe.net.cable.rogers.com", "99.228.251.108",
	  "elephants.elehost.com" },
	{ "sendmail no helo",
	  "from [198.51.100.3] ([198.51.100.3])\n"
	  "\tby mx2.example.com (8.17.1/8.17.1) with SMTP id 41CA0c01012348",
	  "[198.51.100.3]", "", "198.51.100.3", "mx2.example.com" },
	{ "sendmail ipv6 no rdns",
	  "from helo6.example ([IPv6:2001:db8:1::5])\r\n"
	  "\tby mx2.example.com (8.17.1/8.17.1) with ESMTP id 41CA0c02012349",
	  "helo6.example", "", "2001:db8:1::5", "mx2.example.com" },

	/* Written by Debian's sendmail 8.17.1.9 in tests/integration/t-sm-*.sh, as captured. */
	{ "sendmail 8.17.1.9 debian, no rdns",
	  "from edge-client.example.org ([127.0.0.10])\n"
	  "\tby mx2.example.com (8.17.1.9/8.17.1.9) with ESMTP id 6B3IHgaK029143\n"
	  "\tfor <alice@example.com>; Thu, 3 Dec 2026 18:17:42 GMT",
	  "edge-client.example.org", "", "127.0.0.10", "mx2.example.com" },
	{ "sendmail 8.17.1.9 debian, rdns from the hosts file",
	  "from client.itest.example (localhost [127.0.0.1])\n"
	  "\tby sm1.itest.example (8.17.1.9/8.17.1.9) with ESMTP id 6B3I41pW007878\n"
	  "\tfor <alice@example.com>; Thu, 3 Dec 2026 18:04:01 GMT",
	  "client.itest.example", "localhost", "127.0.0.1", "sm1.itest.example" },

	/* Exim: "from NAME ([ADDR][:PORT] helo=HELO)" or "from [ADDR] (port=P helo=HELO)". */
	{ "exim",
	  "from mail.example.net ([192.0.2.77] helo=smtp.example.net)\n"
	  "\tby mx2.example.com with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384\n"
	  "\t(Exim 4.96)\n\t(envelope-from <a@example.net>)\n\tid 1rkZQb-0004Xy-2B\n"
	  "\tfor b@example.com;\n\tTue, 12 Mar 2024 10:00:00 +0000",
	  "smtp.example.net", "mail.example.net", "192.0.2.77", "mx2.example.com" },
	{ "exim port",
	  "from mail.example.net ([192.0.2.77]:41234 helo=smtp.example.net)\n"
	  "\tby mx2.example.com with esmtp (Exim 4.94.2)\n\t(envelope-from <a@example.net>)\n"
	  "\tid 1rkZQc-0004Xz-3C; Tue, 12 Mar 2024 10:00:00 +0000",
	  "smtp.example.net", "mail.example.net", "192.0.2.77", "mx2.example.com" },
	{ "exim no rdns",
	  "from [198.51.100.9] (port=50312 helo=WIN-1ABC2DEF)\n"
	  "\tby mx2.example.com with esmtp (Exim 4.94.2)\n\t(envelope-from <x@example.org>)\n"
	  "\tid 1rkZQd-0004Y0-4D; Tue, 12 Mar 2024 10:00:00 +0000",
	  "WIN-1ABC2DEF", "", "198.51.100.9", "mx2.example.com" },
	{ "exim ipv6 no rdns",
	  "from [2001:db8::77] (helo=v6.example.org)\n"
	  "\tby mx2.example.com with esmtp (Exim 4.96)\n\tid 1rkZQe-0004Y1-5E",
	  "v6.example.org", "", "2001:db8::77", "mx2.example.com" },
	{ "exim helo same as name",
	  "from mail.example.org ([203.0.113.20]:25874)\n"
	  "\tby mx2.example.com with esmtps (TLS1.2) tls ECDHE-RSA-AES256-GCM-SHA384\n"
	  "\t(Exim 4.92)\n\tid 1rkZQf-0004Y2-6F",
	  "mail.example.org", "mail.example.org", "203.0.113.20", "mx2.example.com" },
	{ "exim ipv6 port",
	  "from mail.example.org ([2001:db8::25]:33000 helo=mx.example.org)\n"
	  "\tby mx2.example.com with esmtp (Exim 4.96)\n\tid 1rkZQg-0004Y3-7G",
	  "mx.example.org", "mail.example.org", "2001:db8::25", "mx2.example.com" },
	{ "exim no rdns, ident",
	  "from [198.51.100.10] (port=1025 helo=pc.example ident=joe)\n"
	  "\tby mx2.example.com with smtp (Exim 4.96)\n\tid 1rkZQh-0004Y4-8H",
	  "pc.example", "", "198.51.100.10", "mx2.example.com" },

	/* Others. */
	{ "zmailer",
	  "from twspam01.aspeedtech.com ([211.20.114.71]:51414 \"EHLO\n"
	  "        twspam01.aspeedtech.com\" rhost-flags-OK-OK-OK-OK) by vger.kernel.org\n"
	  "        with ESMTP id S235317AbhGSIVi (ORCPT\n"
	  "        <rfc822;linux-iio@vger.kernel.org>); Mon, 19 Jul 2021 04:21:38 -0400",
	  "twspam01.aspeedtech.com", "twspam01.aspeedtech.com", "211.20.114.71",
	  "vger.kernel.org" },
	{ "qmail",
	  "from unknown (HELO mail.example.org) (192.0.2.31)\n"
	  "  by mx2.example.com with SMTP; 12 Mar 2024 10:00:00 -0000",
	  "mail.example.org", "unknown", "192.0.2.31", "mx2.example.com" },
	{ "qmail remoteinfo",
	  "from mail.example.org (HELO smtp.example.org) (joe@192.0.2.32)\n"
	  "  by mx2.example.com with SMTP; 12 Mar 2024 10:00:00 -0000",
	  "smtp.example.org", "mail.example.org", "192.0.2.32", "mx2.example.com" },
	{ "exchange",
	  "from BillyTsai-pc.aspeed.com (192.168.2.149) by TWMBX02.aspeed.com\n"
	  " (192.168.0.24) with Microsoft SMTP Server (TLS) id 15.0.1497.2; Mon, 19 Jul\n"
	  " 2021 16:05:48 +0800",
	  "BillyTsai-pc.aspeed.com", "", "192.168.2.149", "TWMBX02.aspeed.com" },
	{ "gmail",
	  "from mail-wm1-x331.google.com (mail-wm1-x331.google.com. [2a00:1450:4864:20::331])\n"
	  "        by mx.google.com with ESMTPS id t1si1779447bkt.1.2012.11.05.16.53.33\n"
	  "        for <x@example.com>\n"
	  "        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\n"
	  "        Mon, 05 Nov 2012 16:53:33 -0800 (PST)",
	  "mail-wm1-x331.google.com", "mail-wm1-x331.google.com.", "2a00:1450:4864:20::331",
	  "mx.google.com" },
	{ "opensmtpd",
	  "from client.example.org (client.example.org [192.0.2.50])\n"
	  "\tby mx2.example.com (OpenSMTPD) with ESMTPS id 8c1f2a3b "
	  "(TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO)\n"
	  "\tfor <a@example.com>; Tue, 12 Mar 2024 10:00:00 +0000 (UTC)",
	  "client.example.org", "client.example.org", "192.0.2.50", "mx2.example.com" },

	/* Layout the parser must not care about. */
	{ "extra white space",
	  "  from   a.example \t (  b.example \r\n\t  [192.0.2.3]  )  \r\n   by   mx.example  ",
	  "a.example", "b.example", "192.0.2.3", "mx.example" },
	{ "upper case keywords", "FROM a.example (b.example [192.0.2.5]) BY mx.example WITH ESMTP",
	  "a.example", "b.example", "192.0.2.5", "mx.example" },
	{ "nested comments in tcp-info",
	  "from a.example (b.example [192.0.2.4] (may be forged (really (deep))))\r\n"
	  "\t(more (nested) text) by mx.example id 1",
	  "a.example", "b.example", "192.0.2.4", "mx.example" },
	{ "no by clause", "from a.example (b.example [192.0.2.6])", "a.example", "b.example",
	  "192.0.2.6", "" },
	{ "by then comment", "from a.example (b.example [192.0.2.7]) by mx.example(Postfix)",
	  "a.example", "b.example", "192.0.2.7", "mx.example" },

	/* Hostile: no address may come out of these (expected fields all NULL). */
	{ "empty", "", NULL, NULL, NULL, NULL },
	{ "white space only", " \r\n\t ", NULL, NULL, NULL, NULL },
	{ "local submission",
	  "by mx2.example.com (Postfix, from userid 1000)\n\tid 8096DB22ED9; Tue,  6 Nov 2012 "
	  "04:53:30 +0400 (MSK)",
	  NULL, NULL, NULL, NULL },
	{ "sendmail local",
	  "(from root@localhost)\n\tby mx2.example.com (8.15.2/8.15.2/Submit) id x", NULL, NULL,
	  NULL, NULL },
	{ "from alone", "from", NULL, NULL, NULL, NULL },
	{ "from and word", "from a.example", NULL, NULL, NULL, NULL },
	{ "fromage", "fromage (b [192.0.2.1])", NULL, NULL, NULL, NULL },
	{ "unclosed comment", "from a (b [192.0.2.1] by mx.example", NULL, NULL, NULL, NULL },
	{ "unclosed outer comment", "from a ((b [192.0.2.1]) by mx.example", NULL, NULL, NULL,
	  NULL },
	{ "stray close paren", "from a (b [192.0.2.1])) by mx.example", NULL, NULL, NULL, NULL },
	{ "unclosed later comment", "from a (b [192.0.2.1]) (using TLS by mx.example", NULL, NULL,
	  NULL, NULL },
	{ "no brackets", "from a (b 192.0.2.1) by mx.example", NULL, NULL, NULL, NULL },
	{ "no comment", "from [192.0.2.1] by mx.example", NULL, NULL, NULL, NULL },
	{ "bad ipv4", "from a (b [999.1.1.1]) by mx.example", NULL, NULL, NULL, NULL },
	{ "short ipv4", "from a (b [192.0.2]) by mx.example", NULL, NULL, NULL, NULL },
	{ "leading zero ipv4", "from a (b [192.0.2.01]) by mx.example", NULL, NULL, NULL, NULL },
	{ "bad ipv6", "from a (b [IPv6:zzz]) by mx.example", NULL, NULL, NULL, NULL },
	{ "ipv6 tag on ipv4", "from a (b [IPv6:192.0.2.1]) by mx.example", NULL, NULL, NULL, NULL },
	{ "ipv6 zone", "from a (b [fe80::1%eth0]) by mx.example", NULL, NULL, NULL, NULL },
	{ "unclosed bracket", "from a (b [192.0.2.1) by mx.example", NULL, NULL, NULL, NULL },
	{ "text after bracket", "from a (b [192.0.2.1]x) by mx.example", NULL, NULL, NULL, NULL },
	{ "huge port", "from a (b [192.0.2.1]:1234567) by mx.example", NULL, NULL, NULL, NULL },
	{ "empty brackets", "from a (b []) by mx.example", NULL, NULL, NULL, NULL },
	{ "address in helo only", "from [6.6.6.6] (b.example) by mx.example", NULL, NULL, NULL,
	  NULL },
	{ "helo with parens", "from evil([6.6.6.6]) (b.example [192.0.2.1]) by mx.example", NULL,
	  NULL, NULL, NULL },
	{ "helo with quote", "from \"evil ([6.6.6.6])\" (b.example [192.0.2.1]) by mx.example",
	  NULL, NULL, NULL, NULL },
	{ "exim shape without literal", "from evil (helo=[6.6.6.6]) by mx.example", NULL, NULL,
	  NULL, NULL },
	{ "exim key before literal", "from evil (helo=x [6.6.6.6]) by mx.example", NULL, NULL, NULL,
	  NULL },
	{ "quoted name", "from a (\"b\" [6.6.6.6]) by mx.example", NULL, NULL, NULL, NULL },
	{ "literal third", "from a (b c [6.6.6.6]) by mx.example", NULL, NULL, NULL, NULL },
	{ "qmail helo then nothing", "from unknown (HELO x.example) by mx.example", NULL, NULL,
	  NULL, NULL },
	{ "qmail helo literal only", "from unknown (HELO [6.6.6.6]) by mx.example", NULL, NULL,
	  NULL, NULL },
	{ "control character", "from a\x01 (b [192.0.2.1]) by mx.example", NULL, NULL, NULL, NULL },
	{ "escape sequence", "from a (b [192.0.2.1]) by \x1b[31mmx.example", NULL, NULL, NULL,
	  NULL },
	{ "delete character", "from a (b [192.0.2.1\x7f]) by mx.example", NULL, NULL, NULL, NULL },
	{ "vertical tab", "from a\v(b [192.0.2.1]) by mx.example", NULL, NULL, NULL, NULL },
};

#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

START_TEST(test_received_samples)
{
	const struct sample *t = &samples[_i];
	struct mxp_received r;
	bool ok;

	memset(&r, 'X', sizeof(r));
	ok = mxp_received_parse(t->value, &r);
	if (t->addr == NULL) {
		ck_assert_msg(!ok, "%s: accepted, client_addr=%s", t->what, r.client_addr);
		ck_assert_str_eq(r.helo, "");
		ck_assert_str_eq(r.client_name, "");
		ck_assert_str_eq(r.client_addr, "");
		ck_assert_str_eq(r.by, "");
		return;
	}
	ck_assert_msg(ok, "%s: refused", t->what);
	ck_assert_msg(strcmp(r.client_addr, t->addr) == 0, "%s: client_addr=\"%s\" want \"%s\"",
		      t->what, r.client_addr, t->addr);
	ck_assert_msg(strcmp(r.helo, t->helo) == 0, "%s: helo=\"%s\" want \"%s\"", t->what, r.helo,
		      t->helo);
	ck_assert_msg(strcmp(r.client_name, t->name) == 0, "%s: client_name=\"%s\" want \"%s\"",
		      t->what, r.client_name, t->name);
	ck_assert_msg(strcmp(r.by, t->by) == 0, "%s: by=\"%s\" want \"%s\"", t->what, r.by, t->by);
}
END_TEST

START_TEST(test_received_null)
{
	struct mxp_received r;

	ck_assert(!mxp_received_parse(NULL, &r));
	ck_assert_str_eq(r.client_addr, "");
}
END_TEST

/* big - a header of n bytes: prefix, then filler up to n */
static char *
big(const char *prefix, char fill, size_t n)
{
	char *s = malloc(n + 1);
	size_t plen = strlen(prefix);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_le(plen, n);
	memcpy(s, prefix, plen);
	memset(s + plen, fill, n - plen);
	s[n] = '\0';
	return s;
}

START_TEST(test_received_size_limit)
{
	const char *head = "from a.example (b.example [192.0.2.1]) by mx.example ";
	struct mxp_received r;
	char *s;

	s = big(head, 'x', MXP_RECEIVED_MAX_LEN);
	ck_assert(mxp_received_parse(s, &r));
	ck_assert_str_eq(r.client_addr, "192.0.2.1");
	free(s);

	s = big(head, 'x', MXP_RECEIVED_MAX_LEN + 1);
	ck_assert(!mxp_received_parse(s, &r));
	free(s);

	/* 100 KB of anything is refused as a whole, whatever it starts with. */
	s = big(head, ' ', 100 * 1024);
	ck_assert(!mxp_received_parse(s, &r));
	free(s);
	s = big("from a (", '(', 100 * 1024);
	ck_assert(!mxp_received_parse(s, &r));
	free(s);
}
END_TEST

START_TEST(test_received_deep_nesting)
{
	size_t depth = MXP_RECEIVED_MAX_LEN / 2 - 64;
	const char *head = "from a.example (b.example [192.0.2.1] ";
	size_t hlen = strlen(head);
	char *s = malloc(hlen + 2 * depth + 32);
	struct mxp_received r;

	ck_assert_ptr_nonnull(s);
	memcpy(s, head, hlen);
	memset(s + hlen, '(', depth);
	memset(s + hlen + depth, ')', depth);
	strcpy(s + hlen + 2 * depth, ") by mx.example");
	ck_assert(mxp_received_parse(s, &r));
	ck_assert_str_eq(r.client_addr, "192.0.2.1");
	ck_assert_str_eq(r.by, "mx.example");

	/* One short: the comment never closes. */
	strcpy(s + hlen + 2 * depth - 1, " by mx.example");
	ck_assert(!mxp_received_parse(s, &r));
	free(s);
}
END_TEST

START_TEST(test_received_long_fields)
{
	struct mxp_received r;
	char *helo = big("", 'h', 300), *name = big("", 'n', 256);
	char *v = g_strdup_printf("from %s (%s [192.0.2.1]) by %s", helo, name, helo);

	/* Too long for its field: left empty, never cut short. */
	ck_assert(mxp_received_parse(v, &r));
	ck_assert_str_eq(r.client_addr, "192.0.2.1");
	ck_assert_str_eq(r.helo, "");
	ck_assert_str_eq(r.by, "");
	ck_assert_str_eq(r.client_name, "");
	g_free(v);

	name[255] = '\0';
	v = g_strdup_printf("from h (%s [192.0.2.1]) by m", name);
	ck_assert(mxp_received_parse(v, &r));
	ck_assert_uint_eq(strlen(r.client_name), 255);
	g_free(v);
	free(helo);
	free(name);
}
END_TEST

START_TEST(test_received_stops_at_nul)
{
	static const char good[] = "from a (b [192.0.2.1]) by mx\0(garbage [6.6.6.6]";
	static const char cut[] = "from a (b [192.0\0.2.1]) by mx";
	struct mxp_received r;

	ck_assert(mxp_received_parse(good, &r));
	ck_assert_str_eq(r.client_addr, "192.0.2.1");
	ck_assert_str_eq(r.by, "mx");
	ck_assert(!mxp_received_parse(cut, &r));
}
END_TEST

/* A HELO that is itself an address literal never becomes the client address. */
START_TEST(test_received_helo_cannot_forge)
{
	static const char *const v[] = {
		"from [6.6.6.6] (unknown [192.0.2.1]) by mx",
		"from [6.6.6.6] (6.6.6.6 [192.0.2.1]) by mx",
		"from [6.6.6.6] (x [192.0.2.1] (helo=[6.6.6.6])) by mx",
		"from [192.0.2.1] (helo=x [6.6.6.6]) by mx",
		"from [IPv6:2001:db8::6] (unknown [192.0.2.1]) by mx",
		"from unknown (HELO [6.6.6.6]) (192.0.2.1) by mx",
	};
	struct mxp_received r;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_msg(mxp_received_parse(v[i], &r), "%s refused", v[i]);
		ck_assert_msg(strcmp(r.client_addr, "192.0.2.1") == 0, "%s gave %s", v[i],
			      r.client_addr);
	}
}
END_TEST

Suite *
suite_received(void)
{
	Suite *s = suite_create("received");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_received_samples, 0, (int)NSAMPLES);
	tcase_add_test(tc, test_received_null);
	tcase_add_test(tc, test_received_size_limit);
	tcase_add_test(tc, test_received_deep_nesting);
	tcase_add_test(tc, test_received_long_fields);
	tcase_add_test(tc, test_received_stops_at_nul);
	tcase_add_test(tc, test_received_helo_cannot_forge);
	suite_add_tcase(s, tc);
	return s;
}
