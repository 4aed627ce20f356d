# SPDX-License-Identifier: Apache-2.0
# Finds the Debian-packaged libraries the core links: Lua 5.4, libyaml, libssh, libcurl, OpenSSL,
# civetweb. `make check` installs any that are missing (scripts/deps.sh); here a missing one is an
# error naming the package to install.
find_package(PkgConfig REQUIRED)

function(kip_require_pkg var module package)
  pkg_check_modules(${var} IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "${module} not found: install the Debian package ${package} (or run `make check`, which installs it)")
  endif()
endfunction()

kip_require_pkg(LUA lua5.4 liblua5.4-dev)
kip_require_pkg(YAML yaml-0.1 libyaml-dev)
kip_require_pkg(LIBSSH libssh libssh-dev)
kip_require_pkg(CURL libcurl libcurl4-openssl-dev)
kip_require_pkg(OPENSSL openssl libssl-dev)

find_path(CIVETWEB_INCLUDE_DIR civetweb.h)
find_library(CIVETWEB_LIBRARY civetweb)
if(NOT CIVETWEB_INCLUDE_DIR OR NOT CIVETWEB_LIBRARY)
  message(FATAL_ERROR "civetweb not found: install the Debian package libcivetweb-dev (or run `make check`)")
endif()
add_library(kip_civetweb INTERFACE)
target_include_directories(kip_civetweb INTERFACE ${CIVETWEB_INCLUDE_DIR})
target_link_libraries(kip_civetweb INTERFACE ${CIVETWEB_LIBRARY})

set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)

find_program(BUSTED busted)
if(NOT BUSTED)
  message(FATAL_ERROR "busted not found: install the Debian package lua-busted (or run `make check`)")
endif()
