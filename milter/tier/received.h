/*
 * received.h - read the original client (address, HELO, reverse name) and
 * the receiving host out of one Received header value, the one a peer MX
 * added when the client handed it the message.
 *
 * Shapes understood (the from-clause, up to the host after "by"):
 *   Postfix   from HELO (NAME [ADDR])         NAME may be "unknown";
 *             from HELO (NAME [IPv6:ADDR])    no HELO: HELO is NAME
 *   Sendmail  from HELO (NAME [ADDR]) / from HELO ([ADDR]) /
 *             from HELO (user@NAME [ADDR]) / ... [ADDR] (may be forged))
 *   Exim      from NAME ([ADDR]:PORT helo=HELO) / from [ADDR] (port=P helo=HELO)
 *   others    from HELO (NAME [ADDR]:PORT "EHLO HELO" ...) (ZMailer),
 *             from NAME (HELO HELO) (ADDR) (qmail), from HELO (ADDR) (Exchange)
 * The address is taken only from the comment right after the first word
 * (the receiver's own TCP-info), never from text the client chose.
 */
#ifndef MXP_RECEIVED_H
#define MXP_RECEIVED_H

#include <stdbool.h>

/* Longest value looked at; anything longer is refused. */
#define MXP_RECEIVED_MAX_LEN 16384

struct mxp_received {
	/* what the client said at HELO/EHLO, "" if unknown */
	char helo[256];
	/* its reverse name as the receiver saw it: a name, "unknown", or "" */
	char client_name[256];
	/* canonical text of the IPv4 or IPv6 address (inet_ntop), "" if none */
	char client_addr[64];
	/* the receiving host named after "by", "" if none */
	char by[256];
};

/*
 * mxp_received_parse - one Received header value (unfolded or folded with
 * CRLF/LF + WSP); true when a client address was found, and then the other
 * fields hold what the header says ("" for a part that is missing or too
 * long for its field).  False leaves every field "".  Never reads past the
 * NUL nor past MXP_RECEIVED_MAX_LEN bytes; work is linear in the length.
 */
bool mxp_received_parse(const char *value, struct mxp_received *out);

#endif
