// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * syscount.bpf.c - count the system calls of one process tree, per number.
 *
 * Object model.  "counts" holds per-CPU call and error counts per system
 * call number, for the process tree of proctree.bpf.h ("tracked").
 *
 * Lifetimes.  See proctree.bpf.h.  The tree is seeded when the target enters
 * execve: everything the child did before (the handshake read, possibly
 * entered after attach) is not counted, and the count starts with the
 * command's own execve, as strace -f would.
 *
 * The sys_exit program counts returns in [-4095, -1] as errors.  System call
 * numbers are the native ones of the task (x86_64); ia32 tasks use another
 * table, which the loader does not translate.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "proctree.bpf.h"
#include "syscount.h"

#define MAX_ERRNO	4095

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load; see proctree.bpf.h for the others. */
const volatile long nr_execve = -1;	/* system call numbers that seed */
const volatile long nr_execveat = -1;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYSCOUNT_NR_SLOTS);
	__type(key, __u32);
	__type(value, struct syscount_val);
} counts SEC(".maps");

static __always_inline struct syscount_val *slot_of(long id)
{
	__u32 key = id >= 0 && id < SYSCOUNT_NR_SYSCALLS ? id : SYSCOUNT_SLOT_OTHER;

	return bpf_map_lookup_elem(&counts, &key);
}

/* Is the current task the target entering execve? Then start tracking it. */
static __always_inline bool seed_target(__u32 tgid, long id)
{
	if (id != nr_execve && id != nr_execveat)
		return false;
	return proctree_seed(tgid);
}

SEC("tracepoint/raw_syscalls/sys_enter")
int handle_sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct syscount_val *val;
	long id = ctx->id;

	if (!proctree_tracked(tgid) && !seed_target(tgid, id))
		return 0;
	val = slot_of(id);
	if (val)
		val->calls++;
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int handle_sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct syscount_val *val;
	long ret = ctx->ret;

	if (ret >= 0 || ret < -MAX_ERRNO)
		return 0;
	if (!proctree_tracked(tgid))
		return 0;
	val = slot_of(ctx->id);
	if (val)
		val->errors++;
	return 0;
}
