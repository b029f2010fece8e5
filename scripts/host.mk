# SPDX-License-Identifier: GPL-2.0
#
# Targets that run where make runs (on a real machine, not in the sysroot):
# building the modules in the tree for one kernel, DKMS, and installing the
# user-space parts.  Included by the top-level Makefile on both sides.
#
#   make module-kdir [KDIR=DIR]        the modules in the tree, for the kernel
#                                      build directory DIR (default: the
#                                      running kernel's)
#   make dkms-tree [DESTDIR=D]         the DKMS source tree in
#                                      D/usr/src/unified-io-VERSION
#   make dkms-install                  dkms-tree, then dkms add, and build
#                                      and install for every installed
#                                      kernel that has headers (root)
#   make dkms-uninstall                dkms remove --all, and the source tree
#   make install [DESTDIR=D] [PREFIX=P]
#                                      the library, headers, BPF programs,
#                                      tools, man pages and pkg-config
#                                      files into D/P (P: /usr/local)
#   make uninstall                     what install wrote

UNIFIED_IO_VERSION := $(shell sed -n 's/^VERSION_\(MAJOR\|MINOR\|PATCH\) := //p' \
	$(TOP)/lib/libunifiedio/Makefile | paste -sd.)
KDIR ?= /lib/modules/$(shell uname -r)/build
DKMS_NAME := unified-io
DKMS_SRC = $(DESTDIR)/usr/src/$(DKMS_NAME)-$(UNIFIED_IO_VERSION)
# What DKMS needs to build the modules: kbuild files, sources, the uapi
# header and the API probes.
DKMS_FILES = Kbuild include/kcompat.h $(shell cd $(TOP) && find drivers include/uapi scripts/kapi \
	-type f \( -name Kbuild -o -name '*.[ch]' -o -name '*.sym' \) ! -name '*.mod.c') \
	scripts/kapi.sh

module-kdir:
	$(TOP)/scripts/kapi.sh $(KDIR) $(TOP)
	$(MAKE) -C $(KDIR) M=$(TOP) modules

dkms-tree:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cd $(TOP) && cp --parents $(DKMS_FILES) $(DKMS_SRC)/
	sed 's/@VERSION@/$(UNIFIED_IO_VERSION)/' $(TOP)/dkms.conf >$(DKMS_SRC)/dkms.conf

dkms-install: dkms-tree
	dkms status -m $(DKMS_NAME) -v $(UNIFIED_IO_VERSION) | grep -q . || \
		dkms add -m $(DKMS_NAME) -v $(UNIFIED_IO_VERSION)
	@for k in $$(ls /lib/modules); do \
		[ -e /lib/modules/$$k/build ] || continue; \
		echo "dkms: $(DKMS_NAME) $(UNIFIED_IO_VERSION) for $$k"; \
		dkms install -m $(DKMS_NAME) -v $(UNIFIED_IO_VERSION) -k $$k || exit; \
	done

dkms-uninstall:
	-dkms remove -m $(DKMS_NAME) -v $(UNIFIED_IO_VERSION) --all
	rm -rf $(DKMS_SRC)

# make install: the user-space parts are built where everything is built
# and installed where make runs (README.md, "Installing").  From the host
# the build runs in the sysroot, so the host needs neither liburing 2.10
# nor clang, and the files are copied here into $(DESTDIR)$(PREFIX): a
# staging tree to package, or the /usr/local of a machine that runs what
# the sysroot built (Debian trixie with liburing2 2.10 or later).  The
# copy goes through each directory's install-built, the same rules its
# own "make install" uses.  Inside the sysroot, or on a trixie machine
# that builds natively (UNIFIED_IO_IN_SYSROOT=1 make install), both steps
# run here, and scripts/install-guard.sh refuses the sysroot's own tree,
# which every guest boots as its root file system.  Neither installs the
# kernel module (make dkms-install) nor a test or benchmark binary.
INSTALL_GOALS := lib tools bpf syscount copycount
INSTALL_SUBDIRS := lib/libunifiedio bpf tools tools/syscount tools/copycount
include $(TOP)/scripts/install-dirs.mk

ifeq ($(UNIFIED_IO_IN_SYSROOT),1)
install_build = $(MAKE) --no-print-directory -C $(TOP) $(INSTALL_GOALS)
else
install_build = $(TOP)/scripts/sysroot.sh run $(MAKE) --no-print-directory -C $(TOP) \
	$(INSTALL_GOALS) $(MAKEOVERRIDES)
endif

# An install for this machine (no DESTDIR) that it cannot run says so:
# the tools need the sysroot's glibc and liburing.
install:
	@$(TOP)/scripts/install-guard.sh $(DESTDIR)$(PREFIX)
	@$(install_build)
	@for d in $(INSTALL_SUBDIRS); do \
		$(MAKE) --no-print-directory -C $(TOP)/$$d TOP=$(TOP) install-built || exit; \
	done
	@t=$(or $(SBINDIR),$(PREFIX)/sbin)/unified-io; \
	if [ -z "$(DESTDIR)" ] && missing=$$(ldd $$t 2>&1 | grep 'not found'); then \
		echo "install: $$t (and the library) cannot run on this machine:"; \
		echo "$$missing"; \
		echo "install: they need Debian trixie's glibc, liburing2 2.10 or later, libnvme1t64" \
			"and libbpf1; they run in the sysroot and in tools/vm/run guests (README.md," \
			"\"Installing\")"; \
	fi

uninstall:
	@for d in $(INSTALL_SUBDIRS); do \
		$(MAKE) --no-print-directory -C $(TOP)/$$d TOP=$(TOP) uninstall || exit; \
	done
