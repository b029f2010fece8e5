# SPDX-License-Identifier: GPL-2.0
#
# unified_io top-level Makefile.
#
# Run from the host: every target re-executes itself inside the Debian trixie
# sysroot (scripts/sysroot.sh), which is created on first use. Inside the
# sysroot it builds the module against the sysroot's Debian kernel headers and
# the user-space parts with the sysroot's toolchain, liburing and libbpf.
#
#   make             build everything (module, library, tools, selftests)
#   make check       build, then run the selftests in a QEMU guest
#   make demo        build, then run the demo (README's main job) in a guest
#   make bench       build, then run the benchmarks in a guest
#   make checkpatch  run the kernel's checkpatch.pl on the driver
#   make clean       remove build outputs
#
# Variables: KDIR (kernel build dir), V=1.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

ifneq ($(UNIFIED_IO_IN_SYSROOT),1)

.PHONY: all $(MAKECMDGOALS)
all $(filter-out all,$(MAKECMDGOALS)):
	@$(TOP)/scripts/sysroot.sh run $(MAKE) --no-print-directory -C $(TOP) $@

else

KVER ?= $(shell $(TOP)/scripts/sysroot.sh kver)
KDIR ?= /usr/lib/modules/$(KVER)/build
BUILD := $(TOP)/build
export TOP BUILD KVER KDIR

.PHONY: all module lib tools bpf syscount copycount selftests examples check demo bench \
	checkpatch clean versions

all: module lib tools bpf syscount copycount selftests examples

versions:
	@$(TOP)/scripts/sysroot.sh versions

module:
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 KCFLAGS=-Werror modules

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

demo: all
	$(TOP)/tools/vm/run -- $(TOP)/tools/demo.sh

bench: all
	$(TOP)/tools/vm/run --timeout 1200 -- $(TOP)/tools/bench/run.sh

checkpatch:
	$(TOP)/scripts/checkpatch.sh

clean:
	$(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -rf $(BUILD)

endif
