/*
 * result.h - what one module decided about one message: its verdict, an
 * SMTP reply, a log token, header changes and a quarantine reason.
 */
#ifndef MXP_RESULT_H
#define MXP_RESULT_H

#include <stdbool.h>

#include <glib.h>
#include <mxparity/module.h>

struct mxp_header_edit {
	char *name;
	char *value;	/* NULL for a removal */
	unsigned index; /* removal: 1-based among headers of that name */
};

struct mxp_result {
	enum mxp_verdict verdict; /* most severe verdict so far this message */
	bool has_reply;
	char rcode[4];
	char xcode[16];
	char text[400];
	char token[160];
	GArray *edits; /* struct mxp_header_edit */
	char *quarantine;
};

void mxp_result_init(struct mxp_result *res);
/* mxp_result_reset - back to empty, for the next message */
void mxp_result_reset(struct mxp_result *res);
/* mxp_result_release - free what the result owns */
void mxp_result_release(struct mxp_result *res);
/* mxp_result_clear_reply - forget a per-recipient reply */
void mxp_result_clear_reply(struct mxp_result *res);

void mxp_result_set_reply(struct mxp_result *res, const char *rcode, const char *xcode,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void mxp_result_set_token(struct mxp_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int mxp_result_add_header(struct mxp_result *res, const char *name, const char *value);
int mxp_result_remove_header(struct mxp_result *res, const char *name, unsigned index);
void mxp_result_set_quarantine(struct mxp_result *res, const char *reason);

/* mxp_sanitize_text - printable ASCII only, at most len-1 bytes */
void mxp_sanitize_text(char *dst, size_t len, const char *src);

#endif
