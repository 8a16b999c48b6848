/*
 * resolver_addr.c - parsing the resolver a policy names, so that a typo is
 * refused with its line when the policy loads instead of turning every DNS
 * answer into a temperror later.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/resolver_addr.h"

/* parse_port - 1 to 65535, digits only */
static int
parse_port(const char *text, unsigned *port_r, char **error_r)
{
	char *end;
	unsigned long port;

	if (text[0] < '0' || text[0] > '9') {
		mxp_error_set(error_r, "port \"%s\" is not a number", text);
		return -1;
	}
	port = strtoul(text, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535) {
		mxp_error_set(error_r, "port %s is not between 1 and 65535", text);
		return -1;
	}
	*port_r = (unsigned)port;
	return 0;
}

int
mxp_resolver_addr_parse(const char *text, char *out, size_t len, char **error_r)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port_text = NULL, *colon;
	unsigned port = 53;
	unsigned char bytes[sizeof(struct in6_addr)];
	int family;

	if (strcmp(text, "system") == 0) {
		snprintf(out, len, "system");
		return 0;
	}
	colon = strchr(text, ':');
	if (text[0] == '[') {
		/* [IPv6]:PORT */
		const char *close = strchr(text, ']');

		if (close == NULL || (size_t)(close - text - 1) >= sizeof(host) ||
		    (close[1] != '\0' && close[1] != ':')) {
			mxp_error_set(error_r, "want [IPv6]:PORT");
			return -1;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(close - text - 1), text + 1);
		family = AF_INET6;
		if (close[1] == ':')
			port_text = close + 2;
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		/* IPv4:PORT: one colon only, since a bare IPv6 address has several */
		if ((size_t)(colon - text) >= sizeof(host)) {
			mxp_error_set(error_r, "not an IP address");
			return -1;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(colon - text), text);
		family = AF_INET;
		port_text = colon + 1;
	} else {
		if (strlen(text) >= sizeof(host)) {
			mxp_error_set(error_r, "not an IP address");
			return -1;
		}
		snprintf(host, sizeof(host), "%s", text);
		family = colon != NULL ? AF_INET6 : AF_INET;
	}
	if (inet_pton(family, host, bytes) != 1) {
		mxp_error_set(error_r,
			      "\"%s\" is not an IP%s address: want \"system\", ADDR, "
			      "IPv4:PORT or [IPv6]:PORT",
			      host, family == AF_INET6 ? "v6" : "v4");
		return -1;
	}
	if (port_text != NULL && parse_port(port_text, &port, error_r) < 0)
		return -1;
	snprintf(out, len, "%s@%u", host, port);
	return 0;
}
