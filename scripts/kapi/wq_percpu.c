// SPDX-License-Identifier: GPL-2.0
/*
 * WQ_PERCPU, the flag of a workqueue bound to CPUs
 *
 * Workqueues became unbound by default; since WQ_PERCPU exists a queue that
 * is neither WQ_UNBOUND nor WQ_PERCPU warns at alloc_workqueue().  Before
 * it, a queue without WQ_UNBOUND is per-CPU.
 */
#include <linux/workqueue.h>

int kapi_probe_flag(void);
int kapi_probe_flag(void)
{
	return WQ_PERCPU;
}
