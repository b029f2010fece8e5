# SPDX-License-Identifier: GPL-2.0
#
# The install directories, for every Makefile that installs (scripts/host.mk
# for the top level, lib/libunifiedio, bpf and tools through bpf/tools.mk,
# tools): DESTDIR, PREFIX and the directories below it, each overridable on
# the command line.  Include it with TOP set.

# A path with white space splits into several words in the install recipes,
# and a word that happens to be absolute passes install-guard.sh: refuse it.
$(foreach v,DESTDIR PREFIX LIBDIR INCLUDEDIR MANDIR SBINDIR PKGCONFIGDIR BPFDIR,\
	$(if $(word 2,$($(v))),$(error $(v) contains white space: "$($(v))")))

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
SBINDIR ?= $(PREFIX)/sbin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# The BPF objects: built for this machine's byte order, so under lib.
BPFDIR ?= $(LIBDIR)/bpf/unified_io
INSTALL ?= install
