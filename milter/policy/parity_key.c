/*
 * parity_key.c - load the shared stamp key.  A short key or one that any
 * local user can read would let stamps be forged, so both stop the load.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <openssl/crypto.h>

#include "policy/parity_key.h"
#include "util/error.h"
#include "util/digest.h"

#define MAX_KEY 4096

int
mxp_parity_key_load(const char *path, unsigned char **key_r, size_t *len_r, char **error_r)
{
	unsigned char buf[MAX_KEY + 1];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		mxp_error_set(
			error_r,
			"%s (make one on one host: head -c 32 /dev/urandom > FILE; chown mxparity "
			"FILE; chmod 0400 FILE; then copy it to every MX host)",
			strerror(errno));
		return -1;
	}
	if (fd < 0) {
		mxp_error_set(error_r, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		mxp_error_set(error_r, "not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		mxp_error_set(error_r, "readable or writable by others (mode %04o): chmod o-rwx",
			      (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		mxp_error_set(error_r, "%s", strerror(errno));
		return -1;
	}
	if (n < MXP_PARITY_KEY_MIN || n > MAX_KEY) {
		mxp_error_set(error_r,
			      "%zd bytes; a key must have %d to %d (e.g. head -c 32 /dev/urandom)",
			      n, MXP_PARITY_KEY_MIN, MAX_KEY);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	*key_r = g_memdup2(buf, (gsize)n);
	*len_r = (size_t)n;
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

void
mxp_parity_key_id(const unsigned char *key, size_t len, char *kid)
{
	static const char label[] = "mxparity key id";

	mxp_hmac_sha256_hex(key, len, label, sizeof(label) - 1, MXP_PARITY_KID_LEN / 2, kid);
}

void
mxp_parity_key_free(unsigned char *key, size_t len)
{
	if (key == NULL)
		return;
	OPENSSL_cleanse(key, len);
	g_free(key);
}
