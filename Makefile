# socklens - build the shim (build/libsocklens.so) and the analyzer (build/socklens).
CC ?= gcc
BUILD ?= build
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# where `make install` puts the shim and socklens-node.js; socklens run looks there, by the path
# relative to its own binary first (a tree moved elsewhere still works), then the absolute one
SHIMDIR = $(LIBDIR)/socklens
SHIMDIR_REL = $(patsubst $(PREFIX)/%,../%,$(SHIMDIR))
WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wno-missing-field-initializers
ifeq ($(CI),true)
WARN += -Werror
endif
OPT ?= -O2 -g
# SANITIZE=address,undefined instruments the analyzer and the tests. The shim stays
# uninstrumented: it is preloaded into programs that do not carry a sanitizer runtime.
SAN_CFLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer)
SAN_LDFLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE))
CFLAGS_BASE := -std=gnu11 $(OPT) $(WARN) -MMD -MP -Iinclude $(CFLAGS)
CFLAGS_ALL := $(CFLAGS_BASE) $(SAN_CFLAGS)
LDFLAGS_ALL := $(SAN_LDFLAGS) $(LDFLAGS)

ifneq ($(V),1)
Q := @
quiet = @printf '  %-6s %s\n' $(1) $(2);
endif

# Two front ends over one recorder: the preload shim and the tracer both call recorder/, which
# writes the log format of include/socklens/log.h. recorder/ is built as the shim is (it runs
# inside programs) and linked into the analyzer as well (the tracer, the run's control file).
REC_SRC := $(wildcard recorder/*.c)
REC_OBJ := $(REC_SRC:%.c=$(BUILD)/%.o)
SHIM_SRC := $(wildcard shim/*.c) $(REC_SRC)
SHIM_OBJ := $(SHIM_SRC:%.c=$(BUILD)/%.o)
SHIM_INC := -Irecorder -Ishim
# The recorder and the fd table, linked by unit tests without LD_PRELOAD.
SHIM_CORE := $(REC_OBJ) $(BUILD)/shim/fdtab.o
# The analyzer by folder, each using only those below it: cmd -> report -> rules -> model ->
# symbols -> base; the tracer (a second front end) is linked into the same binary.
ANA_SRC := $(wildcard analyzer/*/*.c) $(wildcard tracer/*.c)
ANA_OBJ := $(ANA_SRC:%.c=$(BUILD)/%.o)
ANA_LIB_OBJ := $(filter-out $(BUILD)/analyzer/cmd/main.o,$(ANA_OBJ))
ANA_INC := -Ianalyzer -Irecorder -Ishim -Itracer

PKGS := jansson libdw libelf ncursesw
# socklens links jansson only: elfutils and ncurses are loaded when first used (analyzer/base/libs.c,
# BENCHMARKS.md), by the sonames of the libraries pkg-config would link.
soname = $(shell f=$$(pkg-config --variable=libdir $(1) 2>/dev/null)/lib$(2).so; \
	{ objdump -p $$f 2>/dev/null | awk '$$1 == "SONAME" { print $$2 }'; sed -n 's/^INPUT(\([^ )]*\).*/\1/p' $$f 2>/dev/null; } | head -1)
sodef = $(if $(2),-D$(1)='"$(2)"')
LIBS_SONAMES = $(call sodef,SL_LIBDW_SONAME,$(call soname,libdw,dw)) $(call sodef,SL_LIBELF_SONAME,$(call soname,libelf,elf)) \
	$(call sodef,SL_LIBCURSES_SONAME,$(call soname,ncursesw,ncursesw))
# A JDK's jvmti.h, for Java frames (scripts/install-deps.sh installs OpenJDK 17); without it the
# shim is built without them.
JDK_INC ?= $(patsubst %/jvmti.h,%,$(firstword $(wildcard /usr/lib/jvm/java-17-openjdk-*/include/jvmti.h /usr/lib/jvm/*/include/jvmti.h)))
SHIM_JAVA := $(if $(JDK_INC),-I$(JDK_INC) -I$(JDK_INC)/linux,-DSL_NO_JAVA)
DEPS_MSG := missing build dependencies; run: ./scripts/install-deps.sh (it uses sudo when not root)

all: deps-check $(BUILD)/libsocklens.so $(BUILD)/socklens-node.js $(BUILD)/socklens

# Loaded into Node.js programs by the shim (shim/langrt.c), from beside it.
$(BUILD)/socklens-node.js: shim/socklens-node.js
	$(call quiet,CP,$@)
	$(Q)mkdir -p $(BUILD) && cp $< $@

deps-check:
	@pkg-config --exists $(PKGS) liburing 2>/dev/null || \
	  { echo "socklens: $(DEPS_MSG)" >&2; exit 1; }

# The shim: no FORTIFY (we define read() ourselves), hidden visibility, bound at load time.
# No SLP vectorizing: it turns pairs of 8-byte stores on the hot path into 4-instruction SSE sequences.
define shim_cc
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_BASE) $(SHIM_INC) $(SHIM_JAVA) -U_FORTIFY_SOURCE -fPIC -fvisibility=hidden -ftls-model=initial-exec \
		-fno-tree-slp-vectorize -c $< -o $@
endef
$(BUILD)/shim/%.o: shim/%.c
	$(shim_cc)
$(BUILD)/recorder/%.o: recorder/%.c
	$(shim_cc)

$(BUILD)/libsocklens.so: $(SHIM_OBJ)
	$(call quiet,LD,$@)
	$(Q)$(CC) -shared -o $@ $^ $(LDFLAGS) -Wl,-z,now,-z,relro -Wl,--no-undefined -ldl

# The same shim counting its clock reads (tests/instructions.sh checks how many a call makes).
COUNT_OBJ := $(SHIM_SRC:%.c=$(BUILD)/clockcount/%.o)
define count_cc
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_BASE) $(SHIM_INC) $(SHIM_JAVA) -DSL_COUNT_CLOCK_READS -U_FORTIFY_SOURCE -fPIC -fvisibility=hidden \
		-ftls-model=initial-exec -fno-tree-slp-vectorize -c $< -o $@
endef
$(BUILD)/clockcount/shim/%.o: shim/%.c
	$(count_cc)
$(BUILD)/clockcount/recorder/%.o: recorder/%.c
	$(count_cc)
$(BUILD)/clockcount/libsocklens.so: $(COUNT_OBJ)
	$(call quiet,LD,$@)
	$(Q)$(CC) -shared -o $@ $^ $(LDFLAGS) -Wl,-z,now,-z,relro -Wl,--no-undefined -ldl

# the install paths socklens run looks in, rewritten only when they change (make install PREFIX=...)
$(BUILD)/paths.h: FORCE
	$(Q)mkdir -p $(BUILD)
	$(Q)printf '#define SL_SHIMDIR "%s"\n#define SL_SHIMDIR_REL "%s"\n' '$(SHIMDIR)' '$(SHIMDIR_REL)' > $@.tmp
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:
$(BUILD)/analyzer/cmd/cmd_run.o: $(BUILD)/paths.h
# the HTML page is built into pictures.o (.incbin)
$(BUILD)/analyzer/report/pictures.o: analyzer/report/page.html
$(BUILD)/analyzer/cmd/cmd_run.o: CFLAGS_ALL += -include $(BUILD)/paths.h
# CPPFLAGS (dpkg-buildflags' _FORTIFY_SOURCE) for the analyzer and the tracer; not for the shim,
# which defines read(), recv()... itself where fortify's headers define them inline
$(BUILD)/analyzer/base/libs.o: CFLAGS_ALL += $(LIBS_SONAMES)
$(BUILD)/analyzer/%.o: analyzer/%.c
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS_ALL) $(ANA_INC) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -c $< -o $@
$(BUILD)/tracer/%.o: tracer/%.c
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS_ALL) $(ANA_INC) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -c $< -o $@

# The analyzer creates the run's control file, and its tracer writes logs, with the recorder.
$(BUILD)/socklens: $(ANA_OBJ) $(REC_OBJ)
	$(call quiet,LD,$@)
	$(Q)$(CC) -o $@ $^ $(LDFLAGS_ALL) $(shell pkg-config --libs jansson 2>/dev/null) -lm

# ---- tests ----
TEST_NAMES := test_log test_fdtab test_model test_inject test_tracer
TEST_BINS := $(TEST_NAMES:%=$(BUILD)/tests/%)
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))

$(BUILD)/tests/%.o: tests/%.c
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_ALL) $(ANA_INC) $(shell pkg-config --cflags $(PKGS) cmocka) -c $< -o $@

$(BUILD)/tests/test_log: $(BUILD)/tests/test_log.o $(SHIM_CORE) $(ANA_LIB_OBJ)
$(BUILD)/tests/test_fdtab: $(BUILD)/tests/test_fdtab.o $(SHIM_CORE)
$(BUILD)/tests/test_model: $(BUILD)/tests/test_model.o $(SHIM_CORE) $(ANA_LIB_OBJ)
$(BUILD)/tests/test_inject: $(BUILD)/tests/test_inject.o $(SHIM_CORE) $(ANA_LIB_OBJ)
$(BUILD)/tests/test_tracer: $(BUILD)/tests/test_tracer.o $(SHIM_CORE) $(ANA_LIB_OBJ)
$(TEST_BINS):
	$(call quiet,LD,$@)
	$(Q)$(CC) -o $@ $^ $(LDFLAGS_ALL) $(shell pkg-config --libs $(PKGS) cmocka) -lm

# Examples are the programs socklens diagnoses: built like a user's program, with -g.
$(BUILD)/examples/%: examples/%.c examples/common.h
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O1 -g $(WARN) -o $@ $< -lpthread

examples: $(EXAMPLES)

# Test programs: fortify_client must go through __read_chk/__recv_chk, as Debian builds do;
# nounwind has no unwind tables, as some hand-built and JIT code has none.
PLAIN_PROGS := close_paths errno_check daemon_fds threads400 fork_after_read cancel_blocked one_connect clock_reads \
	silent_peer many_conns noptrace fd_race burst_refused raw_clone truncated_log exec_chain catch_signals jdk_connect \
	drop_user pool short_write eintr_client
PROG_BINS := $(BUILD)/tests/progs/fortify_client $(BUILD)/tests/progs/nounwind $(PLAIN_PROGS:%=$(BUILD)/tests/progs/%) \
	$(BUILD)/tests/progs/catch_signals_static $(BUILD)/tests/progs/uring_client $(BUILD)/tests/progs/uring_client_static \
	$(BUILD)/tests/progs/uring_files \
	$(BUILD)/tests/progs/spawn_setuid $(BUILD)/tests/progs/traceme $(BUILD)/tests/progs/cpp_client
$(BUILD)/tests/progs/fortify_client: tests/progs/fortify_client.c examples/common.h
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O2 -g -D_FORTIFY_SOURCE=2 $(WARN) -o $@ $< -lpthread
$(PLAIN_PROGS:%=$(BUILD)/tests/progs/%): $(BUILD)/tests/progs/%: tests/progs/%.c examples/common.h
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O1 -g $(WARN) -o $@ $< -lpthread
$(BUILD)/tests/progs/cpp_client: tests/progs/cpp_client.cpp
	$(call quiet,CXX,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)g++ -std=c++17 -O1 -g -Wall -o $@ $<
# statically linked: socklens run's tracer follows them, not the preload
$(BUILD)/tests/progs/spawn_setuid $(BUILD)/tests/progs/traceme: $(BUILD)/tests/progs/%: tests/progs/%.c
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O1 -g -static $(WARN) -o $@ $<
$(BUILD)/tests/progs/catch_signals_static: tests/progs/catch_signals.c
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O1 -g -static $(WARN) -o $@ $<
# io_uring through liburing, linked both ways (the shim looks at what is submitted; the tracer sees
# io_uring_setup)
$(BUILD)/tests/progs/uring_client $(BUILD)/tests/progs/uring_files: $(BUILD)/tests/progs/%: tests/progs/%.c examples/common.h
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O1 -g $(WARN) -o $@ $< -luring -lpthread
$(BUILD)/tests/progs/uring_client_static: tests/progs/uring_client.c examples/common.h
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O1 -g -static $(WARN) -o $@ $< -luring -lpthread
$(BUILD)/tests/progs/nounwind: tests/progs/nounwind.c examples/common.h
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O2 -g -fno-asynchronous-unwind-tables -fno-unwind-tables $(WARN) -o $@ $< -lpthread

CHECK_DEPS := all $(BUILD)/socklens.1 $(TEST_BINS) $(EXAMPLES) $(PROG_BINS) $(BUILD)/bench/callcost $(BUILD)/clockcount/libsocklens.so
# what the suites need, built without running them (to run one suite: BUILD=build tests/NAME.sh)
check-build: $(CHECK_DEPS)
# The suites, longest first, two at a time (CHECK_JOBS): each writes its own log, shown whole
# when it ends (make -O). They share nothing but the machine; each passes beside the others.
SUITES := golang staging transparency anomalies hardening langframes pictures cleanruns verdicts integration \
	inject logspace diff docs
CHECK_JOBS ?= 2
# Under SANITIZE only the analyzer and the tracer are instrumented: the suites that test the shim's
# own behaviour (the same object in both runs) run once, in the plain make check.
SANITIZE_SKIP := transparency logspace langframes docs
RUN_SUITES := $(if $(SANITIZE),$(filter-out $(SANITIZE_SKIP),$(SUITES)),$(SUITES))
check: $(CHECK_DEPS)
	$(Q)for t in $(TEST_BINS); do echo "== $$t"; $$t || exit 1; done
	$(Q)tests/layers.py $(BUILD)
	$(Q)$(MAKE) --no-print-directory -j$(CHECK_JOBS) -Otarget BUILD=$(BUILD) SANITIZE=$(SANITIZE) \
		$(RUN_SUITES:%=suite-%)
	$(Q)BUILD=$(BUILD) tests/instructions.sh
suite-%: FORCE
	$(Q)BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/$*.sh

# Benchmarks: built like the examples, measured by bench/run.sh (see BENCHMARKS.md).
BENCH_BINS := $(BUILD)/bench/callcost $(BUILD)/bench/pingpong $(BUILD)/bench/manyconn $(BUILD)/bench/clockcost \
	$(BUILD)/bench/forkexec
$(BENCH_BINS): $(BUILD)/bench/%: bench/%.c examples/common.h
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O2 -g $(WARN) -o $@ $< -lpthread

# shimcost: the shim's own time per call, against stub libc functions (bench/shimstub.c)
$(BUILD)/bench/libshimstub.so: bench/shimstub.c
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -shared -fPIC -o $@ $<
$(BUILD)/bench/shimcost: bench/shimcost.c $(BUILD)/bench/libshimstub.so
	$(call quiet,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 $(WARN) -o $@ $< -L$(BUILD)/bench -lshimstub -Wl,-rpath,'$$ORIGIN'

# gowalk: reading a running Go program's parked goroutines (tracer/goroutines.c), timed
$(BUILD)/bench/gowalk: bench/gowalk.c $(BUILD)/tracer/goroutines.o $(BUILD)/analyzer/symbols/gopclntab.o \
	$(BUILD)/analyzer/base/libs.o
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_ALL) -Itracer -Ianalyzer -o $@ $^ -lelf
bench: all $(BENCH_BINS) $(BUILD)/bench/shimcost $(BUILD)/tests/progs/clock_reads $(BUILD)/clockcount/libsocklens.so \
	$(BUILD)/bench/gowalk
	$(Q)BUILD=$(BUILD) bench/run.sh

# Slower: services started under the shim as a supervisor would, under load for a minute each,
# looked at all along with stuck, top and report by PID (SOAK_SECONDS=60).
check-soak: all $(PROG_BINS)
	$(Q)BUILD=$(BUILD) tests/soak.sh

# The Debian package: builds it from the tracked files, lintian, and runs what it installs
# (needs ./scripts/install-deps.sh --package); about a minute.
check-package:
	$(Q)tests/package.sh

# Slower: CPython's own suites, then Go's own net, net/http, net/rpc and crypto/tls tests, with and
# without socklens, test by test (needs ./scripts/install-deps.sh --transparency); about five minutes.
check-transparency: all
	$(Q)/usr/bin/python3 tests/cpython_suites.py $(BUILD)/socklens
	$(Q)/usr/bin/python3 tests/go_suites.py $(BUILD)/socklens

# Slower: Go programs built on Debian's Go library packages (gRPC), from source (needs
# ./scripts/install-deps.sh --golibs); about a minute.
check-golibs: all
	$(Q)BUILD=$(BUILD) tests/golibs.sh

# The same suites (but SANITIZE_SKIP's) with the analyzer, the tracer and the unit tests under ASan
# and UBSan (CI runs both).
check-sanitize:
	$(Q)$(MAKE) --no-print-directory check SANITIZE=address,undefined BUILD=$(BUILD)/sanitize

# Slower: the analyzer, with ASan and UBSan, on FUZZ_RUNS damaged copies of real run directories;
# each must end with one of socklens's own statuses within 10 s and 256 MiB (tests/fuzz/fuzz.py).
FUZZ_RUNS ?= 10000
fuzz: all $(EXAMPLES)
	$(Q)$(MAKE) --no-print-directory SANITIZE=address,undefined BUILD=$(BUILD)/sanitize $(BUILD)/sanitize/socklens
	$(Q)$(CC) -std=gnu11 -Iinclude -o $(BUILD)/fuzz-layout tests/fuzz/layout.c
	$(Q)BUILD=$(BUILD) tests/fuzz/seeds.sh $(BUILD)/fuzz-seeds
	$(Q)/usr/bin/python3 tests/fuzz/fuzz.py --socklens $(BUILD)/sanitize/socklens --layout $(BUILD)/fuzz-layout \
		--seeds $(BUILD)/fuzz-seeds --runs $(FUZZ_RUNS) --keep $(BUILD)/fuzz-failures

demo: all $(EXAMPLES)
	$(Q)BUILD=$(BUILD) ./scripts/demo.sh

# the man page, from the program's own --help and help topics (scripts/mkman.py)
$(BUILD)/socklens.1: $(BUILD)/socklens scripts/mkman.py
	$(call quiet,GEN,$@)
	$(Q)python3 scripts/mkman.py $(BUILD)/socklens $@

man: $(BUILD)/socklens.1

# PREFIX, BINDIR, LIBDIR (Debian: /usr/lib/$(DEB_HOST_MULTIARCH)), MANDIR, BASHCOMPDIR, DESTDIR
install: all $(BUILD)/socklens.1
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHIMDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR)
	install -m 755 $(BUILD)/socklens $(DESTDIR)$(BINDIR)/socklens
	install -m 644 $(BUILD)/libsocklens.so $(DESTDIR)$(SHIMDIR)/libsocklens.so
	install -m 644 $(BUILD)/socklens-node.js $(DESTDIR)$(SHIMDIR)/socklens-node.js
	install -m 644 $(BUILD)/socklens.1 $(DESTDIR)$(MANDIR)/man1/socklens.1
	install -m 644 scripts/socklens.bash-completion $(DESTDIR)$(BASHCOMPDIR)/socklens

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/socklens $(DESTDIR)$(SHIMDIR)/libsocklens.so $(DESTDIR)$(SHIMDIR)/socklens-node.js \
		$(DESTDIR)$(MANDIR)/man1/socklens.1 $(DESTDIR)$(BASHCOMPDIR)/socklens
	-rmdir $(DESTDIR)$(SHIMDIR)

clean:
	rm -rf $(BUILD)

.PHONY: check-package man uninstall check-build all deps-check check check-sanitize check-transparency check-golibs check-soak fuzz examples demo bench install clean
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
