// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * syscount.bpf.c - count the system calls of one process tree, per number.
 *
 * Object model.  "tracked" is the set of thread groups (tgids, as the init
 * pid namespace sees them) whose system calls are counted; "counts" holds
 * per-CPU call and error counts per system call number.
 *
 * Lifetimes.  The loader forks the command, keeps it waiting before execve
 * until these programs are attached, and passes its pid (in the loader's pid
 * namespace) as targ_tgid.  The set starts empty and is seeded when that
 * process enters execve: everything the child did before (the handshake
 * read, possibly entered after attach) is not counted, and the count starts
 * with the command's own execve, as strace -f would.  sched_process_fork
 * adds every new process forked by a tracked one; it fires in kernel_clone()
 * before wake_up_new_task(), so a child is tracked before it can run.
 * Threads share their group's tgid and need no entry.  When the last thread
 * of a group exits (signal->live dropped to 0) its entry is removed, so a
 * recycled pid cannot be counted.  Following forks (not a cgroup) works
 * without cgroupfs and whatever cgroup the caller runs in; it misses only
 * processes the tree has someone else start (e.g. through a daemon).
 *
 * The sys_exit program counts returns in [-4095, -1] as errors.  System call
 * numbers are the native ones of the task (x86_64); ia32 tasks use another
 * table, which the loader does not translate.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "syscount.h"

#define MAX_ERRNO	4095

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load. */
const volatile __u32 targ_tgid = 0;	/* in the pid namespace below */
const volatile __u64 pidns_dev = 0;	/* kernel dev_t of that namespace's nsfs */
const volatile __u64 pidns_ino = 0;
const volatile long nr_execve = -1;	/* system call numbers that seed */
const volatile long nr_execveat = -1;

/* Read by the loader after the run. */
bool seeded = false;		/* the target's execve was seen */
__u64 lost_procs = 0;		/* forked processes not tracked: map full */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYSCOUNT_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u8);
} tracked SEC(".maps");

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
	struct bpf_pidns_info ns;
	__u8 one = 1;

	if (seeded || (id != nr_execve && id != nr_execveat))
		return false;
	if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
		return false;
	if (ns.tgid != targ_tgid)
		return false;
	if (bpf_map_update_elem(&tracked, &tgid, &one, BPF_NOEXIST)) {
		__sync_fetch_and_add(&lost_procs, 1);
		return false;
	}
	seeded = true;
	return true;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int handle_sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct syscount_val *val;
	long id = ctx->id;

	if (!bpf_map_lookup_elem(&tracked, &tgid) && !seed_target(tgid, id))
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
	if (!bpf_map_lookup_elem(&tracked, &tgid))
		return 0;
	val = slot_of(ctx->id);
	if (val)
		val->errors++;
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid;
	__u32 ctgid = child->tgid;
	__u8 one = 1;

	if (ctgid == ptgid || !bpf_map_lookup_elem(&tracked, &ptgid))
		return 0;
	if (bpf_map_update_elem(&tracked, &ctgid, &one, BPF_ANY))
		__sync_fetch_and_add(&lost_procs, 1);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	__u32 tgid = task->tgid;

	/* do_exit() decrements signal->live before this tracepoint. */
	if (task->signal->live.counter)
		return 0;
	bpf_map_delete_elem(&tracked, &tgid);
	return 0;
}
