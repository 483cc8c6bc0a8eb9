# tests/fuzz/fuzz.mk - fuzzing (included by the Makefile; tests/fuzz/README.md says more).
#
# make fuzz [FUZZ_SECONDS=N] [FUZZ_TARGETS="idx run"]: builds one libFuzzer binary per
# target with clang (-fsanitize=fuzzer,address,undefined; the library's sources are
# compiled again with clang and mpicc's include and link flags) into build-fuzz/, then
# runs each target for N seconds, one after another, from the seeds in
# tests/fuzz/corpus/<target>/ and the kept crashes in tests/fuzz/regressions/<target>/.
# New inputs go to build-fuzz/corpus/<target>/, crashes to build-fuzz/crashes/<target>/.
#
# $(BUILD)/fuzz-replay (part of `all`): the same targets linked with the normal build,
# without the engine; tests/run.sh replays every kept input through it.
FUZZ_TARGETS ?= idx cifar config expr sweep study dataset run checkpoint
FUZZ_SECONDS ?= 60
# Inputs up to 256 KiB: deep nesting (a parser's recursion) needs long inputs, and the
# seeds alone would cap them at 4 KiB.
FUZZ_MAX_LEN ?= 262144
FUZZ_BUILD   := build-fuzz
FUZZ_CC      := clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -O1 -g $(ARCH) -Wall -Wextra -DDPT_VERSION='"fuzz"' \
                $(PKG_CFLAGS) $(shell mpicc -showme:compile 2>/dev/null) $(FUZZ_SAN)
FUZZ_LIBS    := $(PKG_LIBS) $(shell mpicc -showme:link 2>/dev/null) -lm
FUZZ_COMMON  := fuzz_util base h5edit
FUZZ_LIB_OBJ := $(LIB_SRC:src/%.c=$(FUZZ_BUILD)/%.o)
FUZZ_OBJ     := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/fuzz/%.o,$(filter-out tests/fuzz/replay.c,$(wildcard tests/fuzz/*.c)))
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz-%)
REPLAY_SRC   := $(sort $(filter-out tests/fuzz/replay.c,$(wildcard tests/fuzz/*.c)))
REPLAY_OBJ   := $(REPLAY_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%.o) $(BUILD)/fuzz/replay.o

.PHONY: fuzz fuzz-build fuzz-clean
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_OBJ)
all: $(BUILD)/fuzz-replay

$(BUILD)/fuzz/%.o: tests/fuzz/%.c | pkgs-check
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DFUZZ_REPLAY -MMD -MP -c $< -o $@

$(BUILD)/fuzz-replay: $(REPLAY_OBJ) $(BUILD)/libdpt.a
	$(CC) $(CFLAGS) $(REPLAY_OBJ) $(BUILD)/libdpt.a -o $@ $(LDLIBS)

$(FUZZ_BUILD)/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/fuzz-%: $(FUZZ_BUILD)/fuzz/fuzz_%.o $(FUZZ_COMMON:%=$(FUZZ_BUILD)/fuzz/%.o) $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -o $@ $(FUZZ_LIBS)

fuzz-build: $(FUZZ_BINS)

clean: fuzz-clean
fuzz-clean:
	rm -rf $(FUZZ_BUILD)

# Leaks are not reported (MPI and HDF5 keep memory until exit); every other ASan or UBSan
# finding, a timeout (10 s) or more than 2 GB of memory is a crash.
fuzz: SHELL := /bin/bash
fuzz: fuzz-build
	@failed=; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/crashes/$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  ./$(FUZZ_BUILD)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -max_len=$(FUZZ_MAX_LEN) \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t/ \
	    $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t $$(ls -d tests/fuzz/regressions/$$t 2>/dev/null) \
	    2>&1 | tee $(FUZZ_BUILD)/$$t.log | grep -E '^(#[0-9]+ +(INITED|DONE)|==[0-9]+==|stat::number_of_executed_units|SUMMARY|artifact_prefix)'; \
	  [ $${PIPESTATUS[0]} -eq 0 ] || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: crashes in:$$failed (inputs in $(FUZZ_BUILD)/crashes/)"; exit 1; fi

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_BUILD)/fuzz/*.d $(REPLAY_OBJ:.o=.d)
