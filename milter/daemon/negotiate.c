/*
 * negotiate.c - the milter option negotiation, without libmilter's
 * context: a pure function of what the MTA offers.
 */
#include "config.h"

#include <stdio.h>

#include <libmilter/mfapi.h>

#include "daemon/negotiate.h"

/*
 * The stages at which the MTA is asked not to wait for our reply: one round
 * trip fewer per header, and none at connect, HELO, end of headers and body.
 * The session keeps any verdict reached there and gives it at the next stage
 * that replies: a connect or HELO verdict at MAIL, the others at end of
 * message.  libmilter offers these steps for every MTA, and answers
 * "continue" in our place to an MTA (protocol version 2, sendmail 8.13,
 * Postfix before 2.6) that waits for a reply anyway.
 */
#define NOREPLY_STAGES (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)
/* What a message may need: the stamp and module headers, removals, quarantine. */
#define NEEDED_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE)

bool
mxp_negotiate(unsigned long offered_actions, unsigned long offered_steps,
	      struct mxp_negotiation *out, char *why, size_t whylen)
{
	out->actions = out->steps = 0;
	out->ask_macros = false;
	if ((offered_actions & NEEDED_ACTIONS) != NEEDED_ACTIONS) {
		snprintf(why, whylen,
			 "the MTA offers milter actions 0x%lx, without 0x%lx "
			 "(add and change headers, quarantine) that mxparityd needs",
			 offered_actions, (unsigned long)NEEDED_ACTIONS & ~offered_actions);
		return false;
	}
	if ((offered_steps & NOREPLY_STAGES) != NOREPLY_STAGES) {
		/*
		 * libmilter adds these to every offer (it answers for an MTA
		 * without them), so this guards against another library only.
		 */
		snprintf(why, whylen,
			 "the milter library offers protocol steps 0x%lx, without the no-reply "
			 "steps 0x%lx",
			 offered_steps, (unsigned long)NOREPLY_STAGES & ~offered_steps);
		return false;
	}
	out->actions = NEEDED_ACTIONS;
	out->steps = NOREPLY_STAGES;
	/* Ask for our macros by name, whatever the site's macro lists say. */
	if ((offered_actions & SMFIF_SETSYMLIST) != 0) {
		out->actions |= SMFIF_SETSYMLIST;
		out->ask_macros = true;
	}
	return true;
}
