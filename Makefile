# SPDX-License-Identifier: Apache-2.0
# A thin front for CMake. `make` builds into build/; `make check` installs missing build
# dependencies (Debian/Ubuntu), builds and runs every test through ctest; SANITIZE=1 does the same
# with AddressSanitizer and UndefinedBehaviorSanitizer in build-sanitize/.
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD ?= build-sanitize
CMAKE_FLAGS += -DSANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
else
BUILD ?= build
endif
# clang builds the libFuzzer targets; without it the build still works and says the fuzz tests are off.
CC ?= cc
ifeq ($(origin CC),default)
CC := $(shell command -v clang >/dev/null 2>&1 && echo clang || echo cc)
endif
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 20

.PHONY: all build check deps install clean bench sandbox
all: build

$(BUILD)/CMakeCache.txt:
	CC=$(CC) cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DKIP_FUZZ_SECONDS=$(FUZZ_SECONDS) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@sh scripts/deps.sh

check: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	bash bench/run.sh

# the local sandbox: API, kipperd serving the console, and the gateway; Ctrl-C stops it
sandbox: deps
	$(MAKE) build
	$(BUILD)/bin/kip sandbox up

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf build build-sanitize
