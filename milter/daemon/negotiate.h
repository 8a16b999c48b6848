/*
 * negotiate.h - what mxparityd asks of the MTA when a milter connection
 * opens: the actions it needs, the stages it answers without a reply, and
 * the macros it asks for by name.  Kept apart from libmilter's callbacks
 * so that every outcome can be tested with the offers real MTAs make.
 */
#ifndef MXP_NEGOTIATE_H
#define MXP_NEGOTIATE_H

#include <stdbool.h>
#include <stddef.h>

/* The macros mxparityd reads, by stage (mxparityd(8), MTAS). */
#define MXP_MACROS_ENVFROM "i {auth_authen}"
#define MXP_MACROS_EOH "i"
#define MXP_MACROS_EOM "i"

struct mxp_negotiation {
	unsigned long actions; /* the actions to ask for */
	unsigned long steps;   /* the no-reply steps to add to the MTA's steps */
	bool ask_macros;       /* the MTA takes smfi_setsymlist: ask for MXP_MACROS_* */
};

/*
 * mxp_negotiate - from the actions and protocol steps offered (as libmilter
 * hands them to xxfi_negotiate: the MTA's own, plus the no-reply steps
 * libmilter answers itself for an MTA without them), what to ask for.
 * False, with the reason in why, when the MTA cannot do what every
 * message may need (add, change and remove headers, quarantine): the
 * connection is then refused and the MTA's own fallback (Postfix's
 * milter_default_action, sendmail's F=T) applies to its mail.
 */
bool mxp_negotiate(unsigned long offered_actions, unsigned long offered_steps,
		   struct mxp_negotiation *out, char *why, size_t whylen);

#endif
