# SPDX-License-Identifier: GPL-2.0-only
#
# bpf/tools.mk - the part shared by bpf/Makefile and the Makefiles of the
# BPF loaders in tools/ (syscount, copycount).  Set SRCDIR (the including
# Makefile's directory) and TOP first, and in a loader's Makefile LOADER
# (the tool's name).
#
# Run from the host, the including Makefile re-executes itself inside the
# sysroot (the rule below) for every goal but install-built and uninstall,
# which only copy or remove built files and so run where make runs (the
# top-level make install builds in the sysroot, then installs with them).
# Its other rules are for inside the sysroot, under
# "ifeq ($(UNIFIED_IO_IN_SYSROOT),1)".  On both sides this file gives
#   BUILD, BPFOUT   the build directory and $(BUILD)/bpf (the skeletons)
#   Q, msg          the V=1 switch: "$(call msg,CC,$@)" prints "  CC  file"
#   PREFIX, LIBDIR, INCLUDEDIR, MANDIR, SBINDIR, PKGCONFIGDIR, INSTALL
#                   where install puts things (defaults as in
#                   lib/libunifiedio/Makefile; DESTDIR before each)
# and, for a loader, install, install-built and uninstall: $(OUT)/$(LOADER)
# into $(SBINDIR), $(SRCDIR)/$(LOADER).8 into $(MANDIR)/man8.  Inside the
# sysroot it also gives
#   all             the default goal; the including Makefile adds to it
# and, for a loader,
#   OUT, OBJ        $(BUILD)/tools and its obj/$(LOADER)
#   SKEL            $(BUILD)/bpf/$(LOADER).skel.h, made by bpf/Makefile
#   JSONDIR         tools/common, for json_writer
#   CFLAGS, CPPFLAGS, LIBBPF_LIBS
#   LOADER_OBJS     the code every loader links (tracecmd.o, json_writer.o)
#   LOADER_HDRS     the shared headers a loader's main object includes

# The install rules below come first; "all" stays the default goal.
.DEFAULT_GOAL := all

BUILD ?= $(TOP)/build
BPFOUT := $(BUILD)/bpf

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

include $(TOP)/scripts/install-dirs.mk

ifdef LOADER

.PHONY: install install-built uninstall

# The tools are section 8 (they need CAP_BPF or root), hence sbin.
define loader-install
	$(Q)$(TOP)/scripts/install-guard.sh $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)
	$(Q)[ -f $(BUILD)/tools/$(LOADER) ] || \
		{ echo "install: no $(BUILD)/tools/$(LOADER): build it first (make $(LOADER))" >&2; exit 1; }
	$(call msg,INSTALL,$(DESTDIR)$(SBINDIR)/$(LOADER))
	$(Q)$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	$(Q)$(INSTALL) -m 755 $(BUILD)/tools/$(LOADER) $(DESTDIR)$(SBINDIR)/
	$(Q)$(INSTALL) -m 644 $(SRCDIR)/$(LOADER).8 $(DESTDIR)$(MANDIR)/man8/
endef

install-built:
	$(loader-install)

uninstall:
	$(Q)$(TOP)/scripts/install-guard.sh $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)
	rm -f $(DESTDIR)$(SBINDIR)/$(LOADER) $(DESTDIR)$(MANDIR)/man8/$(LOADER).8

endif

ifneq ($(UNIFIED_IO_IN_SYSROOT),1)

.PHONY: all $(MAKECMDGOALS)
all $(filter-out all install-built uninstall,$(MAKECMDGOALS)):
	@$(TOP)/scripts/sysroot.sh run $(MAKE) --no-print-directory -C $(SRCDIR) $@ $(MAKEOVERRIDES)

else

.PHONY: all clean FORCE
.DELETE_ON_ERROR:

all:

ifdef LOADER

install: all
	$(loader-install)

OUT := $(BUILD)/tools
OBJ := $(OUT)/obj/$(LOADER)
SKEL := $(BPFOUT)/$(LOADER).skel.h
JSONDIR := $(TOP)/tools/common

CC ?= cc
PKG_CONFIG ?= pkg-config

LIBBPF_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBBPF_LIBS := $(or $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null),-lbpf -lelf -lz)

CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wmissing-prototypes -Wstrict-prototypes -Wpointer-arith -D_GNU_SOURCE
override CPPFLAGS += -I$(SRCDIR) -I$(BPFOUT) -I$(TOP)/bpf -I$(JSONDIR) \
	$(LIBBPF_CFLAGS)

LOADER_OBJS := $(OBJ)/json_writer.o $(OBJ)/tracecmd.o
LOADER_HDRS := $(TOP)/bpf/proctree.h $(TOP)/bpf/tracecmd.h $(JSONDIR)/json_writer.h

$(SKEL): FORCE
	$(Q)$(MAKE) --no-print-directory -C $(TOP)/bpf TOP=$(TOP) BUILD=$(BUILD)

$(OBJ)/json_writer.o: $(JSONDIR)/json_writer.c $(JSONDIR)/json_writer.h
$(OBJ)/tracecmd.o: $(TOP)/bpf/tracecmd.c $(TOP)/bpf/tracecmd.h $(JSONDIR)/json_writer.h

endif

endif
