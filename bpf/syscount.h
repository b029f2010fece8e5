/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Types shared by syscount.bpf.c and its loader (tools/syscount).
 *
 * Plain C only: this header is included both by BPF code (after vmlinux.h)
 * and by user space (after <linux/types.h>), so it uses __u32/__u64 and no
 * kernel or libc declarations.
 */
#ifndef UNIFIED_IO_BPF_SYSCOUNT_H
#define UNIFIED_IO_BPF_SYSCOUNT_H

#include "proctree.h"

/*
 * Slots of the "counts" map: one per system call number below
 * SYSCOUNT_NR_SYSCALLS, and one more (SYSCOUNT_SLOT_OTHER) for numbers
 * outside that range (x32 numbers with __X32_SYSCALL_BIT, syscall(-1), ...).
 */
#define SYSCOUNT_NR_SYSCALLS	1024
#define SYSCOUNT_SLOT_OTHER	SYSCOUNT_NR_SYSCALLS
#define SYSCOUNT_NR_SLOTS	(SYSCOUNT_NR_SYSCALLS + 1)

/* Processes (thread groups) of the traced tree tracked at once. */
#define SYSCOUNT_MAX_PROCS	PROCTREE_MAX_PROCS

/**
 * struct syscount_val - per-CPU value of one "counts" slot
 * @calls:  system call entries (raw_syscalls/sys_enter)
 * @errors: returns with a value in [-4095, -1] (raw_syscalls/sys_exit)
 */
struct syscount_val {
	__u64 calls;
	__u64 errors;
};

#endif /* UNIFIED_IO_BPF_SYSCOUNT_H */
