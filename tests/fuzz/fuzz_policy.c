/*
 * fuzz_policy.c - libFuzzer target for the policy loader: the include()
 * expander, libconfuse's grammar, the core's checks and a module's options
 * (the rcpt module, linked in).  The input is up to four files separated
 * by a line "----": policy.conf, then a.conf, b.conf and c.conf, which it
 * may include.  A key file (parity.key) and a recipients file (recipients)
 * are there too.  A refused policy must say why; an accepted one must give
 * a digest and a description.  FUZZ_VERBOSE=1 prints why each input was
 * refused (to check a seed).
 */
#define _GNU_SOURCE /* memmem */
#include "config.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "core/host.h"
#include "policy/modreg.h"
#include "policy/policy.h"
#include "util/log.h"

#define SEPARATOR "\n----\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern const struct mxp_module *mxp_module_entry; /* rcpt.c's */

static const char *const file_names[] = { "policy.conf", "a.conf", "b.conf", "c.conf" };
static char *work;

/* write_file - name in the work directory holds len bytes of text, mode 0600 */
static void
write_file(const char *name, const void *text, size_t len)
{
	char *path = g_build_filename(work, name, NULL);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		abort();
	close(fd);
	g_free(path);
}

/* cleanup - at exit: the work directory */
static void
cleanup(void)
{
	static const char *const fixed[] = { "parity.key", "recipients" };

	for (size_t i = 0; i < G_N_ELEMENTS(file_names) + G_N_ELEMENTS(fixed); i++) {
		const char *name = i < G_N_ELEMENTS(file_names)
					   ? file_names[i]
					   : fixed[i - G_N_ELEMENTS(file_names)];
		char *path = g_build_filename(work, name, NULL);

		unlink(path);
		g_free(path);
	}
	rmdir(work);
	g_free(work);
}

/* setup - once: the work directory, its fixed files, the rcpt module */
static void
setup(void)
{
	char *why = NULL;

	mxp_log_open("fuzz_policy", false, false);
	work = g_dir_make_tmp("mxparity-fuzz-policy-XXXXXX", NULL);
	if (work == NULL)
		abort();
	write_file("parity.key", "0123456789abcdef0123456789abcdef", 32);
	write_file("recipients", "alice@example.com\n@example.org\n", 31);
	mxp_modreg_set_host(&mxp_host_api);
	if (mxp_modreg_add_builtin(mxp_module_entry, &why) < 0)
		abort();
	atexit(cleanup);
}

/* LLVMFuzzerTestOneInput - split into files, load, describe, free */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct mxp_policy *pol = NULL;
	char *error = NULL, *policy_path;
	size_t i;

	if (work == NULL)
		setup();
	for (i = 0; i < G_N_ELEMENTS(file_names); i++) {
		const char *sep =
			i + 1 < G_N_ELEMENTS(file_names)
				? memmem(p, (size_t)(end - p), SEPARATOR, strlen(SEPARATOR))
				: NULL;
		const char *stop = sep != NULL ? sep : end;

		write_file(file_names[i], p, (size_t)(stop - p));
		p = sep != NULL ? sep + strlen(SEPARATOR) : end;
	}
	policy_path = g_build_filename(work, "policy.conf", NULL);
	if (mxp_policy_load(policy_path, "mx1.example.com", &pol, &error) == 0) {
		char buf[4096];
		char *digest_error = NULL;

		if (pol == NULL || error != NULL)
			__builtin_trap();
		mxp_policy_module_names(pol, buf, sizeof(buf));
		mxp_policy_module_details(pol, buf, sizeof(buf));
		(void)mxp_policy_peer_by_addr(pol, "127.0.0.3");
		if (mxp_policy_digest(pol, &digest_error) < 0)
			g_free(digest_error);
		mxp_policy_unref(pol);
	} else {
		if (pol != NULL || error == NULL || error[0] == '\0')
			__builtin_trap();	    /* refused without a reason */
		if (getenv("FUZZ_VERBOSE") != NULL) /* why a seed is refused */
			fprintf(stderr, "fuzz_policy: %s\n", error);
		g_free(error);
	}
	g_free(policy_path);
	return 0;
}
