# SPDX-License-Identifier: GPL-2.0
#
# unified_io top-level Makefile.
#
# Run from the host: every target re-executes itself inside the Debian trixie
# sysroot (scripts/sysroot.sh), which is created on first use, with the
# variables given on the command line. Inside the sysroot it builds the
# patched test kernel (scripts/kernel.sh, cached outside the repository), the
# modules against the sysroot's Debian kernel headers and against the patched
# kernel, and the user-space parts with the sysroot's toolchain, liburing and
# libbpf.
#
#   make              build everything (kernel, modules, library, tools, selftests)
#   make kernel       build the patched kernel unless it is cached
#   make kernel-debug the same for its debug variant (KASAN, lockdep, kmemleak),
#                     and the modules for it
#   make module       the modules: in-tree .ko files for the Debian kernel, and
#                     build/kmod-patched/ for the patched kernel
#   make check        build, then run the selftests in QEMU guests (Debian
#                     kernel, then patched kernel)
#   make demo         build, then run the demo (README's main job) in a guest
#   make bench        build, then run the benchmarks in a guest
#   make checkpatch   run the kernel's checkpatch.pl on the driver
#   make clean        remove build outputs (never the kernel cache)
#
# Variables: KDIR (the Debian kernel's build dir), DEBUG=1 (the patched
# kernel's debug variant for "kernel" and "module"), V=1.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

ifneq ($(UNIFIED_IO_IN_SYSROOT),1)

.PHONY: all $(MAKECMDGOALS)
all $(filter-out all,$(MAKECMDGOALS)):
	@$(TOP)/scripts/sysroot.sh run $(MAKE) --no-print-directory -C $(TOP) $@ $(MAKEOVERRIDES)

else

KVER ?= $(shell $(TOP)/scripts/sysroot.sh kver)
KDIR ?= /usr/lib/modules/$(KVER)/build
BUILD := $(TOP)/build
export TOP BUILD KVER KDIR

# The patched kernel, or with DEBUG=1 its debug variant, and the directory
# the modules for it are built in, with the repository's layout.
KERNEL_OPT := $(if $(filter 1,$(DEBUG)),--debug)
KMOD_PATCHED := $(BUILD)/kmod-patched$(if $(KERNEL_OPT),-debug)
# The module sources: kbuild files, C sources and headers.
KMOD_SOURCES = $(shell cd $(TOP) && find Kbuild drivers include -type f \
	\( -name Kbuild -o -name '*.[ch]' \) ! -name '*.mod.c')

.PHONY: all kernel kernel-debug module module-stock module-patched lib tools bpf \
	syscount copycount selftests examples check demo bench checkpatch clean versions

all: kernel module lib tools bpf syscount copycount selftests examples

versions:
	@$(TOP)/scripts/sysroot.sh versions

kernel:
	@$(TOP)/scripts/kernel.sh ensure $(KERNEL_OPT) >/dev/null

kernel-debug:
	$(MAKE) kernel module-patched DEBUG=1

module: module-stock module-patched

module-stock:
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 KCFLAGS=-Werror modules

# Kbuild refuses a separate output directory (MO=) for a source tree that
# holds an in-tree build, and module-stock leaves one.  So the patched build
# runs in a mirror of the sources: symbolic links with the repository's
# layout (stale ones removed), and the outputs next to them.  "ensure" is a
# no-op once the kernel target has built the kernel.
module-patched: kernel
	@mkdir -p $(KMOD_PATCHED)
	@find $(KMOD_PATCHED) -xtype l -delete
	@cd $(KMOD_PATCHED) && for f in $(KMOD_SOURCES); do \
		[ -L $$f ] || { mkdir -p $$(dirname $$f) && ln -s $(TOP)/$$f $$f; }; \
	done
	kdir=$$($(TOP)/scripts/kernel.sh ensure $(KERNEL_OPT)) && \
		$(MAKE) -C $$kdir/build M=$(KMOD_PATCHED) W=1 KCFLAGS=-Werror modules

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

# The documentation's example is compiled so it cannot drift from the ABI.
examples: $(BUILD)/examples/region_basic

$(BUILD)/examples/region_basic: $(TOP)/Documentation/examples/region_basic.c \
		$(TOP)/include/uapi/linux/unified_io.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -Werror -I$(TOP)/include/uapi -o $@ $<

check: all checkpatch
	@$(TOP)/scripts/sysroot.sh versions
	$(TOP)/selftests/run_vm.sh

# The demo receives TCP through the native provider: the patched kernel.
demo: all
	$(TOP)/tools/vm/run --kernel patched -- $(TOP)/tools/demo.sh

# Region, storage and compute on the stock kernel; network (native provider,
# zcrx over the region, recv()) in one boot of the patched kernel.
bench: all
	$(TOP)/tools/vm/run --timeout 1200 --env UIO_BENCH_NET=0 -- $(TOP)/tools/bench/run.sh
	$(TOP)/tools/vm/run --kernel patched --timeout 900 -- $(TOP)/tools/bench/run.sh --net-only

checkpatch:
	$(TOP)/scripts/checkpatch.sh

clean:
	$(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -rf $(BUILD)

endif
