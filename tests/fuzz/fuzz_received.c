/*
 * fuzz_received.c - libFuzzer target for mxp_received_parse: any bytes,
 * cut at the first NUL as a header value would be.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tier/received.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* field_ok - NUL-terminated inside its buffer, no space or control character */
static int
field_ok(const char *f, size_t size)
{
	size_t n = strnlen(f, size);

	if (n == size)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)f[i] <= ' ' || (unsigned char)f[i] == 0x7f)
			return 0;
	return 1;
}

/* LLVMFuzzerTestOneInput - parse one input: an address that parses, or nothing at all */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mxp_received r;
	char *value = malloc(size + 1);

	if (value == NULL)
		return 0;
	memcpy(value, data, size);
	value[size] = '\0';
	if (mxp_received_parse(value, &r)) {
		unsigned char bin[sizeof(struct in6_addr)];

		if (inet_pton(AF_INET, r.client_addr, bin) != 1 &&
		    inet_pton(AF_INET6, r.client_addr, bin) != 1)
			abort();
	} else if (r.client_addr[0] != '\0' || r.helo[0] != '\0') {
		abort();
	}
	if (!field_ok(r.helo, sizeof(r.helo)) || !field_ok(r.client_name, sizeof(r.client_name)) ||
	    !field_ok(r.by, sizeof(r.by)))
		abort();
	free(value);
	return 0;
}
