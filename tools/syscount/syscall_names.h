/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Names of the native (x86_64) system calls, indexed by number; NULL for
 * numbers without one. The table is generated at build time from
 * <asm/unistd_64.h> by gen-syscall-names.awk.
 */
#ifndef SYSCOUNT_SYSCALL_NAMES_H
#define SYSCOUNT_SYSCALL_NAMES_H

extern const char *const syscount_syscall_names[];
extern const unsigned int syscount_nr_syscall_names;

#endif /* SYSCOUNT_SYSCALL_NAMES_H */
