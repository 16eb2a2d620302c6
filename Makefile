# SPDX-License-Identifier: MIT
# numapin: build, test, demo, bench and install. Build output goes to build/ only.
# `make demo` and `make test` install the Debian packages they need first.

PREFIX ?= /usr/local
DESTDIR ?=
BUILD := build

CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
NP_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE \
	$(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)
NP_LDFLAGS := -pie -Wl,-z,relro,-z,now
# json-c and libbpf (with libelf and zlib) are linked statically: the hook runs
# once per container, and loading shared libraries is a tenth of its run time.
LIBS := -Wl,-Bstatic $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null) -lbpf -lelf -lz -Wl,-Bdynamic
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

# Debian packages: to build, to test (real runtimes), and for the demo.
DEB_BUILD := gcc make pkg-config libjson-c-dev libcmocka-dev clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
DEB_TEST := runc podman busybox-static jq util-linux
DEB_ALL := $(DEB_BUILD) $(DEB_TEST)
# The emulated NUMA machine (tests/vm): qemu, crun for the guest, cc for its workload.
DEB_VM := qemu-system-x86 qemu-utils crun gcc libc6-dev

CORE_SRC := $(wildcard core/*.c)
CORE_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(CORE_SRC))
LIB := $(BUILD)/libnumapin.a
BINS := $(BUILD)/numapin-hook $(BUILD)/numapinctl
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_BINS := $(BUILD)/bench/bench_place $(BUILD)/bench/bench_exec $(BUILD)/bench/trivial-hook \
	$(BUILD)/bench/bench_bpf

.PHONY: all deps deps-vm test test-unit test-integration test-e2e test-vm demo bench install uninstall format clean

all: $(BINS)

$(BUILD)/obj/%.o: %.c $(wildcard core/*.h) bpf/locality.h
	@mkdir -p $(dir $@)
	$(CC) $(NP_CFLAGS) $(CFLAGS) -I$(BUILD)/bpf -c -o $@ $<

# The locality monitor's BPF object (CO-RE: no kernel headers needed), embedded in
# the binaries through a libbpf skeleton.
CLANG ?= clang
BPFTOOL ?= bpftool
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
$(BUILD)/bpf/locality.bpf.o: bpf/locality.bpf.c bpf/locality.h
	@mkdir -p $(dir $@)
	$(CLANG) -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(BPF_ARCH) \
		-I/usr/include/$(shell $(CC) -dumpmachine) -c -o $@.tmp $<
	$(BPFTOOL) gen object $@ $@.tmp
	@rm -f $@.tmp

$(BUILD)/bpf/locality.skel.h: $(BUILD)/bpf/locality.bpf.o
	$(BPFTOOL) gen skeleton $< name locality_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/core/monitor.o: $(BUILD)/bpf/locality.skel.h

$(LIB): $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/numapin-hook: $(BUILD)/obj/hook/numapin-hook.o $(LIB)
	$(CC) $(NP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/numapinctl: $(BUILD)/obj/hook/numapinctl.o $(LIB)
	$(CC) $(NP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(NP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(CMOCKA_LIBS)

$(BUILD)/bench/bench_place: $(BUILD)/obj/tests/bench/bench_place.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(NP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The locality monitor's cost: its programs against empty ones on the same
# tracepoints (tests/bench/empty.bpf.c, built like bpf/locality.bpf.c).
$(BUILD)/bench/empty.bpf.o: tests/bench/empty.bpf.c
	@mkdir -p $(dir $@)
	$(CLANG) -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(BPF_ARCH) \
		-I/usr/include/$(shell $(CC) -dumpmachine) -c -o $@.tmp $<
	$(BPFTOOL) gen object $@ $@.tmp
	@rm -f $@.tmp

$(BUILD)/bench/empty.skel.h: $(BUILD)/bench/empty.bpf.o
	$(BPFTOOL) gen skeleton $< name empty_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/tests/bench/bench_bpf.o: tests/bench/bench_bpf.c $(BUILD)/bench/empty.skel.h $(BUILD)/bpf/locality.skel.h \
		$(wildcard core/*.h) bpf/locality.h
	@mkdir -p $(dir $@)
	$(CC) $(NP_CFLAGS) $(CFLAGS) -I$(BUILD)/bpf -I$(BUILD)/bench -c -o $@ $<

$(BUILD)/bench/bench_bpf: $(BUILD)/obj/tests/bench/bench_bpf.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(NP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o
	@mkdir -p $(dir $@)
	$(CC) $(NP_LDFLAGS) $(LDFLAGS) -o $@ $^

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

# everything: unit, integration, e2e on this host, then the NUMA VM scenarios
test: deps-vm
	$(MAKE) --no-print-directory all $(UNIT_BINS)
	bash tests/run.sh all

test-unit: deps
	$(MAKE) --no-print-directory all $(UNIT_BINS)
	bash tests/run.sh unit

test-integration: deps
	$(MAKE) --no-print-directory all
	bash tests/run.sh integration

test-e2e: deps
	$(MAKE) --no-print-directory all
	bash tests/run.sh e2e

# The NUMA VM scenarios alone (2- and 4-node guests under qemu).
test-vm: deps-vm
	$(MAKE) --no-print-directory all
	bash tests/run.sh vm

demo: deps
	$(MAKE) --no-print-directory all
	bash examples/demo.sh

bench: deps
	$(MAKE) --no-print-directory all $(BENCH_BINS)
	bash tests/bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/numapin/schema \
		$(DESTDIR)$(PREFIX)/share/numapin/examples/hooks.d
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 schema/*.json $(DESTDIR)$(PREFIX)/share/numapin/schema/
	install -m 0644 examples/hooks.d/*.json $(DESTDIR)$(PREFIX)/share/numapin/examples/hooks.d/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/numapin-hook $(DESTDIR)$(PREFIX)/bin/numapinctl
	rm -rf $(DESTDIR)$(PREFIX)/share/numapin

format:
	clang-format -i core/*.[ch] hook/*.c tests/unit/*.[ch] tests/bench/*.c

clean:
	rm -rf $(BUILD)
