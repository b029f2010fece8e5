/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * proctree.bpf.h - follow one command's process tree, for the BPF programs
 * that count what a command does (syscount.bpf.c, copycount.bpf.c).
 *
 * Object model.  "tracked" is the set of thread groups (tgids, as the init
 * pid namespace sees them) whose events are counted.  A program includes
 * this header once, after vmlinux.h and the BPF helper headers; it gets the
 * map, the tunables below, the fork and exit programs, and two helpers:
 * proctree_tracked() (is the current task counted?) and proctree_seed()
 * (start with the current task if it is the target).
 *
 * Lifetimes.  The loader (bpf/tracecmd.c) forks the command, keeps it
 * waiting before execve until the programs are attached, and passes its pid
 * (in the loader's pid namespace) as targ_tgid.  The set starts empty and is
 * seeded by the including program when the target reaches its execve
 * (syscount: at system call entry; copycount: once the new image runs), so
 * the handshake is not counted.  sched_process_fork adds every new process
 * forked by a tracked one; it fires in kernel_clone() before
 * wake_up_new_task(), so a child is tracked before it can run.  Threads
 * share their group's tgid and need no entry.  When the last thread of a
 * group exits (signal->live dropped to 0) its entry is removed, so a
 * recycled pid cannot be counted.  Following forks (not a cgroup) works
 * without cgroupfs and whatever cgroup the caller runs in; it misses only
 * processes the tree has someone else start (e.g. through a daemon).
 */
#ifndef UNIFIED_IO_BPF_PROCTREE_BPF_H
#define UNIFIED_IO_BPF_PROCTREE_BPF_H

#include "proctree.h"

/* Set by the loader before load. */
const volatile __u32 targ_tgid = 0;	/* in the pid namespace below */
const volatile __u64 pidns_dev = 0;	/* kernel dev_t of that namespace's nsfs */
const volatile __u64 pidns_ino = 0;

/* Read by the loader after the run. */
bool seeded = false;		/* the target's execve was seen */
__u64 lost_procs = 0;		/* forked processes not tracked: map full */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROCTREE_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u8);
} tracked SEC(".maps");

static __always_inline bool proctree_tracked(__u32 tgid)
{
	return bpf_map_lookup_elem(&tracked, &tgid) != NULL;
}

/*
 * Is the current task (thread group @tgid) the target?  Then start tracking
 * it and return true.  Only the first call that finds the target seeds.
 */
static __always_inline bool proctree_seed(__u32 tgid)
{
	struct bpf_pidns_info ns;
	__u8 one = 1;

	if (seeded)
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

#endif /* UNIFIED_IO_BPF_PROCTREE_BPF_H */
