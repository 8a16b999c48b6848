/*
 * nullmilter.c - the floor for any libmilter-based filter, for `make bench`.
 *
 * It asks the MTA for every event a content filter needs (connect, HELO,
 * envelope, each header, the body), looks at none of it, and adds one
 * header at the end of each message.  Whatever a real filter costs on top
 * of this is its own work; this much is libmilter and the protocol.
 *
 *   nullmilter -p SOCKET [-t TIMEOUT]
 *
 * SOCKET is libmilter's: unix:PATH or inet:PORT@ADDR.  SIGTERM stops it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

/* usage - to stderr, exit 2 */
static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr, "usage: nullmilter -p unix:PATH|inet:PORT@ADDR [-t TIMEOUT]\n");
	exit(2);
}

static sfsistat
on_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
	(void)ctx;
	(void)hostname;
	(void)addr;
	return SMFIS_CONTINUE;
}

static sfsistat
on_helo(SMFICTX *ctx, char *helo)
{
	(void)ctx;
	(void)helo;
	return SMFIS_CONTINUE;
}

static sfsistat
on_envelope(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
on_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return SMFIS_CONTINUE;
}

static sfsistat
on_event(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
on_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	return SMFIS_CONTINUE;
}

/* on_eom - the one thing it does */
static sfsistat
on_eom(SMFICTX *ctx)
{
	if (smfi_addheader(ctx, "X-Null-Milter", "passed") != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
	.xxfi_name = "nullmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS,
	.xxfi_connect = on_connect,
	.xxfi_helo = on_helo,
	.xxfi_envfrom = on_envelope,
	.xxfi_envrcpt = on_envelope,
	.xxfi_header = on_header,
	.xxfi_eoh = on_event,
	.xxfi_body = on_body,
	.xxfi_eom = on_eom,
	.xxfi_abort = on_event,
	.xxfi_close = on_event,
	.xxfi_data = on_event,
};

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	int c, timeout = 60;

	while ((c = getopt(argc, argv, "p:t:")) != -1) {
		switch (c) {
		case 'p': sock = optarg; break;
		case 't': timeout = atoi(optarg); break;
		default: usage();
		}
	}
	if (sock == NULL || optind != argc || timeout <= 0)
		usage();
	if (smfi_setconn((char *)sock) != MI_SUCCESS || smfi_settimeout(timeout) != MI_SUCCESS ||
	    smfi_register(desc) != MI_SUCCESS || smfi_opensocket(true) != MI_SUCCESS) {
		fprintf(stderr, "nullmilter: cannot serve on %s\n", sock);
		return 1;
	}
	fprintf(stderr, "nullmilter: serving on %s\n", sock);
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
