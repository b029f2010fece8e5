/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernel being built for offers, as scripts/kapi.sh found it by
 * compiling probes (scripts/kapi/) against that kernel: KAPI_* macros, each
 * 0 or 1, never undefined (so a misspelled one is a -Wundef error).  The
 * modules test these, never LINUX_VERSION_CODE: fixes and features move
 * between series (Debian backports, distribution patches), and a probe sees
 * what the headers really declare.
 */
#ifndef _UNIFIED_IO_KCOMPAT_H
#define _UNIFIED_IO_KCOMPAT_H

#if __has_include("kapi/kapi.h")
#include "kapi/kapi.h"
#else
#error "include/kapi/kapi.h is missing: run scripts/kapi.sh KDIR SRCROOT first (make module, make module-kdir and DKMS do)"
#endif

#if !KAPI_WQ_PERCPU
/* Before WQ_PERCPU, a workqueue without WQ_UNBOUND was per-CPU. */
#define WQ_PERCPU 0
#endif

#if !KAPI_RT_OR_DL_TASK_POLICY
/* Before it: the priority tests, which count a PI boost too. */
#define rt_or_dl_task_policy(p)	(rt_task(p) || dl_task(p))
#endif

#endif /* _UNIFIED_IO_KCOMPAT_H */
