# SPDX-License-Identifier: MIT
# shopkeep - plain GNU make. `make` builds into build/; `make test` and `make demo`
# first install any missing Debian package (make deps). SAN=1 builds with
# AddressSanitizer + UBSan into build/san/.

# Debian packages the project needs to build and test.
PKGS := gcc libc6-dev make pkg-config libwebsockets-dev libsodium-dev libcjson-dev libqrencode-dev \
        libsqlite3-dev libmsgpuck-dev libssl-dev libpcre2-dev systemd \
        clang-14 libclang-rt-14-dev llvm-14
# (clang-14 only Recommends libclang-rt-14-dev, which holds libFuzzer and the
# sanitizer runtimes; llvm-14 has llvm-symbolizer for the fuzzers' reports.)

CC      ?= gcc
PKGLIBS := libwebsockets libsodium libcjson sqlite3
B       := build
CFLAGS  := -std=gnu11 -g -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wno-missing-field-initializers -Wno-format-truncation -fno-strict-aliasing -D_GNU_SOURCE -Icore -Idb -Itests
LDFLAGS :=
ifeq ($(SAN),1)
B       := build/san
# (gcc's "undefined" leaves out float-cast-overflow: a double outside the integer type it is converted to.)
CFLAGS  += -O1 -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined,float-cast-overflow
LDFLAGS += -fsanitize=address,undefined
export ASAN_OPTIONS  := detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGLIBS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGLIBS)) -lqrencode -lmsgpuck -lssl -lcrypto -ldl -lpthread -lm
# PCRE2 (autoreply's regex rules): only what holds autoreply links it.
PCRE2_CFLAGS = $(shell pkg-config --cflags libpcre2-8 2>/dev/null)
PCRE2_LIBS   = $(shell pkg-config --libs libpcre2-8 2>/dev/null || echo -lpcre2-8)

# Code shared by the bot, the simulator and the tests.
CORE_LIB_SRC := core/codec.c core/sign.c core/util.c core/backoff.c core/lwp.c core/config.c core/store.c core/store_outbox.c core/store_guard.c core/event.c core/loader.c core/host.c core/host_event.c core/host_timer.c core/host_send.c core/host_config.c core/host_db.c core/host_work.c core/host_net.c core/host_ctl.c core/host_secret.c core/log.c core/auth.c core/secret.c core/http.c core/feed.c
# The QR login (core/login.c, its mtop calls, core/qr.c) is tested against the simulator too.
CORE_LIB_SRC += core/mtop.c core/login.c core/qr.c
# The conversation store (core/convo.c): the unit tests use it on a store of their own.
CORE_LIB_SRC += core/convo.c
CORE_LIB_OBJ := $(CORE_LIB_SRC:%.c=$(B)/obj/%.o)
# The bot itself (main and the rest of core/).
CORE_SRC := $(filter-out $(CORE_LIB_SRC),$(wildcard core/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(B)/obj/%.o)
# The platform simulator: sim_main.c plus a library the tests link too.
SIM_LIB_SRC := $(filter-out tests/sim/sim_main.c,$(wildcard tests/sim/sim_*.c)) tests/sim/tclient.c tests/sim/tbot.c \
               tests/sim/thook.c \
               tests/fakehost/fakehost.c
SIM_LIB_OBJ := $(SIM_LIB_SRC:%.c=$(B)/obj/%.o)
TEST_SRC := $(wildcard tests/unit/test_*.c tests/sim/test_*.c tests/integration/test_*.c tests/fuzz/test_*.c)
TESTS    := $(addprefix $(B)/tests/,$(notdir $(TEST_SRC:.c=)))
PLUGINS  := $(patsubst plugins/%/,%,$(dir $(wildcard plugins/*/*.c)))
PLUGIN_SO := $(addprefix $(B)/plugins/,$(addsuffix .so,$(sort $(PLUGINS))))
# Deliberately broken (and one good) plugins for the loader and host tests.
TEST_PLUGINS := $(addprefix $(B)/tests/plugins/,$(addsuffix .so,$(sort $(notdir $(wildcard tests/plugins/*)))))
# How every plugin is built, in tree or out: the header is the whole ABI, so
# the core's include paths are left out (an in-tree plugin cannot reach a core header).
CORE_INCS := -Icore -Idb -Itests
PLUGIN_CFLAGS = $(filter-out $(CORE_INCS),$(CFLAGS)) -Iplugins -fPIC -shared -fvisibility=hidden
# The small examples (plugins/hello<x>/, plugins/README.md): built and tested, not installed.
EXAMPLE_SO := $(filter-out $(B)/plugins/hello.so,$(filter $(B)/plugins/hello%.so,$(PLUGIN_SO)))
PREFIX  ?= /usr/local
# The plugin ABI's version, from the header ("1.0"), for shopkeep-plugin.pc.
ABI_NUM = $(shell sed -n 's/^.define SK_ABI_$(1) \([0-9]*\).*/\1/p' plugins/plugin.h)
ABI_VERSION := $(call ABI_NUM,MAJOR).$(call ABI_NUM,MINOR)

# What the browser test needs (tests/integration/test_web_browser.c): Debian's
# Chromium, Node.js (any >= 18 on PATH, else Debian's) and playwright-core
# from the npm registry, pinned by tests/browser/package-lock.json; the Noto
# CJK fonts, so that screenshots draw Chinese (lib.mjs tofuCheck fails without).
BROWSER_PKGS := chromium fonts-noto-cjk

.PHONY: all deps browser-deps test demo screenshots clean bench bench-build check-valgrind install fuzz fuzz-build soak soak-build
# Keep the objects the test pattern rules chain through.
.SECONDARY:
all: $(B)/shopkeep $(B)/shopkeep-sim $(PLUGIN_SO) $(TEST_PLUGINS) $(TESTS)

# Installs missing packages (as root: apt-get update once, then install); a no-op when all are present.
deps:
	@missing=""; for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (or install:$$missing)" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

# Installs what the browser test needs; a no-op when all is there.
browser-deps: deps
	@missing=""; for p in $(BROWSER_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null && command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "make browser-deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make browser-deps: run as root (or install:$$missing)" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } || exit 1; \
	fi
	@[ -d tests/browser/node_modules/playwright-core ] || \
	  { echo "make browser-deps: npm ci in tests/browser"; cd tests/browser && npm ci --no-audit --no-fund --loglevel=error; }

$(B)/obj/%.o: %.c $(wildcard core/*.h db/*.h tests/*.h tests/unit/*.h tests/integration/*.h tests/sim/*.h tests/fakehost/*.h plugins/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(B)/libskcore.a: $(CORE_LIB_OBJ)
	@rm -f $@; ar rcs $@ $^

$(B)/libsim.a: $(SIM_LIB_OBJ)
	@rm -f $@; ar rcs $@ $^

$(B)/shopkeep: $(CORE_OBJ) $(B)/libskcore.a
	$(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS)

$(B)/shopkeep-sim: $(B)/obj/tests/sim/sim_main.o $(B)/libsim.a $(B)/libskcore.a
	$(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS)

# One pattern rule builds every plugin: the header is the whole ABI.
# The loader refuses a plugin or folder writable by group or others (a umask of 002).
$(B)/plugins/%.so: plugins/%/*.c plugins/plugin.h $(wildcard plugins/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) -Wl,-z,defs $(filter %.c,$^) -o $@ $(PLUGIN_LIBS)
	@chmod go-w $@ $(dir $@)
# A plugin's own libraries (set per target): autoreply and orders parse the rules file with cJSON.
$(B)/plugins/autoreply.so: PLUGIN_LIBS := -lcjson $(PCRE2_CFLAGS) $(PCRE2_LIBS)
$(B)/plugins/orders.so: PLUGIN_LIBS := -lcjson
$(B)/plugins/notify.so: PLUGIN_LIBS := -lcjson
$(B)/plugins/items.so: PLUGIN_LIBS := -lcjson
$(B)/plugins/agent.so: PLUGIN_LIBS := -lcjson -lm

# The test plugins, with the same flags.
$(B)/tests/plugins/%.so: tests/plugins/%/*.c plugins/plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) -Wl,-z,defs $(filter %.c,$^) -o $@ $(TEST_PLUGIN_LIBS)
	@chmod go-w $@ $(dir $@)
$(B)/tests/plugins/run_probe.so: TEST_PLUGIN_LIBS := -lcjson
# The agent's context (plugins/agent/agent_ctx.c) behind control commands, for test_agent_ctx.
$(B)/tests/plugins/agentctx.so: tests/plugins/agentctx/agentctx.c plugins/agent/agent_ctx.c plugins/agent/agent_int.h plugins/plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) -Wl,-z,defs $(filter %.c,$^) -o $@ -lcjson
	@chmod go-w $@ $(dir $@)
# Except this one: it calls a function nothing defines, so that dlopen fails,
# and -Wl,-z,defs would (rightly) refuse to link it.
$(B)/tests/plugins/missing_dep.so: tests/plugins/missing_dep/missing_dep.c plugins/plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) $(filter %.c,$^) -o $@
	@chmod go-w $@ $(dir $@)
# An LD_PRELOAD library that freezes the wall clock (tests/sim/fakeclock.c),
# built without sanitizers.
$(B)/tests/libfakeclock.so: tests/sim/fakeclock.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -fPIC -shared $< -o $@ -ldl
# The tests load them at run time: build them with the test programs.
$(TESTS): | $(TEST_PLUGINS) $(PLUGIN_SO) $(B)/tests/libfakeclock.so

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(B)/libsim.a $(B)/libskcore.a
	@mkdir -p $(dir $@); $(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS)
$(B)/tests/%: $(B)/obj/tests/sim/%.o $(B)/libsim.a $(B)/libskcore.a
	@mkdir -p $(dir $@); $(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS)
$(B)/tests/%: $(B)/obj/tests/integration/%.o $(B)/libsim.a $(B)/libskcore.a
	@mkdir -p $(dir $@); $(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS)
$(B)/tests/%: $(B)/obj/tests/fuzz/%.o $(B)/libsim.a $(B)/libskcore.a
	@mkdir -p $(dir $@); $(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS)
# The agent's guard is pure (no host call): its unit test links the plugin's source.
$(B)/obj/plugins/agent/agent_guard.o $(B)/obj/tests/unit/test_agent_guard.o: CFLAGS += -Iplugins
$(B)/obj/plugins/agent/agent_guard.o $(B)/obj/tests/unit/test_agent_guard.o: plugins/agent/agent_int.h
$(B)/tests/test_agent_guard: $(B)/obj/plugins/agent/agent_guard.o

# Fuzzing (README.md, "Fuzzing"): one libFuzzer target per tests/fuzz/fuzz_<name>.c,
# built with clang-14 into build/fuzz/ from its own objects of the core (and, for
# the rules target, of the autoreply and orders plugins, their descriptors renamed
# so that both link into one program). Always with ASan + UBSan, whatever SAN is.
# make test runs each briefly on its corpus (tests/fuzz/test_fuzz.c); make fuzz
# runs each for FUZZ_TIME seconds (FUZZ_TARGETS="payload api" for some only),
# adding what it finds to build/fuzz/corpus/<name>, crashes to build/fuzz/crashes/.
FUZZ_CC      := clang-14
FB           := build/fuzz
FUZZ_ALL     := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_TIME    ?= 300
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wno-missing-field-initializers \
                -fno-strict-aliasing -D_GNU_SOURCE -Icore -Idb -Itests -Iplugins \
                -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_OBJ := $(patsubst %.c,$(FB)/obj/%.o,$(filter-out core/main.c,$(wildcard core/*.c)))
FUZZ_BIN     := $(addprefix $(FB)/fuzz_,$(FUZZ_ALL))
FUZZ_RUN_ENV := ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer

$(FB)/obj/%.o: %.c $(wildcard core/*.h db/*.h tests/*.h plugins/*.h plugins/common/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -c $< -o $@
# The plugins' own descriptors, renamed (sk_plugin_entry_autoreply...): one
# object per file of the plugin's folder (stem "orders/orders_db").
$(FB)/obj/plugins/%.o: plugins/%.c plugins/plugin.h $(wildcard plugins/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(filter-out $(CORE_INCS),$(FUZZ_CFLAGS)) -fvisibility=hidden \
	  -Dsk_plugin_entry=sk_plugin_entry_$(firstword $(subst /, ,$*)) $(PKG_CFLAGS) $(PCRE2_CFLAGS) -c $< -o $@
$(FB)/libskcore.a: $(FUZZ_LIB_OBJ)
	@rm -f $@; ar rcs $@ $^
$(FB)/fuzz_rules: $(patsubst %.c,$(FB)/obj/%.o,$(wildcard plugins/autoreply/*.c plugins/orders/*.c))
$(FB)/fuzz_rules: FUZZ_LIBS := $(PCRE2_LIBS)
$(FB)/fuzz_agent_guard: $(FB)/obj/plugins/agent/agent_guard.o
# The control target loads the plugins as the bot does, instrumented too.
$(FB)/plugins/%.so: plugins/%/*.c plugins/plugin.h $(wildcard plugins/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(filter-out $(CORE_INCS),$(FUZZ_CFLAGS)) -fPIC -shared -fvisibility=hidden $(filter %.c,$^) -o $@ -lcjson $(FUZZ_LIBS)
	@chmod go-w $@ $(dir $@)
$(FB)/plugins/autoreply.so: FUZZ_LIBS := $(PCRE2_CFLAGS) $(PCRE2_LIBS)
$(FB)/fuzz_control: $(FB)/obj/tests/fakehost/fakehost.o | $(FB)/plugins/autoreply.so $(FB)/plugins/orders.so
$(FB)/fuzz_%: $(FB)/obj/tests/fuzz/fuzz_%.o $(FB)/libskcore.a
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $(filter %.o,$^) $(FB)/libskcore.a -o $@ $(PKG_LIBS) $(FUZZ_LIBS)
# The seed generator (simulator items and frames; an ordinary build).
$(B)/fuzz_gen: $(B)/obj/tests/fuzz/gen_corpus.o $(B)/libsim.a $(B)/libskcore.a
	$(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@failed=""; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FB)/corpus/$$t $(FB)/crashes; \
	  echo "make fuzz: $$t for $(FUZZ_TIME) s (log: $(FB)/fuzz_$$t.log)"; \
	  $(FUZZ_RUN_ENV) $(FB)/fuzz_$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
	    -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix=$(FB)/crashes/$$t- \
	    $$( [ -f tests/fuzz/$$t.dict ] && echo -dict=tests/fuzz/$$t.dict ) \
	    $(FB)/corpus/$$t tests/fuzz/corpus/$$t </dev/null >$(FB)/fuzz_$$t.log 2>&1 || failed="$$failed $$t"; \
	  grep -E '^#[0-9]+[[:space:]]+DONE|^stat::number_of_executed_units' $(FB)/fuzz_$$t.log | sed 's/^/  /'; \
	done; \
	if [ -n "$$failed" ]; then echo "make fuzz: found something in:$$failed (inputs in $(FB)/crashes/)"; exit 1; fi

# Tests find the binaries through SK_BUILD.
test: deps browser-deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory fuzz-build
	@SK_BUILD=$(CURDIR)/$(B) SK_ROOT=$(CURDIR) tests/run.sh $(B)/tests

# Every test program under valgrind memcheck (the bot and simulator they start run natively).
check-valgrind: deps
	@command -v valgrind >/dev/null || { apt-get install -y -qq valgrind >/dev/null; }
	@$(MAKE) --no-print-directory all
	@SK_BUILD=$(CURDIR)/$(B) SK_ROOT=$(CURDIR) SK_TEST_TIMEOUT=900 \
	  SK_TEST_WRAP="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99" \
	  tests/run.sh $(B)/tests

demo: deps
	@$(MAKE) --no-print-directory all
	@tests/sim/demo.sh $(B)

# The README's pictures: the demo's account in headless Chromium, each screen
# in Chinese at 1280 and 390 px into docs/*.png (tests/browser/screenshots.mjs).
screenshots: browser-deps
	@$(MAKE) --no-print-directory all
	@node tests/browser/screenshots.mjs $(B)

# make bench (README.md, "Benchmarks"): an optimized build without sanitizers
# (into $(B); build/bench when SAN=1 is given), then tests/bench/bench.c runs
# the bot against the simulator's load mode and prints one JSON line per
# figure. A few minutes; BENCH_QUICK=1 for a short run, BENCH_N=... and the
# other BENCH_* of bench.c to change one count.
BENCH_B = $(if $(filter 1,$(SAN)),build/bench,$(B))
bench: deps
	@$(MAKE) --no-print-directory SAN=0 B=$(BENCH_B) bench-build
	@SK_BUILD=$(CURDIR)/$(BENCH_B) SK_ROOT=$(CURDIR) $(BENCH_B)/bench/bench

bench-build: $(B)/shopkeep $(B)/shopkeep-sim $(PLUGIN_SO) $(B)/bench/bench

$(B)/bench/%: $(B)/obj/tests/bench/%.o $(B)/libsim.a $(B)/libskcore.a
	@mkdir -p $(dir $@); $(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS)

# make soak [SOAK_S=300] (README.md, "Soak"): tests/soak/soak.c runs one bot
# (dedup, autoreply, orders) against the simulator for SOAK_S seconds of
# traffic with a fault every few seconds and restarts, then checks replies,
# deliveries, stock, the outbox and RSS growth. Bounded: SOAK_S plus at most
# the catch-up time (SOAK_CATCHUP_S, 240) and a hard limit of SOAK_S + 900 s.
SOAK_S ?= 300
soak: deps
	@$(MAKE) --no-print-directory soak-build
	@SK_BUILD=$(CURDIR)/$(B) SK_ROOT=$(CURDIR) SOAK_S=$(SOAK_S) timeout -k 10 $$(( $(SOAK_S) + 900 )) $(B)/soak/soak

soak-build: $(B)/shopkeep $(B)/shopkeep-sim $(PLUGIN_SO) $(B)/soak/soak

$(B)/soak/%: $(B)/obj/tests/soak/%.o $(B)/libsim.a $(B)/libskcore.a
	@mkdir -p $(dir $@); $(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS)

# make install [PREFIX=/usr/local] [DESTDIR=] [SYSTEMDDIR=]: the bot, the plugin
# header, the plugins (not the hello<x> examples), a pkg-config file for building plugins out of tree, the
# web page's files, and the systemd template unit shopkeep@.service (its
# ExecStart names PREFIX's binary).
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
WEB_FILES := $(wildcard web/*.html web/*.css web/*.js)
install: $(B)/shopkeep $(PLUGIN_SO) plugins/plugin.h plugins/shopkeep-plugin.pc.in config/systemd/shopkeep@.service
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include/shopkeep \
	  $(DESTDIR)$(PREFIX)/lib/shopkeep/plugins $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/share/shopkeep/web $(DESTDIR)$(SYSTEMDDIR)
	install -m 755 $(B)/shopkeep $(DESTDIR)$(PREFIX)/bin/shopkeep
	install -m 644 plugins/plugin.h $(DESTDIR)$(PREFIX)/include/shopkeep/plugin.h
	$(if $(PLUGIN_SO),install -m 755 $(filter-out $(EXAMPLE_SO),$(PLUGIN_SO)) $(DESTDIR)$(PREFIX)/lib/shopkeep/plugins/)
	$(if $(WEB_FILES),install -m 644 $(WEB_FILES) $(DESTDIR)$(PREFIX)/share/shopkeep/web/)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(ABI_VERSION)|g' plugins/shopkeep-plugin.pc.in \
	  >$(DESTDIR)$(PREFIX)/lib/pkgconfig/shopkeep-plugin.pc
	sed -e 's|/usr/local/bin/shopkeep|$(PREFIX)/bin/shopkeep|g' config/systemd/shopkeep@.service \
	  >$(DESTDIR)$(SYSTEMDDIR)/shopkeep@.service
	chmod 644 $(DESTDIR)$(SYSTEMDDIR)/shopkeep@.service

clean:
	rm -rf build
