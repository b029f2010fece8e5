# SPDX-License-Identifier: GPL-2.0-only
#
# bpf/tools.mk - the part shared by bpf/Makefile and the Makefiles of the
# BPF loaders in tools/ (syscount, copycount).  Set SRCDIR (the including
# Makefile's directory) and TOP first, and in a loader's Makefile LOADER
# (the tool's name).
#
# Run from the host, the including Makefile re-executes itself inside the
# sysroot (the rule below); its own rules are for inside the sysroot, under
# "ifeq ($(UNIFIED_IO_IN_SYSROOT),1)".  There this file gives
#   BUILD, BPFOUT   the build directory and $(BUILD)/bpf (the skeletons)
#   Q, msg          the V=1 switch: "$(call msg,CC,$@)" prints "  CC  file"
#   all             the default goal; the including Makefile adds to it
# and, for a loader,
#   OUT, OBJ        $(BUILD)/tools and its obj/$(LOADER)
#   SKEL            $(BUILD)/bpf/$(LOADER).skel.h, made by bpf/Makefile
#   JSONDIR         tools/common, for json_writer
#   CFLAGS, CPPFLAGS, LIBBPF_LIBS
#   LOADER_OBJS     the code every loader links (tracecmd.o, json_writer.o)
#   LOADER_HDRS     the shared headers a loader's main object includes

ifneq ($(UNIFIED_IO_IN_SYSROOT),1)

.PHONY: all $(MAKECMDGOALS)
all $(filter-out all,$(MAKECMDGOALS)):
	@$(TOP)/scripts/sysroot.sh run $(MAKE) --no-print-directory -C $(SRCDIR) $@ $(MAKEOVERRIDES)

else

BUILD ?= $(TOP)/build
BPFOUT := $(BUILD)/bpf

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.PHONY: all clean FORCE
.DELETE_ON_ERROR:

all:

ifdef LOADER

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
