// SPDX-License-Identifier: GPL-2.0
/*
 * rt_or_dl_task_policy(), a task's real-time or deadline policy (PI boosts
 * not counted)
 *
 * recv.c does not put the armed RECVs' work beside a real-time task, which
 * would starve it; without the helper include/kcompat.h tests the priority
 * (rt_task() || dl_task(), PI boosts counted).
 */
#include <linux/sched.h>
#include <linux/sched/rt.h>

bool kapi_probe_rt(struct task_struct *p);
bool kapi_probe_rt(struct task_struct *p)
{
	return rt_or_dl_task_policy(p);
}
