# SPDX-License-Identifier: BSD-2-Clause
# ngx_http_webhook_module: build, run and test.  See README.md.
SHELL      := /bin/bash
NGX_SRC    ?= /usr/share/nginx/src
NGINX      ?= /usr/sbin/nginx
BUILD      := build
CC         ?= cc
CFLAGS     ?= -O2 -g
WFLAGS     := -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
              -Wno-missing-field-initializers
CPPFLAGS   := -Isrc/core -Isrc
LIBS       := -ljansson -lcrypto -lpcre2-8 -lm

CORE_SRC   := $(sort $(wildcard src/core/*.c))
CORE_OBJ   := $(CORE_SRC:src/core/%.c=$(BUILD)/core/%.o)
CORE_LIB   := $(BUILD)/libwh.a
UNIT_SRC   := $(sort $(wildcard t/unit/test_*.c))
UNIT_BIN   := $(UNIT_SRC:t/unit/%.c=$(BUILD)/unit/%)
WORKER_SRC := $(filter-out src/worker/webhookctl.c src/worker/wk_test.c, \
                  $(sort $(wildcard src/worker/*.c)))
WKCTL_SRC  := $(wildcard src/worker/webhookctl.c src/worker/wk_redis.c \
                          src/worker/wk_util.c src/worker/wk_test.c)
MODULE_SRC := ngx_http_webhook_module.c $(wildcard src/ngx_http_webhook_*.c) \
              $(wildcard src/*.h) $(wildcard src/core/*.[ch])
MODULE     := $(BUILD)/nginx/ngx_http_webhook_module.so

.PHONY: all setup module unit worker test run run-ha clean

all: setup module unit worker

setup:
	@tools/setup

# The module is compiled as Debian compiles its own nginx module packages
# (dh-nginx's nginx_mod build system): with dpkg-buildflags, that is -O2
# and hardening (-O2 -g without dpkg-dev).  nginx's configure alone would
# use -O.  Read when configuring, after tools/setup has installed dpkg-dev.
NGX_FLAGS  := dpkg-buildflags --get
NGX_CC_OPT := cc_opt="$$($(NGX_FLAGS) CFLAGS 2>/dev/null) \
                      $$($(NGX_FLAGS) CPPFLAGS 2>/dev/null)"; \
              case "$$cc_opt" in *-O*) ;; *) cc_opt="$$cc_opt -O2 -g" ;; esac; \
              ld_opt="$$($(NGX_FLAGS) LDFLAGS 2>/dev/null)"

# The nginx build directory is configured again when the addon, this
# file or the list of sources changes (config globs the source files).
$(BUILD)/nginx/Makefile: config Makefile $(MODULE_SRC)
	@mkdir -p $(BUILD)
	@ls $(MODULE_SRC) > $(BUILD)/.srcs.new
	@if ! cmp -s $(BUILD)/.srcs.new $(BUILD)/.srcs \
	      || [ ! -f $@ ] || [ config -nt $@ ] || [ Makefile -nt $@ ]; then \
	    echo "configuring nginx in $(BUILD)/nginx"; \
	    $(NGX_CC_OPT); \
	    cd $(NGX_SRC) && . ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt="$$(echo $$cc_opt) -fPIC" \
	        --with-ld-opt="$$(echo $$ld_opt) -fPIC" \
	        --add-dynamic-module=$(CURDIR) \
	        --builddir=$(CURDIR)/$(BUILD)/nginx >$(CURDIR)/$(BUILD)/configure.log \
	    || { tail -20 $(CURDIR)/$(BUILD)/configure.log; exit 1; }; \
	    mv $(CURDIR)/$(BUILD)/.srcs.new $(CURDIR)/$(BUILD)/.srcs; \
	fi

module: $(BUILD)/nginx/Makefile
	@$(MAKE) -s -f $(CURDIR)/$(BUILD)/nginx/Makefile -C $(NGX_SRC) modules

$(BUILD)/core/%.o: src/core/%.c $(wildcard src/core/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WFLAGS) -fPIC $(CPPFLAGS) -c -o $@ $<

$(CORE_LIB): $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

# V8 for the script node, from Debian's libnode: the system's when
# libnode-dev is installed, else the copy tools/setup unpacked into
# build/libnode (README: JavaScript engine), found at run time by an rpath.
# The one C++ file, wk_v8.cc, is built as libnode is: C++17, no RTTI.
CXX        ?= c++
MULTIARCH  := $(shell $(CC) -print-multiarch 2>/dev/null)
V8_SYSLIB  := $(wildcard /usr/lib/$(MULTIARCH)/libnode.so)
ifeq ($(V8_SYSLIB),)
LIBNODE    := $(CURDIR)/build/libnode
V8_LIBDIR  := $(LIBNODE)/usr/lib/$(MULTIARCH)
V8_CPPFLAGS := -I$(LIBNODE)/usr/include/node
V8_LIBS    := -L$(V8_LIBDIR) -Wl,-rpath,$(V8_LIBDIR) -lnode -lstdc++ -lpthread
else
V8_CPPFLAGS := -I/usr/include/node
V8_LIBS    := -lnode -lstdc++ -lpthread
endif
V8_OBJ     := $(BUILD)/worker/wk_v8.o

$(V8_OBJ): src/worker/wk_v8.cc src/worker/wk_v8.h Makefile
	@mkdir -p $(@D)
	$(CXX) $(CFLAGS) -std=gnu++17 -fno-rtti -Wall -Wextra \
	    -Wno-unused-parameter $(V8_CPPFLAGS) -c -o $@ $<

# The script node's test runs the worker's wk_script.c and the engine.
$(BUILD)/unit/test_script: t/unit/test_script.c src/worker/wk_script.c \
                           src/worker/wk_script.h $(V8_OBJ) $(CORE_LIB) \
                           t/unit/wh_test.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WFLAGS) $(CPPFLAGS) -Isrc/worker -It/unit -o $@ $< \
	    src/worker/wk_script.c $(V8_OBJ) $(CORE_LIB) $(V8_LIBS) $(LIBS)

# The worker helpers' test includes wk_util.c and wk_redis.c.
$(BUILD)/unit/test_wk: t/unit/test_wk.c src/worker/wk_util.c \
                       src/worker/wk_redis.c $(wildcard src/worker/*.h) \
                       $(CORE_LIB) t/unit/wh_test.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WFLAGS) $(CPPFLAGS) -It/unit -o $@ $< $(CORE_LIB) \
	    -lhiredis $(LIBS)

# The address policy's test includes the worker's wk_net.c.
$(BUILD)/unit/test_net: t/unit/test_net.c src/worker/wk_net.c \
                        src/worker/wk_net.h t/unit/wh_test.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WFLAGS) $(CPPFLAGS) -It/unit -o $@ $<

# The JSON tests again over the 8-byte string scan that machines without
# SSE2 use (wh_json.c compiled first, so the library's copy is not linked).
UNIT_BIN += $(BUILD)/unit/test_json_swar
$(BUILD)/unit/test_json_swar: t/unit/test_json.c src/core/wh_json.c \
                              $(CORE_LIB) t/unit/wh_test.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WFLAGS) $(CPPFLAGS) -DWH_JSON_NO_SSE2 -It/unit -o $@ \
	    $< src/core/wh_json.c $(CORE_LIB) $(LIBS)

$(BUILD)/unit/%: t/unit/%.c $(CORE_LIB) t/unit/wh_test.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WFLAGS) $(CPPFLAGS) -It/unit -o $@ $< $(CORE_LIB) $(LIBS)

unit: $(UNIT_BIN)

WORKER_LIBS := -lhiredis -lcurl $(V8_LIBS) $(LIBS)

$(BUILD)/webhook-worker: $(WORKER_SRC) $(wildcard src/worker/*.h) $(V8_OBJ) \
                         $(CORE_LIB)
	@if [ -n "$(WORKER_SRC)" ]; then \
	    echo "$(CC) … -o $@"; \
	    $(CC) $(CFLAGS) $(WFLAGS) $(CPPFLAGS) -Isrc/worker -o $@ \
	        $(filter %.c,$^) $(V8_OBJ) $(CORE_LIB) $(WORKER_LIBS); \
	fi

$(BUILD)/webhookctl: $(WKCTL_SRC) $(wildcard src/worker/*.h) $(CORE_LIB)
	@if [ -n "$(WKCTL_SRC)" ]; then \
	    echo "$(CC) … -o $@"; \
	    $(CC) $(CFLAGS) $(WFLAGS) $(CPPFLAGS) -Isrc/worker -o $@ \
	        $(filter %.c,$^) $(CORE_LIB) -lhiredis $(LIBS); \
	fi

worker: $(BUILD)/webhook-worker $(BUILD)/webhookctl

# The build matrix (tools/nginx-matrix): the module against nginx.org's
# stable and mainline trees, dynamic and static, beside Debian's 1.22
# above; skipped, saying so, when the trees are not in NGX_SHARED.
NGX_SHARED ?= $(CURDIR)/../shared/nginx
.PHONY: matrix
matrix:
	@NGX_SHARED=$(NGX_SHARED) tools/nginx-matrix

# t/run-tests runs every part, the fuzz smoke (t/integration/fuzz-smoke.sh)
# among them, t/*.t once more against the static mainline build of the
# matrix, and ends with the "N passed, N failed" line.
test: all matrix
	@tools/embed-viewer --check || { echo "src/ngx_http_webhook_viewer.c" \
	    "is older than src/viewer.html: run tools/embed-viewer"; exit 1; }
	@t/run-tests

run: all
	@tools/run

# primary, replicas, three Sentinels, workers and nginx for a failover by
# hand (README: High availability)
run-ha: all
	@tools/run-ha

clean:
	rm -rf $(BUILD) t/servroot*

# Side-by-side benchmark (bench/README.md); installs its peers first.
.PHONY: bench
bench: all
	@bench/setup
	@bench/run

# Debian packages libnginx-mod-http-webhook and webhook-worker in build/deb/,
# built out of tree by dpkg-buildpackage (README: Install as a Debian package).
.PHONY: deb
deb:
	@tools/deb

# libFuzzer targets fuzz/fuzz_*.c (tools/fuzz): each runs FUZZ_SECONDS from
# its seeds in fuzz/corpus/NAME/, FUZZ_JOBS targets at a time; any crash
# fails.  fuzz-smoke: 10 s each (make test runs the same through
# t/integration/fuzz-smoke.sh).
FUZZ_SECONDS ?= 600
.PHONY: fuzz fuzz-smoke
fuzz:
	@tools/fuzz run $(FUZZ_SECONDS)

fuzz-smoke:
	@if tools/fuzz check; then \
	    echo "=== fuzz smoke"; tools/fuzz run 10; \
	else \
	    echo "=== fuzz smoke: skipped, clang cannot link libFuzzer" \
	         "(clang, libclang-rt-14-dev)"; \
	fi

# t/*.t against the module built with ASan and UBSan (tools/test-asan).
ASAN_DIR   := $(BUILD)/nginx-asan
ASAN_FLAGS := -fsanitize=address,undefined
.PHONY: module-asan test-asan

$(ASAN_DIR)/Makefile: config $(MODULE_SRC)
	@mkdir -p $(ASAN_DIR)
	@ls $(MODULE_SRC) > $(ASAN_DIR)/.srcs.new
	@if ! cmp -s $(ASAN_DIR)/.srcs.new $(ASAN_DIR)/.srcs \
	      || [ ! -f $@ ] || [ config -nt $@ ]; then \
	    echo "configuring nginx in $(ASAN_DIR)"; \
	    cd $(NGX_SRC) && . ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt='$(ASAN_FLAGS) -fno-omit-frame-pointer' \
	        --with-ld-opt='$(ASAN_FLAGS)' \
	        --add-dynamic-module=$(CURDIR) \
	        --builddir=$(CURDIR)/$(ASAN_DIR) \
	        >$(CURDIR)/$(ASAN_DIR)/configure.log \
	    || { tail -20 $(CURDIR)/$(ASAN_DIR)/configure.log; exit 1; }; \
	    mv $(CURDIR)/$(ASAN_DIR)/.srcs.new $(CURDIR)/$(ASAN_DIR)/.srcs; \
	fi

module-asan: $(ASAN_DIR)/Makefile
	@$(MAKE) -s -f $(CURDIR)/$(ASAN_DIR)/Makefile -C $(NGX_SRC) modules

test-asan: all module-asan
	@tools/test-asan
