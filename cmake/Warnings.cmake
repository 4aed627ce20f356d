# SPDX-License-Identifier: Apache-2.0
# Compiler warnings for the project's own C code (not applied to third-party headers).
set(KIP_WARNINGS -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wformat=2 -Wno-unused-parameter -Wvla -Wpointer-arith -Wcast-qual)
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  list(APPEND KIP_WARNINGS -Wno-gnu-zero-variadic-macro-arguments)
endif()
