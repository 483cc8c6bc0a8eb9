# dpt - build, test, demo and benchmark. `make help` lists the targets.
.DEFAULT_GOAL := all
CC       := mpicc
PKGS     := hdf5-openmpi yaml-0.1 zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# OpenBLAS is no part of dpt's arithmetic: only dpt-bench (its sgemm reference) and the
# unit tests (an oracle for the linear kernels) link it.
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null)
# Baseline for the target architecture: the AVX2/AVX-512 kernels are chosen at run time
# (src/nn/kernel.h). ARCH=-march=native builds for this machine only.
ARCH     ?=
OPT      ?= -O2
# Warnings stop the build only where the compiler is known (make test and CI set it).
WERROR   ?= 0
GIT_DESCRIBE := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
# Hardening by default: stack canaries, and glibc's checked string and memory calls
# (FORTIFY needs the optimiser, so OPT=-O0 builds go without it).
HARDEN   := -fstack-protector-strong \
            $(if $(filter -O0,$(OPT)),,-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2)
CFLAGS   := -std=c11 -D_GNU_SOURCE $(OPT) $(ARCH) $(HARDEN) -g -Wall -Wextra \
            $(if $(filter 1,$(WERROR)),-Werror) \
            -DDPT_VERSION='"$(GIT_DESCRIBE)"' $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS   := $(PKG_LIBS) -lm $(EXTRA_LIBS)

BUILD    ?= build
LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/%.o)
CLI_SRC  := $(sort $(wildcard src/cli/dpt-*.c))
BINS     := $(CLI_SRC:src/cli/%.c=bin/%)
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJ := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%.o) $(BUILD)/tools/fixture.o

# Files record the version that wrote them: objects that embed it rebuild when it changes.
VERSION_STAMP := $(BUILD)/version.stamp
$(shell mkdir -p $(BUILD); echo '$(GIT_DESCRIBE)' | cmp -s - $(VERSION_STAMP) 2>/dev/null || \
        echo '$(GIT_DESCRIBE)' > $(VERSION_STAMP))
$(BUILD)/h5/h5util.o $(BUILD)/core/cli.o $(BUILD)/bench/bench.o: $(VERSION_STAMP)

.PHONY: all deps test check headers emu512 demo bench docs clean help pkgs-check
all: $(BINS) $(BUILD)/unit-tests $(BUILD)/h5craft $(BUILD)/failwrite.so $(BUILD)/run-fixture

help:
	@echo "make          build bin/dpt-* and the unit tests"
	@echo "make test     install missing deps, build, run unit and bats tests"
	@echo "make check    unit tests, fuzz replay, parser/reader bats under ASan + UBSan"
	@echo "make headers  compile every src/*/*.h and bench/*.h on its own (part of test and check)"
	@echo "make emu512   the AVX-512 kernels emulated on AVX2, against the other paths (part of check)"
	@echo "make demo     install deps, import Fashion-MNIST, train LeNet-5, print results"
	@echo "make bench    training-step and sgemm throughput"
	@echo "make reproduce  the studies on Fashion-MNIST -> results/fashion-mnist/REPORT.md (QUICK=1: minutes)"
	@echo "make docs     regenerate docs/config.md from the key table (dpt-train --config-reference)"
	@echo "variables     ARCH=-march=native (this CPU only), WERROR=1 (warnings stop the build),"
	@echo "              DPT_KERNEL=scalar|avx2|avx512 at run time forces a kernel path"

deps:
	@DPT_QUIET_DEPS=1 bash env/install-deps.sh

# Before compiling: every package of PKGS known to pkg-config, else the compiler would
# stop at a bare "hdf5.h: No such file". PKGS= (empty) skips it, with the flags given in
# EXTRA_CFLAGS and EXTRA_LIBS instead (docs/cluster.md).
pkgs-check:
	@if [ -n "$(strip $(PKGS))" ] && ! command -v pkg-config >/dev/null; then \
	  echo "make: pkg-config is not installed: bash env/install-deps.sh --build names what" \
	    "the build lacks (or PKGS= with EXTRA_CFLAGS/EXTRA_LIBS, docs/cluster.md)" >&2; \
	  exit 1; \
	fi; \
	missing=""; \
	for p in $(PKGS); do pkg-config --exists "$$p" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make: pkg-config does not know:$$missing (PKGS=$(PKGS)). Install them:" \
	    "bash env/install-deps.sh --build names what the build lacks; or point" \
	    "PKG_CONFIG_PATH at their .pc files; or PKGS= with EXTRA_CFLAGS/EXTRA_LIBS" \
	    "(docs/cluster.md)" >&2; \
	  exit 1; \
	fi

$(BUILD)/%.o: src/%.c | pkgs-check
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/unit/%.o: tests/unit/%.c | pkgs-check
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BLAS_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libdpt.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

bin/%: src/cli/%.c $(BUILD)/libdpt.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $< $(BUILD)/libdpt.a -o $@ $(LDLIBS)

$(BUILD)/unit-tests: $(UNIT_OBJ) $(BUILD)/libdpt.a
	$(CC) $(CFLAGS) $(UNIT_OBJ) $(BUILD)/libdpt.a -o $@ $(LDLIBS) $(BLAS_LIBS)

# run files with chosen metrics for the bats tests and bench/aggregate.sh (not in libdpt)
$(BUILD)/tools/%.o: tests/tools/%.c | pkgs-check
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/run-fixture: $(BUILD)/tools/run-fixture.o $(BUILD)/tools/fixture.o $(BUILD)/libdpt.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# crafts hostile HDF5 files for tests/cli/hostile-files.bats
$(BUILD)/h5craft: tests/tools/h5craft.c | pkgs-check
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

# an LD_PRELOAD shim that fails one rank's writes, for tests/cli/rank-io-fault.bats
# (plain cc: it must not pull MPI into the processes it is preloaded into)
$(BUILD)/failwrite.so: tests/tools/failwrite.c
	cc -std=c11 -O2 -g -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -fPIC -shared $< -o $@ -ldl

test: deps
	@$(MAKE) --no-print-directory WERROR=1 all headers
	@bash tests/run.sh

# Every header compiles on its own, from a file that includes just it: none leans on
# what its includers happened to include first. One stamp per header; a change to any
# header (they include each other) or to CFLAGS (WERROR=1, the version) checks them all
# again.
HEADERS      := $(sort $(wildcard src/*/*.h bench/*.h))
HEADER_OKS   := $(HEADERS:%=$(BUILD)/headers/%.ok)
HEADER_FLAGS := $(BUILD)/headers/cflags
ifneq ($(file < $(HEADER_FLAGS)),$(CFLAGS))
$(shell mkdir -p $(BUILD)/headers)
$(file > $(HEADER_FLAGS),$(CFLAGS))
endif
headers: $(HEADER_OKS)
$(BUILD)/headers/%.ok: % $(HEADERS) $(HEADER_FLAGS)
	@mkdir -p $(dir $@)
	@echo '#include "$(CURDIR)/$<"' | $(CC) $(CFLAGS) -fsyntax-only -x c - || \
	  { echo "$<: does not compile on its own (make headers)"; exit 1; }
	@touch $@

# make check: the unit tests, the fuzz replay and the bats tests of the parsers and file
# readers, all against sanitizer builds (binaries in build-san/bin, which tests/cli's
# helper takes from DPT_BIN_DIR; the symlinks give them the schema and job templates
# that bin/ finds beside it).
$(BUILD)/bin/%: src/cli/%.c $(BUILD)/libdpt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libdpt.a -o $@ $(LDLIBS)

SAN_ENV    := ASAN_OPTIONS=detect_leaks=0 DPT_BIN_DIR=$(CURDIR)/build-san/bin
CHECK_BATS := dpt-data.bats: dpt-inspect.bats: dpt-aggregate.bats: \
  'dpt-train.bats:^(--help|no config|unknown option|the seed|--set|unknown key|a wrong type|broken YAML|a missing|a file that)' \
  'dpt-sweep.bats:usage|expand'
check: deps
	@$(MAKE) --no-print-directory WERROR=1 headers
	@$(MAKE) --no-print-directory WERROR=1 emu512
	@$(MAKE) --no-print-directory BUILD=build-san OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  EXTRA_LIBS="-fsanitize=address,undefined" build-san/unit-tests build-san/fuzz-replay \
	  $(CLI_SRC:src/cli/%.c=build-san/bin/%)
	ln -sfn ../hdf5-schema build-san/hdf5-schema && ln -sfn ../jobs build-san/jobs
	ASAN_OPTIONS=detect_leaks=0 ./build-san/unit-tests
	ASAN_OPTIONS=detect_leaks=0 ./build-san/fuzz-replay tests/fuzz/regressions tests/fuzz/corpus \
	  > build-san/fuzz-replay.tap || { tail -n 30 build-san/fuzz-replay.tap; exit 1; }
	@echo "fuzz replay: $$(grep -c '^ok ' build-san/fuzz-replay.tap) inputs, no sanitizer finding"
	@for t in $(CHECK_BATS); do echo "== bats $$t (sanitizers)"; \
	  $(SAN_ENV) bats -f "$${t#*:}" tests/cli/$${t%%:*} || exit 1; done

# make emu512: the AVX-512 kernels on a CPU with AVX2 only. Every file of build/emu512 is
# compiled with tests/emu512/emu512.h, which emulates the AVX-512 intrinsics with AVX2
# ones, and -DNN_EMULATE_AVX512, with which kernel.h compiles the AVX-512 kernels for AVX2
# and DPT_KERNEL=avx512 runs on AVX2 (this build only: no other build defines it). The
# unit tests that compare the kernel paths bit for bit then check the order of the
# AVX-512 kernels' sums, their blocks, tails and masks on any AVX2 machine; not their
# instructions (emu512.h says what it cannot check). Part of make check.
EMU512_DIR := build/emu512
emu512:
	@$(MAKE) --no-print-directory BUILD=$(EMU512_DIR) \
	  EXTRA_CFLAGS="-include $(CURDIR)/tests/emu512/emu512.h -DNN_EMULATE_AVX512" \
	  $(EMU512_DIR)/unit-tests
	DPT_KERNEL=avx512 ./$(EMU512_DIR)/unit-tests every_path

demo: deps
	@$(MAKE) --no-print-directory all
	@bash env/demo.sh

# dpt-bench links the benchmark's own sources (bench/*.c) besides the library.
BENCH_OBJ := $(patsubst bench/%.c,$(BUILD)/bench/%.o,$(wildcard bench/*.c))
$(BUILD)/bench/%.o: bench/%.c | pkgs-check
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BLAS_CFLAGS) -MMD -MP -c $< -o $@
bin/dpt-bench $(BUILD)/bin/dpt-bench: src/cli/dpt-bench.c $(BENCH_OBJ) $(BUILD)/libdpt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BLAS_CFLAGS) $< $(BENCH_OBJ) $(BUILD)/libdpt.a -o $@ $(LDLIBS) $(BLAS_LIBS)
-include $(BENCH_OBJ:.o=.d)

bench: deps
	@$(MAKE) --no-print-directory all bin/dpt-bench
	@bash bench/throughput.sh
	@bash bench/aggregate.sh
	@bash bench/scaling.sh
	@bash bench/shaped-link.sh
	@bash bench/sweep-expand.sh

# The seed's studies on Fashion-MNIST on the local Slurm cluster, into
# results/fashion-mnist/REPORT.md (env/reproduce.sh); QUICK=1: a reduced run in minutes.
.PHONY: reproduce
QUICK ?= 0
reproduce: deps
	@$(MAKE) --no-print-directory all
	@QUICK=$(QUICK) bash env/reproduce.sh

# docs/config.md is generated from the key table (env/config-doc.sh); tests/cli/newcomer.bats
# fails when the committed page differs.
docs: bin/dpt-train
	bash env/config-doc.sh bin/dpt-train > docs/config.md.tmp && mv docs/config.md.tmp docs/config.md

clean:
	rm -rf build build-san bin

-include $(LIB_OBJ:.o=.d) $(UNIT_OBJ:.o=.d)
include tests/fuzz/fuzz.mk
