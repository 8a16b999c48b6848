/*
 * callbacks.h - the libmilter description of mxparityd.
 */
#ifndef MXP_CALLBACKS_H
#define MXP_CALLBACKS_H

#include <libmilter/mfapi.h>

extern struct smfiDesc mxp_milter_desc;

/* mxp_callbacks_active - connections open right now */
int mxp_callbacks_active(void);
/* mxp_callbacks_drain - tempfail new connections from now on */
void mxp_callbacks_drain(void);
/* mxp_callbacks_set_max - connections served at once (0: no bound); more get 451 at MAIL */
void mxp_callbacks_set_max(int max);

#endif
