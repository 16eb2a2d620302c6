# SPDX-License-Identifier: MIT
# numapin: build, test, demo, bench and install. Build output goes to build/ only.
# `make demo` and `make test` install the Debian packages they need first.

PREFIX ?= /usr/local
DESTDIR ?=
BUILD := build
# What does not change with the compiler flags (libmicrohttpd, the generated fixture
# machines) is built once, here, for every build below.
SHARED_BUILD := $(BUILD)

CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
WARN_CFLAGS := -std=gnu11 -Ulinux -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	-fstack-protector-strong -fPIE
NP_CFLAGS := $(WARN_CFLAGS) -D_FORTIFY_SOURCE=2 $(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)
NP_LDFLAGS := -pie -Wl,-z,relro,-z,now
# json-c, libbpf (with libelf and zlib) and libseccomp are linked statically: the hook
# runs once per container, and loading shared libraries is a tenth of its run time.
LIBS := -Wl,-Bstatic $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null) -lbpf -lelf -lz -lseccomp -Wl,-Bdynamic
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
# numapin-hook, numapin-nri and numapin-exporter are linked fully static (see their rules)
STATIC_LDFLAGS := -static-pie

# `make SANITIZE=1 TARGET...` (what `make test-asan` runs): the same binaries and unit
# tests with AddressSanitizer and UndefinedBehaviorSanitizer, in build/asan/ so that
# build/ stays as it is. Compiled by clang, whose one runtime writes UBSan's reports
# where ASan's go (gcc's libubsan ignores log_path beside libasan: its reports would
# reach only a stderr the tests swallow). The runtime needs the C library's dynamic
# loader: the static binaries are linked dynamically here. -DNP_SANITIZE lets the
# seccomp allow-lists admit the calls the runtime makes at exit (core/sandbox.c) and
# the NRI harness wait longer for the slower plugin (tests/nri/harness.h).
SANITIZE ?=
SANITIZE_CC ?= clang
ASAN_BUILD := $(SHARED_BUILD)/asan
# the C library's include folder for the BPF objects, named by the C compiler of the
# plain build (clang says x86_64-pc-linux-gnu where Debian's folder is x86_64-linux-gnu)
MULTIARCH := $(shell $(CC) -dumpmachine)
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ifeq ($(SANITIZE),1)
BUILD := $(ASAN_BUILD)
CC := $(SANITIZE_CC)
ifeq ($(origin CFLAGS),file)
CFLAGS := -O1 -g
endif
# _FORTIFY_SOURCE's checked copies would stand between ASan and the calls it checks
# (and clang finds fields missing in libseccomp's SCMP_A0() rules, which gcc does not)
NP_CFLAGS := $(filter-out -D_FORTIFY_SOURCE=2,$(NP_CFLAGS)) $(SANITIZE_FLAGS) -DNP_SANITIZE \
	-Wno-missing-field-initializers
NP_LDFLAGS += $(SANITIZE_FLAGS)
STATIC_LDFLAGS := -pie $(SANITIZE_FLAGS)
endif

# numapin-hook is built against musl, with its libraries built from Debian's
# sources by build-aux/musl-deps.sh (which says why: glibc's start-up is a third
# of a hook's run on a virtual machine). core/ is compiled a second time for it.
# musl has no _FORTIFY_SOURCE; the glibc builds of the same code (numapinctl, the
# unit tests, the sanitizer build) keep it. Not in the sanitizer build, whose
# runtime needs glibc: there the hook is linked as the other binaries are.
MUSL_CC ?= musl-gcc
MUSL_DIR := $(SHARED_BUILD)/musl
MUSL_STAMP := $(MUSL_DIR)/.done
MUSL_LIBDIR := /usr/lib/$(subst -gnu,-musl,$(MULTIARCH))
MUSL_CFLAGS := $(WARN_CFLAGS) -isystem $(MUSL_DIR)/kernel -isystem $(MUSL_DIR)/include \
	-isystem $(MUSL_DIR)/include/json-c
MUSL_LIB := $(BUILD)/libnumapin-musl.a
# static-pie by hand: Debian's musl-gcc.specs links only dynamic or non-PIE static
MUSL_LINK = $(CC) -static-pie -nostdlib -nostartfiles -Wl,-z,relro,-z,now $(LDFLAGS) -o $@ \
	$(MUSL_LIBDIR)/rcrt1.o $(MUSL_LIBDIR)/crti.o $$($(CC) -print-file-name=crtbeginS.o) $^ \
	-L$(MUSL_DIR)/lib $(1) -L$(MUSL_LIBDIR) -lc $$($(CC) -print-libgcc-file-name) \
	$$($(CC) -print-file-name=crtendS.o) $(MUSL_LIBDIR)/crtn.o

# Debian packages: to build, to test (real runtimes), and for the demo.
DEB_BUILD := gcc make pkg-config libjson-c-dev libcmocka-dev clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libseccomp-dev \
	protobuf-c-compiler libprotobuf-c-dev curl xz-utils bzip2 patch musl-tools cmake gperf
DEB_TEST := runc podman busybox-static jq util-linux python3-jsonschema python3-grpcio python3-grpc-tools \
	containernetworking-plugins prometheus prometheus-node-exporter curl libclang-rt-14-dev
DEB_ALL := $(DEB_BUILD) $(DEB_TEST)
# The bench's Go hooks beside numapin's (tests/bench/go/, the standard library only).
DEB_BENCH := golang-go
# The emulated NUMA machine (tests/vm): qemu, crun for the guest, cc for its workload.
DEB_VM := qemu-system-x86 qemu-utils crun gcc libc6-dev

CORE_SRC := $(wildcard core/*.c)
CORE_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(CORE_SRC))
LIB := $(BUILD)/libnumapin.a
BINS := $(BUILD)/numapin-hook $(BUILD)/numapinctl $(BUILD)/numapin-nri $(BUILD)/numapin-exporter
# GNU libmicrohttpd for the /metrics endpoint, built from Debian's source package
# without HTTPS (build-aux/libmicrohttpd.sh says why)
MHD_DIR := $(SHARED_BUILD)/libmicrohttpd
MHD_LIB := $(MHD_DIR)/lib/libmicrohttpd.a
NP_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
# The NRI plugin: its wire code in nri/, its messages generated by protoc-c from
# schema/*.proto into build/nri/ (the test harness shares only these).
PROTOC_C ?= protoc-c
PROTO_GEN_C := $(BUILD)/nri/nri.pb-c.c $(BUILD)/nri/ttrpc.pb-c.c
PROTO_GEN_H := $(PROTO_GEN_C:.c=.h)
PROTO_OBJ := $(BUILD)/obj/gen/nri.pb-c.o $(BUILD)/obj/gen/ttrpc.pb-c.o
NRI_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out nri/numapin-nri.c,$(wildcard nri/*.c)))
# the plugin's code and its messages as one library, for the binary and the unit tests
NRI_LIB := $(BUILD)/libnumapin-nri.a
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(UNIT_SRC))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_BINS := $(BUILD)/bench/bench_place $(BUILD)/bench/bench_exec $(BUILD)/bench/trivial-hook \
	$(BUILD)/bench/trivial-hook-musl $(BUILD)/bench/floor-hook \
	$(BUILD)/bench/bench_bpf $(BUILD)/bench/bench_metrics_fixture $(BUILD)/bench/bench_scrape \
	$(BUILD)/bench/bench_sandbox
NRI_HARNESS := $(BUILD)/tests/nri-harness
NRI_HARNESS_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/nri/*.c))
# what tests/run.sh unit and integration run
TEST_BINS := $(BINS) $(UNIT_BINS) $(NRI_HARNESS)

.PHONY: all deps deps-vm deps-bench test test-unit test-integration test-e2e test-vm demo bench install uninstall format clean image \
	fuzz fuzz-build test-bins test-asan

all: $(BINS)
ifeq ($(SANITIZE),1)
# tells tests/run.sh that the binaries beside it are sanitized: it collects their reports
all $(UNIT_BINS) $(NRI_HARNESS): | $(BUILD)/sanitize
$(BUILD)/sanitize: FORCE
	@mkdir -p $(dir $@)
	@echo '$(SANITIZE_FLAGS)' | cmp -s - $@ || echo '$(SANITIZE_FLAGS)' > $@
endif

$(BUILD)/obj/%.o: %.c $(wildcard core/*.h) bpf/locality.h
	@mkdir -p $(dir $@)
	$(CC) $(NP_CFLAGS) $(CFLAGS) -I$(BUILD)/bpf -I$(BUILD)/nri -I$(BUILD)/sandbox -I$(MHD_DIR)/include -c -o $@ $<

$(MHD_LIB): build-aux/libmicrohttpd.sh
	bash build-aux/libmicrohttpd.sh $(MHD_DIR)
$(BUILD)/obj/core/metrics-http.o $(BUILD)/obj/nri/numapin-nri.o $(BUILD)/obj/hook/numapin-exporter.o $(UNIT_OBJ): \
	$(MHD_LIB)
# the build's version in numapin_build_info; metrics.o is rebuilt when it changes
$(BUILD)/obj/core/metrics.o: NP_CFLAGS += -DNP_VERSION='"$(NP_VERSION)"'
$(BUILD)/obj/core/metrics.o: $(BUILD)/version
$(BUILD)/version: FORCE
	@mkdir -p $(dir $@)
	@echo '$(NP_VERSION)' | cmp -s - $@ || echo '$(NP_VERSION)' > $@
.PHONY: FORCE

.SECONDARY: $(PROTO_GEN_C) $(PROTO_GEN_H)
# grouped: one protoc-c run writes both files
$(BUILD)/nri/%.pb-c.c $(BUILD)/nri/%.pb-c.h: schema/%.proto
	@mkdir -p $(dir $@)
	$(PROTOC_C) --proto_path=schema --c_out=$(BUILD)/nri $<

$(BUILD)/obj/gen/%.pb-c.o: $(BUILD)/nri/%.pb-c.c $(BUILD)/nri/%.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(NP_CFLAGS) -Wno-shadow $(CFLAGS) -I$(BUILD)/nri -c -o $@ $<

$(NRI_OBJ) $(BUILD)/obj/nri/numapin-nri.o $(UNIT_OBJ): $(PROTO_GEN_H) $(wildcard nri/*.h)
$(UNIT_OBJ): $(wildcard tests/unit/*.h)
$(BUILD)/obj/tests/unit/test_monitor.o: $(BUILD)/bpf/locality.skel.h

# The BPF objects (CO-RE: no kernel headers needed), each embedded in user code
# through a libbpf skeleton: <name>.bpf.c -> build/bpf/<name>.bpf.o ->
# build/bpf/<name>.skel.h (struct <name>_bpf). bpf/locality.bpf.c is the locality
# monitor, tests/bench/empty.bpf.c its empty counterpart for `make bench`; their
# names must differ, as the objects share build/bpf/.
CLANG ?= clang
BPFTOOL ?= bpftool
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_SRC := bpf/locality.bpf.c tests/bench/empty.bpf.c
BPF_OBJ := $(patsubst %.bpf.c,$(BUILD)/bpf/%.bpf.o,$(notdir $(BPF_SRC)))
vpath %.bpf.c $(sort $(dir $(BPF_SRC)))
.SECONDARY: $(BPF_OBJ)

# The source's folder is mapped to "." in the object's BTF line info: the same
# source gives the same object, hash and pin directory wherever it is checked
# out, not a second set whose programs run beside the first.
$(BUILD)/bpf/%.bpf.o: %.bpf.c
	@mkdir -p $(dir $@)
	$(CLANG) -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -fdebug-prefix-map=$(CURDIR)=. \
		-I/usr/include/$(MULTIARCH) -c -o $@.tmp $<
	$(BPFTOOL) gen object $@ $@.tmp
	@rm -f $@.tmp

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/locality.bpf.o: bpf/locality.h
$(BUILD)/obj/core/monitor.o $(BUILD)/obj/core/monitor-load.o: $(BUILD)/bpf/locality.skel.h
# The pin directory's name, the object's hash, taken here once instead of by
# every hook over the 40 KiB object (a tenth of a hook's own time).
$(BUILD)/bpf/locality.hash.h: $(BUILD)/bpf/locality.bpf.o
	printf '#define NP_MONITOR_OBJECT_HASH "%s"\n' "$$(sha256sum $< | cut -c1-16)" > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/core/monitor.o: $(BUILD)/bpf/locality.hash.h

# The seccomp filters of core/sandbox.c's tables, compiled by libseccomp at build
# time (some 400 us a filter, a quarter of the hook's run), rewritten as bitmaps
# of call numbers once shown to give libseccomp's verdicts (core/sandbox-compact.c:
# less than half the instructions, which the kernel takes half the time to
# install), into a C header that core/sandbox.c installs as it is.
$(BUILD)/obj/gen/sandbox-gen.o: core/sandbox.c core/sandbox.h core/log.h core/macro.h
	@mkdir -p $(dir $@)
	$(CC) $(NP_CFLAGS) $(CFLAGS) -DNP_SANDBOX_GENERATOR -c -o $@ core/sandbox.c

$(BUILD)/sandbox/sandbox-gen: build-aux/sandbox-gen.c $(BUILD)/obj/gen/sandbox-gen.o $(BUILD)/obj/core/log.o \
		$(BUILD)/obj/core/sandbox-compact.o
	@mkdir -p $(dir $@)
	$(CC) $(NP_CFLAGS) $(CFLAGS) $(NP_LDFLAGS) $(LDFLAGS) -o $@ $^ -Wl,-Bstatic -lseccomp -Wl,-Bdynamic

$(BUILD)/sandbox/sandbox-filters.h: $(BUILD)/sandbox/sandbox-gen
	$< $@.tmp && mv $@.tmp $@

$(BUILD)/obj/core/sandbox.o: $(BUILD)/sandbox/sandbox-filters.h

$(LIB): $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(NRI_LIB): $(NRI_OBJ) $(PROTO_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard hook/*.c)): $(wildcard hook/*.h)

# Fully static as well: the hook runs once per container, and the dynamic loader
# (ld.so.cache, libc.so.6, its relocations) was a third of its system calls and half
# of its page faults beside a hook that only reads stdin.
# Against musl (MUSL_CC above), with the hook's own allocator (hook/heap.c), but
# where sanitized.
ifeq ($(SANITIZE),1)
$(BUILD)/numapin-hook: $(BUILD)/obj/hook/numapin-hook.o $(BUILD)/obj/hook/updates.o $(LIB)
	$(CC) $(STATIC_LDFLAGS) -Wl,-z,relro,-z,now $(LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null) \
		-lbpf -lelf -lz -lseccomp
else
$(BUILD)/numapin-hook: $(BUILD)/musl-obj/hook/numapin-hook.o $(BUILD)/musl-obj/hook/updates.o \
		$(BUILD)/musl-obj/hook/heap.o $(BUILD)/musl-obj/hook/heap-libc.o $(MUSL_LIB)
	$(call MUSL_LINK,-ljson-c -lbpf -lelf -lz -lseccomp)
endif

$(MUSL_STAMP): build-aux/musl-deps.sh
	bash build-aux/musl-deps.sh $(MUSL_DIR)

$(BUILD)/musl-obj/%.o: %.c $(wildcard core/*.h) bpf/locality.h | $(MUSL_STAMP)
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(MUSL_CFLAGS) $(CFLAGS) -I$(BUILD)/bpf -I$(BUILD)/sandbox -c -o $@ $<

$(BUILD)/musl-obj/core/monitor.o $(BUILD)/musl-obj/core/monitor-load.o: $(BUILD)/bpf/locality.skel.h
$(BUILD)/musl-obj/core/monitor.o: $(BUILD)/bpf/locality.hash.h
$(BUILD)/musl-obj/core/sandbox.o: $(BUILD)/sandbox/sandbox-filters.h
$(patsubst %.c,$(BUILD)/musl-obj/%.o,$(wildcard hook/*.c)): $(wildcard hook/*.h)

$(MUSL_LIB): $(patsubst %.c,$(BUILD)/musl-obj/%.o,$(filter-out core/metrics-http.c,$(CORE_SRC)))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/numapinctl: $(BUILD)/obj/hook/numapinctl.o $(BUILD)/obj/hook/updates.o $(LIB)
	$(CC) $(NP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# Fully static: the plugin runs for the node's lifetime, and a static glibc
# keeps its resident memory to the code it uses (1.3 MiB idle against 2.3 MiB).
$(BUILD)/numapin-nri: $(BUILD)/obj/nri/numapin-nri.o $(NRI_LIB) $(LIB) $(MHD_LIB)
	$(CC) $(STATIC_LDFLAGS) -Wl,-z,relro,-z,now $(LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null) \
		-lbpf -lelf -lz -lseccomp -lprotobuf-c

# The exporter for hosts where only the hook runs: static too (the image's).
$(BUILD)/numapin-exporter: $(BUILD)/obj/hook/numapin-exporter.o $(LIB) $(MHD_LIB)
	$(CC) $(STATIC_LDFLAGS) -Wl,-z,relro,-z,now $(LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null) \
		-lbpf -lelf -lz -lseccomp

# The runtime side of NRI, written apart from nri/ so that the two check each other:
# tests/nri/*.c behind tests/nri/harness.h, sharing only the generated protobuf code.
$(BUILD)/tests/nri-harness: $(NRI_HARNESS_OBJ) $(PROTO_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(NP_LDFLAGS) $(LDFLAGS) -o $@ $^ -Wl,-Bstatic -lprotobuf-c -Wl,-Bdynamic

$(NRI_HARNESS_OBJ): $(PROTO_GEN_H) $(wildcard tests/nri/*.h)

# one rule for every unit test: a test takes from the libraries only what it calls
$(BUILD)/tests/test_heap: $(BUILD)/obj/hook/heap.o
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(NRI_LIB) $(LIB) $(MHD_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(NP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -Wl,-Bstatic -lprotobuf-c -Wl,-Bdynamic $(CMOCKA_LIBS)

$(BUILD)/bench/bench_place $(BUILD)/bench/bench_sandbox: $(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(NP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The hook's floor (tests/bench/floor-hook.c): numapin's seccomp filter and system
# calls, linked as numapin-hook is (its allocator too).
$(BUILD)/bench/floor-hook: $(BUILD)/musl-obj/tests/bench/floor-hook.o $(BUILD)/musl-obj/hook/heap.o \
		$(BUILD)/musl-obj/hook/heap-libc.o $(MUSL_LIB)
	@mkdir -p $(dir $@)
	$(call MUSL_LINK,-lseccomp)

# The trivial hook linked as numapin-hook is: the bench shows it beside the
# baseline (a plain C hook, as `cc` builds it), what a C library alone changes.
$(BUILD)/bench/trivial-hook-musl: $(BUILD)/musl-obj/tests/bench/trivial-hook.o
	@mkdir -p $(dir $@)
	$(call MUSL_LINK,)

# The state a /metrics scrape reads: records, cgroups and the real monitor's maps.
$(BUILD)/bench/bench_metrics_fixture: $(BUILD)/obj/tests/bench/bench_metrics_fixture.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(NP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The locality monitor's cost: its programs against empty ones on the same
# tracepoints (tests/bench/empty.bpf.c, through the BPF rules above).
$(BUILD)/obj/tests/bench/bench_bpf.o: tests/bench/bench_bpf.c $(BUILD)/bpf/empty.skel.h $(BUILD)/bpf/locality.skel.h \
		$(wildcard core/*.h) bpf/locality.h
	@mkdir -p $(dir $@)
	$(CC) $(NP_CFLAGS) $(CFLAGS) -I$(BUILD)/bpf -c -o $@ $<

$(BUILD)/bench/bench_bpf: $(BUILD)/obj/tests/bench/bench_bpf.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(NP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o
	@mkdir -p $(dir $@)
	$(CC) $(NP_LDFLAGS) $(LDFLAGS) -o $@ $^

# The sysfs fixture machines too large to commit (every `gen-all.sh --list generated`:
# large-32node, 8node-nps4, gb200-34node, 64node-8192cpu), generated from
# tests/fixtures/gen-all.sh into build/fixtures/sysfs/ once; the folder is the target
# (a machine with GPUs gets its NAME.proc/ beside it in the same run).
FIXTURES_GEN := $(addprefix $(SHARED_BUILD)/fixtures/sysfs/,$(shell bash tests/fixtures/gen-all.sh --list generated))
$(FIXTURES_GEN): $(SHARED_BUILD)/fixtures/sysfs/%: tests/fixtures/gen-all.sh tests/fixtures/gen-sysfs.sh
	@mkdir -p $(dir $@)
	bash tests/fixtures/gen-all.sh $* $@

$(UNIT_BINS) test test-unit test-integration test-asan bench: | $(FIXTURES_GEN)

# Installs what is missing from a list of Debian packages: one apt-get update,
# then one install.
define install_missing
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "error: installing packages needs root" >&2; exit 1; fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi
endef

deps:
	$(call install_missing,$(DEB_ALL))

deps-vm:
	$(call install_missing,$(DEB_ALL) $(DEB_VM))

deps-bench:
	$(call install_missing,$(DEB_ALL) $(DEB_BENCH))

# everything: unit, integration, e2e on this host, then the NUMA VM scenarios
test: deps-vm
	$(MAKE) --no-print-directory all $(UNIT_BINS) $(NRI_HARNESS)
	bash tests/run.sh all

# The unit and integration suites need neither root nor apt (`make deps` installs
# the build packages); the tests that need root report themselves skipped.
test-unit:
	$(MAKE) --no-print-directory all $(UNIT_BINS)
	bash tests/run.sh unit

test-integration:
	$(MAKE) --no-print-directory all $(NRI_HARNESS)
	bash tests/run.sh integration

test-bins: $(TEST_BINS)

# The unit and integration suites against the sanitizer build (SANITIZE=1 above, into
# build/asan/): a report of ASan, LeakSanitizer or UBSan in any binary they run fails
# the test that ran it (tests/run.sh). Slower than test-unit and test-integration
# together, so not a part of `make test`.
test-asan:
	$(MAKE) --no-print-directory SANITIZE=1 test-bins
	@status=0; \
	NUMAPIN_BUILD_DIR=$(ASAN_BUILD) bash tests/run.sh unit || status=1; \
	NUMAPIN_BUILD_DIR=$(ASAN_BUILD) bash tests/run.sh integration || status=1; \
	exit $$status

test-e2e: deps
	$(MAKE) --no-print-directory all
	bash tests/run.sh e2e

# The NUMA VM scenarios alone (2- and 4-node guests under qemu).
test-vm: deps-vm
	$(MAKE) --no-print-directory all
	bash tests/run.sh vm

demo: deps
	$(MAKE) --no-print-directory all $(NRI_HARNESS)
	bash examples/demo.sh

bench: deps-bench
	$(MAKE) --no-print-directory all $(BENCH_BINS) $(NRI_HARNESS)
	bash tests/bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/numapin/schema \
		$(DESTDIR)$(PREFIX)/share/numapin/examples/hooks.d $(DESTDIR)$(PREFIX)/share/numapin/examples/nri
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 schema/*.json schema/*.proto $(DESTDIR)$(PREFIX)/share/numapin/schema/
	install -m 0644 examples/hooks.d/*.json $(DESTDIR)$(PREFIX)/share/numapin/examples/hooks.d/
	install -d $(DESTDIR)$(PREFIX)/share/numapin/examples/hooks.d/always
	install -m 0644 examples/hooks.d/always/*.json $(DESTDIR)$(PREFIX)/share/numapin/examples/hooks.d/always/
	install -m 0644 examples/nri/* $(DESTDIR)$(PREFIX)/share/numapin/examples/nri/
	install -d $(DESTDIR)$(PREFIX)/share/numapin/examples/metrics
	install -m 0644 examples/metrics/* $(DESTDIR)$(PREFIX)/share/numapin/examples/metrics/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/numapin-hook $(DESTDIR)$(PREFIX)/bin/numapinctl $(DESTDIR)$(PREFIX)/bin/numapin-nri \
		$(DESTDIR)$(PREFIX)/bin/numapin-exporter
	rm -rf $(DESTDIR)$(PREFIX)/share/numapin

format:
	clang-format -i core/*.[ch] hook/*.[ch] nri/*.[ch] tests/unit/*.[ch] tests/bench/*.c tests/nri/*.[ch]

clean:
	rm -rf $(BUILD)

# libFuzzer targets (tests/fuzz/fuzz_<target>.c), one per parser or decoder: the
# core/ and nri/ sources compiled again with clang, libFuzzer, ASan and UBSan into
# build/fuzz/obj (never the gcc-built libraries), linked as LIBS links the tools.
# `make fuzz` runs each for FUZZ_SECONDS from its seeds in tests/fuzz/corpus/<target>
# (what they find kept in build/fuzz/corpus) and prints its runs (tests/fuzz/run.sh, which
# the test suites run for a few seconds with a fixed seed); FUZZ_SEED=N repeats a run.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SEED ?=
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -Ulinux -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter -Wshadow \
	-Wno-unused-function -fPIE $(FUZZ_SANITIZE) -fsanitize=fuzzer-no-link -DNUMAPIN_SRCDIR='"$(CURDIR)"' \
	$(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null) -I$(BUILD)/bpf -I$(BUILD)/nri -I$(BUILD)/sandbox \
	-I$(MHD_DIR)/include
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_CORE_OBJ := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(CORE_SRC))
FUZZ_NRI_OBJ := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(filter-out nri/numapin-nri.c,$(wildcard nri/*.c))) \
	$(BUILD)/fuzz/obj/gen/nri.pb-c.o $(BUILD)/fuzz/obj/gen/ttrpc.pb-c.o
FUZZ_LIB := $(BUILD)/fuzz/libnumapin-fuzz.a

$(BUILD)/fuzz/obj/%.o: %.c $(wildcard core/*.h nri/*.h tests/fuzz/*.h) bpf/locality.h $(PROTO_GEN_H) \
		$(BUILD)/bpf/locality.skel.h $(BUILD)/bpf/locality.hash.h $(MHD_LIB) $(BUILD)/sandbox/sandbox-filters.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(BUILD)/fuzz/obj/gen/%.pb-c.o: $(BUILD)/nri/%.pb-c.c $(BUILD)/nri/%.pb-c.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-shadow -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_CORE_OBJ) $(FUZZ_NRI_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB) $(MHD_LIB)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SANITIZE) -pie -o $@ $^ $(LIBS) -Wl,-Bstatic -lprotobuf-c -Wl,-Bdynamic

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	FUZZ_SMOKE_SECONDS=$(FUZZ_SECONDS) FUZZ_SEED=$(FUZZ_SEED) NUMAPIN_FUZZ_NO_BUILD=1 NUMAPIN_FUZZ_WORK=$${NUMAPIN_FUZZ_WORK:-$(BUILD)/fuzz/corpus} \
		bash tests/fuzz/run.sh

image: all
	bash examples/image/build.sh
