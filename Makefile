# Brain: build, run, test, bench, fmt, lint, clean.
#   make            release build of the six daemons (build/release/bin/)
#   make run        the whole suite on this machine (deploy/local/run.sh)
#   make test       unit tests, then end-to-end tests against real PostgreSQL and NATS
#   make logs       follow every daemon's log (SVC=svc-toast for one)
#   make bench      the benchmarks under tests/bench/
# BUILD=asan (or any name starting asan) builds with AddressSanitizer and
# UndefinedBehaviorSanitizer (make test does); other names build like release.

BUILD   ?= release
B       := build/$(BUILD)
CC      ?= gcc
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0)
PYTHON  := /usr/bin/python3

DAEMONS := gateway svc-automation svc-intelligence svc-toast svc-embedding svc-sync

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wimplicit-fallthrough
CFLAGS_BASE := -std=gnu11 $(WARN) -D_GNU_SOURCE -Icommon/include -I/usr/include/postgresql -MMD -MP \
           -DBRAIN_VERSION=\"$(VERSION)\"
ifneq ($(filter asan%,$(BUILD)),)
CFLAGS_MODE := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
           -fno-sanitize-recover=undefined
LDFLAGS_MODE := -fsanitize=address,undefined
else
CFLAGS_MODE := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
LDFLAGS_MODE := -pie -Wl,-z,relro,-z,now
endif
CFLAGS  += $(CFLAGS_BASE) $(CFLAGS_MODE)
LDFLAGS += $(LDFLAGS_MODE)
LDLIBS  := -lcivetweb -lnats -lpq -ljson-c -lcurl -lssl -lcrypto -lpthread -lm
# A daemon may link fewer: the gateway speaks HTTP to its upstreams itself
# (gateway/src/upclient.c), so it does without libcurl (its tests do not).
gateway_LDLIBS := $(filter-out -lcurl,$(LDLIBS))

COMMON_SRC := $(wildcard common/src/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/obj/%.o)
COMMON_LIB := $(B)/lib/libbrain.a
EMBED      := $(B)/tools/embed_sql

BINS := $(DAEMONS:%=$(B)/bin/%)

# Stand-ins for what the tests cannot run for real, written in C on common/
# (tests/fakes/<name>/*.c becomes build/<B>/bin/<name>; Python fakes need no build).
FAKES := $(patsubst tests/fakes/%/,%,$(sort $(dir $(wildcard tests/fakes/*/*.c))))
FAKE_BINS := $(FAKES:%=$(B)/bin/%)

# Unit tests: tests/unit/common/test_<module>.c links the common library;
# tests/unit/<daemon>/test_<x>.c also links that daemon's objects but main.o.
UNIT_SRC  := $(wildcard tests/unit/*/test_*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
# Helpers shared by unit tests (HTTP client, servers for tests): linked into each.
TESTLIB_SRC := $(wildcard tests/unit/support/*.c)
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(B)/obj/%.o)
.SECONDARY: $(TESTLIB_OBJ)

.PHONY: all run test unit unit-bins e2e logs fmt lint bench bench-jobs bench-jobs-cpu bench-gateway bench-toast \
        clean deps swagger-ui
.DEFAULT_GOAL := all

# DOCS_UI= leaves Swagger UI out (the Docker build fetches it in its own stage).
DOCS_UI ?= swagger-ui
all: $(BINS) $(FAKE_BINS) $(DOCS_UI)

# Swagger UI for the gateway's /docs: the npm package swagger-ui-dist at a
# pinned version, fetched with `npm pack` (no install scripts, no
# dependencies), checked against its SHA-512 and unpacked into build/swagger-ui
# (DOCS_DIR's default), shared by every build. Without npm or its registry the
# build goes on, says so, and /docs answers 503; `make swagger-ui` tries again.
SWAGGER_UI_VERSION := 5.35.0
SWAGGER_UI_SHA512  := 534eaba4cb56f55dd73c638179a993512af4674f63317e0826e00da44fc465b021c341bc0a0c2bcd4e18997927fe1d3008336c5dd19aad334d1c2dec53cc9551
SWAGGER_UI         := build/swagger-ui
SWAGGER_UI_TGZ     := swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz

swagger-ui:
	@[ -f $(SWAGGER_UI)/.$(SWAGGER_UI_TGZ) ] || { \
	  mkdir -p build && tmp=$$(mktemp -d build/.swagger-ui-XXXXXX) && \
	  if npm pack --silent --fetch-retries=1 --pack-destination "$$tmp" \
	       swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null 2>&1 \
	     && echo "$(SWAGGER_UI_SHA512)  $$tmp/$(SWAGGER_UI_TGZ)" | sha512sum -c --quiet - \
	     && mkdir "$$tmp/pkg" \
	     && tar -xzf "$$tmp/$(SWAGGER_UI_TGZ)" -C "$$tmp/pkg" --strip-components=1 --no-same-owner \
	     && touch "$$tmp/pkg/.$(SWAGGER_UI_TGZ)"; then \
	    rm -rf $(SWAGGER_UI) && mv "$$tmp/pkg" $(SWAGGER_UI) \
	      && echo "swagger-ui: swagger-ui-dist $(SWAGGER_UI_VERSION) is in $(SWAGGER_UI)"; \
	  else \
	    echo "swagger-ui: could not fetch swagger-ui-dist@$(SWAGGER_UI_VERSION) with npm;" \
	      "the gateway's /docs answers 503 until 'make swagger-ui' succeeds" >&2; \
	  fi; rm -rf "$$tmp"; }

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(COMMON_LIB): $(COMMON_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(EMBED): common/tools/embed_sql.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# One rule set per daemon: its sources, its embedded migrations, its binary.
define DAEMON_RULES
$(1)_SRC := $$(wildcard $(1)/src/*.c)
$(1)_OBJ := $$($(1)_SRC:%.c=$(B)/obj/%.o)
$(1)_MIG := $$(sort $$(wildcard $(1)/migrations/*.sql))
$(B)/gen/$(1)/migrations.c: $$($(1)_MIG) $(EMBED)
	@mkdir -p $$(@D)
	$(EMBED) $$@ $$($(1)_MIG)
$(B)/bin/$(1): $$($(1)_OBJ) $(B)/obj/gen/$(1)/migrations.o $(COMMON_LIB)
	@mkdir -p $$(@D)
	$(CC) $(LDFLAGS) -o $$@ $$^ $$(or $$($(1)_LDLIBS),$(LDLIBS))
$(B)/tests/$(1)/%: tests/unit/$(1)/%.c $$(filter-out %/main.o,$$($(1)_OBJ)) $(B)/obj/gen/$(1)/migrations.o $(TESTLIB_OBJ) $(COMMON_LIB)
	@mkdir -p $$(@D)
	$(CC) $(CFLAGS) -I$(1)/src -Itests/unit/support $(LDFLAGS) -o $$@ $$(filter %.c %.o %.a,$$^) $(LDLIBS) -lcmocka
endef
$(foreach d,$(DAEMONS),$(eval $(call DAEMON_RULES,$(d))))

define FAKE_RULES
$(B)/bin/$(1): $$(patsubst %.c,$(B)/obj/%.o,$$(wildcard tests/fakes/$(1)/*.c)) $(COMMON_LIB)
	@mkdir -p $$(@D)
	$(CC) $(LDFLAGS) -o $$@ $$^ $(LDLIBS)
endef
$(foreach f,$(FAKES),$(eval $(call FAKE_RULES,$(f))))

$(B)/obj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/tests/common/%: tests/unit/common/%.c $(TESTLIB_OBJ) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit/support $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS) -lcmocka

deps:
	@deploy/local/deps.sh

run: deps
	@$(MAKE) --no-print-directory BUILD=release all
	@deploy/local/run.sh

# The test build uses the sanitizers. Pure unit tests run first; the end-to-end
# suite (tests/e2e/conftest.py) then starts a throw-away PostgreSQL and NATS on
# free ports plus the six daemons, runs the unit tests that need those servers,
# and tears everything down.
test: deps
	@$(MAKE) --no-print-directory BUILD=asan all unit-bins
	@$(MAKE) --no-print-directory BUILD=asan unit
	@$(MAKE) --no-print-directory BUILD=asan e2e

unit-bins: $(UNIT_BINS)

unit: $(UNIT_BINS)
	@tests/run_unit.sh $(UNIT_BINS)

e2e: all unit-bins
	BRAIN_BUILD=$(B) $(PYTHON) -m pytest -q tests/e2e $(PYTEST_ARGS)

logs:
	@deploy/local/logs.sh $(SVC)

bench:
	@$(MAKE) --no-print-directory BUILD=release all
	@tests/bench/run.sh

bench-jobs:
	@$(MAKE) --no-print-directory BUILD=release all
	@BRAIN_BUILD=build/release $(PYTHON) -B tests/bench/jobs.py

# What one job costs in CPU, per process (tests/bench/jobs_cpu.py).
bench-jobs-cpu:
	@$(MAKE) --no-print-directory BUILD=release all
	@BRAIN_BUILD=build/release $(PYTHON) -B tests/bench/jobs_cpu.py

# The gateway against nginx in front of the same upstream (tests/bench/gateway.py).
BENCH_BUILD ?= release
bench-gateway:
	@$(MAKE) --no-print-directory BUILD=$(BENCH_BUILD) all
	@BRAIN_BUILD=build/$(BENCH_BUILD) $(PYTHON) -B tests/bench/gateway.py

# svc-toast's menus (issue 5): sync and compare of a 5,000-item menu through the
# suite (tests/bench/toast.py), and the compare's domain part alone in C
# (tests/bench/toast_diff.c on svc-toast/src/menu*.c but the job, menu_sync.c).
TOAST_DIFF_OBJ := $(filter-out %/menu_sync.o,$(patsubst %.c,$(B)/obj/%.o,$(wildcard svc-toast/src/menu*.c)))
$(B)/bench/toast_diff: tests/bench/toast_diff.c $(TOAST_DIFF_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Isvc-toast/src $(LDFLAGS) -o $@ $(filter %.c %.o,$^) -ljson-c -lcrypto -lm

bench-toast:
	@$(MAKE) --no-print-directory BUILD=$(BENCH_BUILD) all build/$(BENCH_BUILD)/bench/toast_diff
	@BRAIN_BUILD=build/$(BENCH_BUILD) $(PYTHON) -B tests/bench/toast.py

fmt:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	@clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	  --std=c11 --inline-suppr --suppress=missingIncludeSystem -Icommon/include \
	  -D__GNUC__ -Itests/unit/support common/src $(DAEMONS:%=%/src) tests/unit tests/fakes

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
