# parley: the only build file. Plain make + pkg-config; quiet unless V=1.
#   make            build build/parley, build/parleyd, build/noise-vectors
#   make check      install missing dependencies, build, run the whole suite
#   make asan       the whole suite under AddressSanitizer + UBSan (build-asan/)
#   make demo       install missing dependencies, build, run the scripted exercise
#   make bench      benchmarks (numbers, not pass/fail)

PKGS    = libsodium libevent jansson libcbor sqlite3
BUILD  ?= build
CC     ?= cc

WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
       -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wwrite-strings \
       -Wvla -Wformat=2 -Wimplicit-fallthrough -Wundef -Wconversion \
       -Wsign-conversion
ifeq ($(CI),true)
WARN += -Werror
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
OPT       ?= -O2 -g
SAN       ?=
ALL_CFLAGS = -std=c17 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(OPT) $(SAN) $(WARN) \
             -Isrc $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN) $(LDFLAGS)

ifeq ($(V),1)
Q =
else
Q = @
endif

LIB_SRC  = $(wildcard src/base/*.c src/crypto/*.c src/store/*.c src/link/*.c \
                      src/msg/*.c src/nego/*.c src/ctl/*.c src/cli/*.c \
                      src/daemon/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB      = $(BUILD)/libparley.a
PROGS    = $(BUILD)/parley $(BUILD)/parleyd $(BUILD)/noise-vectors
TEST_SRC = $(wildcard tests/unit/test_*.c)
IT_SRC   = $(wildcard tests/integration/it_*.c)
TOOL_SRC = $(wildcard tests/tools/*.c)
TESTS    = $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%) \
           $(IT_SRC:tests/integration/%.c=$(BUILD)/tests/%) \
           $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
FUZZ_SRC = $(wildcard fuzz/*_fuzz.c)
FUZZERS  = $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
BENCH_SRC = $(wildcard bench/*.c)
BENCHES  = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps check test asan demo bench fuzz fuzz-build clean
.SECONDARY:
all: $(PROGS) $(TESTS) $(BENCHES)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/parley: $(BUILD)/obj/src/parley.o $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/parleyd: $(BUILD)/obj/src/parleyd.o $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/noise-vectors: $(BUILD)/obj/tests/noise_vectors.o $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/tests/it_%: $(BUILD)/obj/tests/integration/it_%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# (the objects before the library, a target's own other files too)
$(BUILD)/fuzz/%: $(BUILD)/obj/fuzz/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $(filter-out $(LIB),$^) \
	    $(LIB) $(PKG_LIBS) -lm

# A fuzz target's own other files (fuzz/NAME.c, not *_fuzz.c: no target of
# their own), linked into it.
FUZZ_PARTS = fuzz/signed_check.c
$(BUILD)/fuzz/signed_fuzz: $(BUILD)/obj/fuzz/signed_check.o

deps:
	@scripts/deps.sh

# The suite: unit tests, the Noise vectors, integration scripts (the
# benchmarks are built too, so that they keep compiling). The runner
# prints one line per program and the total "N passed, N failed".
test: $(PROGS) $(TESTS) $(BENCHES)
	@BUILD=$(BUILD) tests/run.sh

check: deps
	@$(MAKE) --no-print-directory test

# A sanitizer's report exits 86 (ASan's default is 1, the CLI's own failure
# code, so a test that expects a failure would pass over a leak).
asan: deps
	@ASAN_OPTIONS="exitcode=86$${ASAN_OPTIONS:+:$$ASAN_OPTIONS}" \
	    $(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    test

demo: deps
	@$(MAKE) --no-print-directory $(PROGS)
	@BUILD=$(BUILD) scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory $(PROGS) $(BENCHES)
	@BUILD=$(BUILD) scripts/bench.sh

# libFuzzer targets, one per parser of outside bytes (clang only). Each runs
# FUZZ_SECONDS from its seed corpus fuzz/corpus/NAME/.
FUZZ_SECONDS ?= 20
fuzz-build:
	@$(MAKE) --no-print-directory CC=clang BUILD=build-fuzz OPT="-O1 -g" \
	    SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
	    $(FUZZ_SRC:fuzz/%.c=build-fuzz/fuzz/%)

fuzz: deps fuzz-build
	@for f in $(FUZZ_SRC:fuzz/%.c=%); do \
	    mkdir -p build-fuzz/corpus/$$f; \
	    echo "fuzz $$f for $(FUZZ_SECONDS) s"; \
	    if ! build-fuzz/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) \
	        build-fuzz/corpus/$$f $$(ls -d fuzz/corpus/$$f 2>/dev/null) \
	        >build-fuzz/$$f.log 2>&1; then \
	        tail -n 40 build-fuzz/$$f.log; echo "fuzz $$f: FAILED"; exit 1; \
	    fi; \
	    grep -E '^Done [0-9]+ runs' build-fuzz/$$f.log; \
	done

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/src/parley.d $(BUILD)/obj/src/parleyd.d \
         $(TEST_SRC:tests/unit/%.c=$(BUILD)/obj/tests/unit/%.d) \
         $(IT_SRC:tests/integration/%.c=$(BUILD)/obj/tests/integration/%.d) \
         $(BENCH_SRC:bench/%.c=$(BUILD)/obj/bench/%.d) \
         $(FUZZ_SRC:fuzz/%.c=$(BUILD)/obj/fuzz/%.d) \
         $(FUZZ_PARTS:fuzz/%.c=$(BUILD)/obj/fuzz/%.d)
