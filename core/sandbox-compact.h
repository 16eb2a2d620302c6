/* SPDX-License-Identifier: MIT */
/* Classic BPF seccomp programs off the kernel: running one on a call's data,
 * rewriting libseccomp's allow-list program as a bitmap of call numbers, and
 * checking that two programs give every call the same verdict. Build time and
 * tests only: the processes install the result (core/sandbox.c). */
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox.h"

/* Runs `program` (len instructions) on `data` as the kernel would; ret_action
 * is what it returns, ret_read_args whether it looked at the arguments.
 * -EINVAL for an instruction seccomp does not take, a jump out of the
 * program, or a load outside struct seccomp_data. */
int np_seccomp_run(const struct sock_filter *program, size_t len, const struct seccomp_data *data, uint32_t *ret_action,
                   bool *ret_read_args);

/* libseccomp's program for an allow-list on this architecture, rewritten as
 * the same verdicts in fewer instructions: one bitmap word test per 32 call
 * numbers instead of a compare per call. The kernel's verdict cache cannot
 * read it (it stops at the first register move), which costs a hook nothing:
 * filling the cache for every call number takes longer than the calls of a
 * run save. `rules` are the calls let through on an argument's value; every
 * other call the program reads arguments for is -EOPNOTSUPP, as is an
 * architecture other than x86-64 and a verdict other than allow, one deny
 * and kill. -E2BIG when `capacity` is too small. */
int np_seccomp_compact(const struct sock_filter *program, size_t len, const struct np_sandbox_rule *rules,
                       size_t n_rules, struct sock_filter *ret_program, size_t capacity, size_t *ret_len);

/* 0 when `a` and `b` give the same verdict for every architecture, call number
 * and argument that either compares against (each constant either program
 * tests, with its neighbours, every call number below 2048, and for a call
 * whose arguments either reads, each argument at each rule's value and beside
 * it); -EPROTO otherwise, with the first call that differs in ret_differs.
 * -EINVAL when either cannot run. */
int np_seccomp_compare(const struct sock_filter *a, size_t a_len, const struct sock_filter *b, size_t b_len,
                       const struct np_sandbox_rule *rules, size_t n_rules, struct seccomp_data *ret_differs);
