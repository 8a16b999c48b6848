/*
 * modreg.c - loading filter modules with dlopen and checking their ABI.
 *
 * Only the startup and reload path (one thread) touches the registry;
 * message threads hold module pointers through their policy snapshot.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "util/log.h"
#include "policy/modreg.h"
#include "policy/modcfg.h"
#include "util/error.h"
#include "util/finding.h"

static GPtrArray *registry;
static char *registry_dir;
static const struct mxp_host *registry_host;

/* mxp_modreg_set_host - the services modules get at init; the program sets them once */
void
mxp_modreg_set_host(const struct mxp_host *host)
{
	registry_host = host;
}

/* mxp_modreg_host - what mxp_modreg_set_host set */
const struct mxp_host *
mxp_modreg_host(void)
{
	return registry_host;
}

/* registry_add - append an entry; takes ownership of the strings */
static struct mxp_modreg_entry *
registry_add(char *name, char *path, const struct mxp_module *mod, char *error)
{
	struct mxp_modreg_entry *e = g_new0(struct mxp_modreg_entry, 1);

	if (registry == NULL)
		registry = g_ptr_array_new();
	e->name = name;
	e->path = path;
	e->mod = mod;
	e->error = error;
	g_ptr_array_add(registry, e);
	return e;
}

/* mxp_modreg_check - whether a module struct is usable, and if not why */
int
mxp_modreg_check(const struct mxp_module *mod, const char *expected_name, char **error_r)
{
	/* abi_major is the first member in every ABI, so an old module's version reads right. */
	if (mod->abi_major != MXP_MODULE_ABI_MAJOR) {
		mxp_error_set(error_r,
			      "module built for ABI %u, this mxparity has ABI %u.%u: rebuild it "
			      "against this version's <mxparity/module.h>",
			      mod->abi_major, MXP_MODULE_ABI_MAJOR, MXP_MODULE_ABI_MINOR);
		return -1;
	}
	if (mod->abi_minor > MXP_MODULE_ABI_MINOR) {
		mxp_error_set(
			error_r,
			"module built for ABI %u.%u, newer than this mxparity's %u.%u: upgrade "
			"mxparity or rebuild the module",
			mod->abi_major, mod->abi_minor, MXP_MODULE_ABI_MAJOR, MXP_MODULE_ABI_MINOR);
		return -1;
	}
	if (mod->name == NULL || mod->init == NULL || mod->destroy == NULL) {
		mxp_error_set(error_r, "module struct lacks name, init or destroy");
		return -1;
	}
	if (!mxp_finding_key_ok(mod->name)) {
		mxp_error_set(error_r, "module name must be 1 to 32 of a-z, 0-9, '_' and '-'");
		return -1;
	}
	if (expected_name != NULL && strcmp(mod->name, expected_name) != 0) {
		mxp_error_set(error_r, "module calls itself '%s' but its file is named '%s'",
			      mod->name, expected_name);
		return -1;
	}
	for (const struct mxp_option *o = mod->options; o != NULL && o->name != NULL; o++) {
		if (mxp_modcfg_core_option(o->name) != NULL) {
			mxp_error_set(error_r, "module declares option %s, which the core owns",
				      o->name);
			return -1;
		}
		if (o->type == MXP_OPT_CHOICE && o->choices == NULL) {
			mxp_error_set(error_r, "option %s is a choice without choices", o->name);
			return -1;
		}
	}
	return 0;
}

/* load_one - dlopen path and record the outcome under name */
static void
load_one(const char *dir, const char *file)
{
	char *name = g_strndup(file, strlen(file) - 3);
	char *path = g_build_filename(dir, file, NULL);
	const struct mxp_module **entry;
	char *why = NULL;
	void *handle;

	if (mxp_modreg_find(name) != NULL) {
		g_free(name);
		g_free(path);
		return;
	}
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		registry_add(name, path, NULL, g_strdup(dlerror()));
		return;
	}
	entry = (const struct mxp_module **)dlsym(handle, MXP_MODULE_SYMBOL);
	if (entry == NULL || *entry == NULL) {
		registry_add(name, path, NULL,
			     g_strdup_printf("%s does not export %s", path, MXP_MODULE_SYMBOL));
		dlclose(handle);
		return;
	}
	if (mxp_modreg_check(*entry, name, &why) < 0) {
		registry_add(name, path, NULL, g_strdup_printf("%s: %s", path, why));
		g_free(why);
		dlclose(handle);
		return;
	}
	/* The handle stays open for the life of the process on purpose. */
	registry_add(name, path, *entry, NULL);
}

/* mxp_modreg_load_dir - every *.so in dir, sorted for stable order */
int
mxp_modreg_load_dir(const char *dir, char **error_r)
{
	struct dirent **names = NULL;
	int n;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		mxp_error_set(error_r, "cannot read module directory %s: %s", dir, strerror(errno));
		return -1;
	}
	g_free(registry_dir);
	registry_dir = g_strdup(dir);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);

		if (len > 3 && strcmp(names[i]->d_name + len - 3, ".so") == 0 &&
		    names[i]->d_name[0] != '.')
			load_one(dir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return 0;
}

/* mxp_modreg_add_builtin - a module linked into the program (the fuzz targets) */
int
mxp_modreg_add_builtin(const struct mxp_module *mod, char **error_r)
{
	if (mxp_modreg_check(mod, NULL, error_r) < 0)
		return -1;
	if (mxp_modreg_find(mod->name) != NULL) {
		mxp_error_set(error_r, "module %s is already registered", mod->name);
		return -1;
	}
	registry_add(g_strdup(mod->name), NULL, mod, NULL);
	return 0;
}

/* mxp_modreg_find - linear: a handful of modules */
const struct mxp_modreg_entry *
mxp_modreg_find(const char *name)
{
	for (size_t i = 0; registry != NULL && i < registry->len; i++) {
		const struct mxp_modreg_entry *e = g_ptr_array_index(registry, i);
		if (strcmp(e->name, name) == 0)
			return e;
	}
	return NULL;
}

size_t
mxp_modreg_count(void)
{
	return registry == NULL ? 0 : registry->len;
}

const struct mxp_modreg_entry *
mxp_modreg_at(size_t i)
{
	return g_ptr_array_index(registry, i);
}

const char *
mxp_modreg_dir(void)
{
	return registry_dir != NULL ? registry_dir : "(none)";
}
