/* SPDX-License-Identifier: Apache-2.0
 * Version information for `kip version` and the daemons' /version: kip's own version and the
 * libraries linked at run time. Implemented in core/src/host/version.c. */
#pragma once

#include <stddef.h>

struct kip_library_version {
	const char *name;     /* "Lua", "libssh", "libcurl", "OpenSSL", "civetweb", "libyaml" */
	const char *version;  /* static string owned by the library */
};

/** kip's release version, e.g. "0.1.0". Static. */
const char *kip_version(void);

/** `git describe` of the sources at configure time, "" when not built from git. Static. */
const char *kip_git_describe(void);

/** Fills up to max entries; returns how many libraries there are. */
size_t kip_library_versions(struct kip_library_version *out, size_t max);
