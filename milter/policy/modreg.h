/*
 * modreg.h - the process-wide registry of filter modules.
 *
 * Modules are loaded once from the module directory and stay loaded for
 * the life of the process; policy snapshots refer to them by pointer.
 */
#ifndef MXP_MODREG_H
#define MXP_MODREG_H

#include <stddef.h>

#include <mxparity/module.h>

struct mxp_modreg_entry {
	char *name;
	char *path;		      /* NULL for built-in test modules */
	const struct mxp_module *mod; /* NULL when loading failed */
	char *error;		      /* why loading failed */
};

/* mxp_modreg_load_dir - dlopen every *.so in dir not loaded yet */
int mxp_modreg_load_dir(const char *dir, char **error_r);
/* mxp_modreg_add_builtin - register a module linked into the program; -1 with error_r */
int mxp_modreg_add_builtin(const struct mxp_module *mod, char **error_r);
/* mxp_modreg_set_host - the host services modules get at init (the program wires them) */
void mxp_modreg_set_host(const struct mxp_host *host);
/* mxp_modreg_host - the host services set by mxp_modreg_set_host */
const struct mxp_host *mxp_modreg_host(void);
/* mxp_modreg_find - the entry named name, or NULL */
const struct mxp_modreg_entry *mxp_modreg_find(const char *name);
size_t mxp_modreg_count(void);
const struct mxp_modreg_entry *mxp_modreg_at(size_t i);
/* mxp_modreg_dir - the directory modules were loaded from */
const char *mxp_modreg_dir(void);
/* mxp_modreg_check - 0 when a module struct is usable, else -1 with error_r */
int mxp_modreg_check(const struct mxp_module *mod, const char *expected_name, char **error_r);

#endif
