/* SPDX-License-Identifier: Apache-2.0
 * kip's own version (from CMake's project version and `git describe` at configure time) and the
 * versions of the libraries the running binary is linked with, read from each library at run time. */
#include "kip/version.h"

#include <civetweb.h>
#include <curl/curl.h>
#include <libssh/libssh.h>
#include <lua.h>
#include <openssl/crypto.h>
#include <yaml.h>

#ifndef KIP_VERSION
#define KIP_VERSION "0.0.0"
#endif
#ifndef KIP_GIT_DESCRIBE
#define KIP_GIT_DESCRIBE ""
#endif

const char *kip_version(void) { return KIP_VERSION; }
const char *kip_git_describe(void) { return KIP_GIT_DESCRIBE; }

size_t kip_library_versions(struct kip_library_version *out, size_t max)
{
	const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
	const struct kip_library_version all[] = {
		/* liblua has no run-time version string; LUA_RELEASE is the header of the library linked */
		{"Lua", &LUA_RELEASE[4]}, /* "Lua 5.4.4" */
		{"libssh", ssh_version(0)},
		{"libcurl", curl ? curl->version : "unknown"},
		{"OpenSSL", OpenSSL_version(OPENSSL_VERSION_STRING)},
		{"civetweb", mg_version()},
		{"libyaml", yaml_get_version_string()},
	};
	size_t n = sizeof all / sizeof all[0];
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = all[i];
	return n;
}
