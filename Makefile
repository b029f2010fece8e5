# SPDX-License-Identifier: GPL-2.0
#
# unified_io top-level Makefile.
#
# Run from the host: every target but the host ones below re-executes itself
# inside the Debian trixie sysroot (scripts/sysroot.sh), which is created on
# first use, with the variables given on the command line. Inside the sysroot
# it builds, for every kernel of the kernel matrix (kernel/matrix), the
# modules (and the patched kernels, scripts/kernel.sh, cached outside the
# repository), then the user-space parts with the sysroot's toolchain,
# liburing and libbpf.
#
#   make              build everything (kernels, modules, library, tools, selftests)
#   make kernel       build the matrix's patched kernels unless they are cached
#   make module       the modules for every matrix kernel, in build/kmod/NAME/
#   make check        build, then run the selftests in one QEMU guest per
#                     matrix kernel, the DKMS build test and the install
#                     test (scripts/install-test.sh)
#   make demo         build, then run the demo (README's main job) in a guest
#                     per matrix kernel
#   make bench        build, then run the benchmarks in a guest per matrix kernel
#   make checkpatch   run the kernel's checkpatch.pl on the drivers
#   make matrix       show the matrix: each kernel and the Debian package it is
#   make clean        remove build outputs (never the kernel cache)
#
# Host targets (run where make runs, for a real machine):
#
#   make help                   the targets and variables, one line each
#   make module-kdir KDIR=DIR   the modules in the tree for the kernel build
#                               directory DIR (default: the running kernel's)
#   make dkms-install           register the modules with DKMS for every
#                               installed kernel (as root); dkms-uninstall
#   make install                build the user-space parts in the sysroot,
#                               then install them into $(DESTDIR)$(PREFIX)
#                               here (scripts/host.mk); uninstall
#
# Variables: KERNELS (matrix entries for kernel, module, check, demo and
# bench; default all, but demo and bench skip debug entries), V=1, and
# DESTDIR, PREFIX (default /usr/local), LIBDIR, INCLUDEDIR, MANDIR, SBINDIR,
# PKGCONFIGDIR, BPFDIR for install.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
HOST_GOALS := help module-kdir dkms-install dkms-uninstall dkms-tree install uninstall

ifneq ($(UNIFIED_IO_IN_SYSROOT),1)

SYSROOT_GOALS := $(filter-out $(HOST_GOALS),$(or $(MAKECMDGOALS),all))

.PHONY: $(SYSROOT_GOALS) $(HOST_GOALS)
$(SYSROOT_GOALS):
	@$(TOP)/scripts/sysroot.sh run $(MAKE) --no-print-directory -C $(TOP) $@ $(MAKEOVERRIDES)

include $(TOP)/scripts/host.mk

else

BUILD := $(TOP)/build
MATRIX := $(TOP)/scripts/matrix.sh
KERNELS ?= $(shell $(MATRIX) entries)
# The demo and the benchmarks run on the kernels users run, not on the debug
# kernel (a test instrument: KASAN and lockdep make it several times slower).
RUN_KERNELS := $(filter $(KERNELS),$(shell $(MATRIX) entries stock patched))
export TOP BUILD KERNELS

.PHONY: all kernel module userspace lib tools bpf syscount copycount selftests examples \
	check demo bench checkpatch matrix clean versions $(HOST_GOALS)

all: kernel module userspace

# Everything but the kernels and the modules.
userspace: lib tools bpf syscount copycount selftests examples

versions matrix:
	@$(TOP)/scripts/sysroot.sh versions
	@$(MATRIX) untested

kernel:
	@for n in $(KERNELS); do \
		[ "$$($(MATRIX) get $$n kind)" = stock ] || \
			$(TOP)/scripts/kernel.sh ensure $$n >/dev/null || exit; \
	done

module: kernel
	$(TOP)/scripts/kmod.sh $(KERNELS)

include $(TOP)/scripts/host.mk

lib:
	$(MAKE) -C $(TOP)/lib/libunifiedio

tools: lib
	$(MAKE) -C $(TOP)/tools

bpf:
	$(MAKE) -C $(TOP)/bpf

syscount: bpf tools
	$(MAKE) -C $(TOP)/tools/syscount

copycount: bpf tools
	$(MAKE) -C $(TOP)/tools/copycount

selftests: lib
	$(MAKE) -C $(TOP)/selftests

# The programs of examples/ (region_basic is also the documentation's),
# into build/examples; make check runs them (examples/test.sh).
examples: lib bpf
	$(MAKE) -C $(TOP)/examples

# The passes build the kernels and modules they need (selftests/run_vm.sh:
# the patched kernels in the background while the stock passes run); the
# user-space build runs once that background build has started.
check:
	$(TOP)/selftests/run_vm.sh --userspace

# The demo on every matrix kernel: on a patched one the region is the NIC
# queue's memory provider, on a stock one io_uring zcrx fills its data area.
# The demo and the benchmarks build only the kernels they run on.
demo bench: KERNELS := $(RUN_KERNELS)
demo: all
	@for n in $(RUN_KERNELS); do \
		echo "=== demo on $$($(MATRIX) describe $$n)"; \
		$(TOP)/tools/vm/run --kernel $$n -- $(TOP)/tools/demo.sh || exit; \
	done

# The benchmarks in one boot per matrix kernel, each into
# build/bench/NAME/.  The network benchmark's native mode needs a patched
# kernel; on a stock one it runs the other modes.
bench: all
	@for n in $(RUN_KERNELS); do \
		echo "=== bench on $$($(MATRIX) describe $$n)"; \
		$(TOP)/tools/vm/run --kernel $$n --timeout 2400 \
			--env UNIFIED_IO_BENCH_OUT=$(BUILD)/bench/$$n -- $(TOP)/tools/bench/run.sh || exit; \
	done

checkpatch:
	$(TOP)/scripts/checkpatch.sh

clean:
	rm -rf $(BUILD)
	find $(TOP)/drivers \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name modules.order \) -delete
	rm -rf $(TOP)/include/kapi $(TOP)/Module.symvers $(TOP)/modules.order \
		$(TOP)/.*.cmd $(TOP)/.module-common.o

endif

# One line per public target and variable.  A host goal: it needs no
# sysroot, and answers at once on a machine that has none yet.
help:
	@printf '%s\n' \
	'Targets (all but the host ones run inside the Debian trixie sysroot,' \
	'which the first of them creates; README.md says what each does):' \
	'  all             (default) kernel, module and userspace' \
	'  kernel          the patched kernels of the matrix, unless cached' \
	'  module          the modules for every matrix kernel, in build/kmod/NAME/' \
	'  userspace       lib, tools, bpf, syscount, copycount, selftests, examples' \
	'  lib             libunifiedio (shared, static, pkg-config file), build/lib/' \
	'  tools           unified-io, unio-netstream, the benchmarks, build/tools/' \
	'  bpf             the BPF programs and their skeletons, build/bpf/' \
	'  syscount        the BPF system call counter, build/tools/' \
	'  copycount       the BPF copied-bytes counter, build/tools/' \
	'  examples        the example programs, build/examples/' \
	'  selftests       the kselftest-harness tests, build/selftests/' \
	'  check           all tests: a QEMU guest per matrix kernel, DKMS, install' \
	'  demo            the demo in a guest per matrix kernel' \
	'  bench           the benchmarks in a guest per matrix kernel, build/bench/' \
	'  checkpatch      the kernel'"'"'s checkpatch.pl on the drivers' \
	'  matrix          the matrix kernels and their packages, the toolchain' \
	'                  versions, series the archive has beyond the matrix' \
	'  versions        the same as matrix' \
	'  clean           remove build/ (never the kernel cache)' \
	'Host targets (run where make runs):' \
	'  help            this list' \
	'  install         lib, tools, bpf built in the sysroot, installed here' \
	'                  into DESTDIR/PREFIX (README.md, "Installing")' \
	'  uninstall       remove what install wrote' \
	'  module-kdir     the modules in the tree for KDIR (default: running kernel)' \
	'  dkms-install    the modules through DKMS, every installed kernel (root)' \
	'  dkms-uninstall  dkms remove, and the source tree in /usr/src' \
	'Variables:' \
	'  KERNELS=NAME... matrix entries for kernel, module, check, demo, bench' \
	'                  (default all; demo and bench skip the debug kernel)' \
	'  UNIFIED_IO_CACHE=DIR  sysroot and kernels (default /var/cache/unified_io)' \
	'  PREFIX=DIR      install prefix (default /usr/local); LIBDIR, INCLUDEDIR,' \
	'                  MANDIR, SBINDIR, PKGCONFIGDIR, BPFDIR below it by default' \
	'  DESTDIR=DIR     staging root for install and uninstall' \
	'  KDIR=DIR        kernel build directory for module-kdir' \
	'  V=1             show the commands'
