// SPDX-License-Identifier: MIT
/* Seccomp programs off the kernel (build time and tests): a classic BPF
 * interpreter over struct seccomp_data, libseccomp's allow-list program
 * rewritten as a bitmap of call numbers, and the check that two programs give
 * every call the same verdict. */
#include <errno.h>
#include <limits.h>
#include <linux/audit.h>
#include <string.h>

#include "macro.h"
#include "sandbox-compact.h"

/* Call numbers a bitmap covers at most, each probed one by one. */
#define NR_LIMIT 2048
#define WORDS    (NR_LIMIT / 32)

/* offsets in struct seccomp_data; an argument's low half comes first (little endian) */
#define NR_OFFSET       offsetof(struct seccomp_data, nr)
#define ARCH_OFFSET     offsetof(struct seccomp_data, arch)
#define ARG_LOW(i)      (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HIGH(i)     (ARG_LOW(i) + 4)
#define X32_SYSCALL_BIT 0x40000000u

static int load_word(const struct seccomp_data *data, uint32_t offset, uint32_t *ret, bool *read_args)
{
        if (offset % 4 != 0 || offset > sizeof(*data) - 4)
                return -EINVAL;
        memcpy(ret, (const char *)data + offset, 4);
        if (offset >= offsetof(struct seccomp_data, args))
                *read_args = true;
        return 0;
}

static int alu(uint16_t code, uint32_t a, uint32_t src, uint32_t *ret)
{
        switch (BPF_OP(code)) {
        case BPF_ADD:
                *ret = a + src;
                return 0;
        case BPF_SUB:
                *ret = a - src;
                return 0;
        case BPF_MUL:
                *ret = a * src;
                return 0;
        case BPF_DIV:
        case BPF_MOD:
                if (src == 0)
                        return -EINVAL;
                *ret = BPF_OP(code) == BPF_DIV ? a / src : a % src;
                return 0;
        case BPF_OR:
                *ret = a | src;
                return 0;
        case BPF_AND:
                *ret = a & src;
                return 0;
        case BPF_XOR:
                *ret = a ^ src;
                return 0;
        case BPF_LSH:
        case BPF_RSH:
                if (src >= 32)
                        return -EINVAL;
                *ret = BPF_OP(code) == BPF_LSH ? a << src : a >> src;
                return 0;
        case BPF_NEG:
                *ret = -a;
                return 0;
        }
        return -EINVAL;
}

int np_seccomp_run(const struct sock_filter *program, size_t len, const struct seccomp_data *data, uint32_t *ret_action,
                   bool *ret_read_args)
{
        uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
        bool read_args = false;
        int r;

        for (size_t pc = 0; pc < len; pc++) {
                const struct sock_filter *insn = &program[pc];
                uint16_t code = insn->code;
                uint32_t k = insn->k, src = BPF_SRC(code) == BPF_X ? x : k;
                size_t skip = 0;

                switch (BPF_CLASS(code)) {
                case BPF_LD:
                case BPF_LDX: {
                        uint32_t *reg = BPF_CLASS(code) == BPF_LD ? &a : &x;

                        if (BPF_SIZE(code) != BPF_W)
                                return -EINVAL;
                        if (BPF_MODE(code) == BPF_ABS && BPF_CLASS(code) == BPF_LD) {
                                r = load_word(data, k, reg, &read_args);
                                if (r < 0)
                                        return r;
                        } else if (BPF_MODE(code) == BPF_IMM)
                                *reg = k;
                        else if (BPF_MODE(code) == BPF_MEM && k < BPF_MEMWORDS)
                                *reg = mem[k];
                        else if (BPF_MODE(code) == BPF_LEN)
                                *reg = sizeof(*data);
                        else
                                return -EINVAL;
                        break;
                }
                case BPF_ST:
                case BPF_STX:
                        if (k >= BPF_MEMWORDS)
                                return -EINVAL;
                        mem[k] = BPF_CLASS(code) == BPF_ST ? a : x;
                        break;
                case BPF_ALU:
                        r = alu(code, a, src, &a);
                        if (r < 0)
                                return r;
                        break;
                case BPF_JMP:
                        switch (BPF_OP(code)) {
                        case BPF_JA:
                                skip = k;
                                break;
                        case BPF_JEQ:
                                skip = a == src ? insn->jt : insn->jf;
                                break;
                        case BPF_JGT:
                                skip = a > src ? insn->jt : insn->jf;
                                break;
                        case BPF_JGE:
                                skip = a >= src ? insn->jt : insn->jf;
                                break;
                        case BPF_JSET:
                                skip = (a & src) ? insn->jt : insn->jf;
                                break;
                        default:
                                return -EINVAL;
                        }
                        if (skip >= len - pc - 1)
                                return -EINVAL; /* out of the program, or onto its end */
                        pc += skip;
                        break;
                case BPF_RET:
                        if (BPF_RVAL(code) != BPF_K && BPF_RVAL(code) != BPF_A)
                                return -EINVAL;
                        *ret_action = BPF_RVAL(code) == BPF_K ? k : a;
                        *ret_read_args = read_args;
                        return 0;
                case BPF_MISC:
                        if (BPF_MISCOP(code) == BPF_TAX)
                                x = a;
                        else if (BPF_MISCOP(code) == BPF_TXA)
                                a = x;
                        else
                                return -EINVAL;
                        break;
                }
        }
        return -EINVAL; /* ran off the end */
}

/* The compact program under construction: jumps to labels are patched once
 * every label has its place. */
enum {
        LABEL_ALLOW,
        LABEL_DENY,
        LABEL_KILL,
        LABEL_X32,
        LABEL_RULES, /* one per rule */
        LABEL_TREE = LABEL_RULES + NP_SANDBOX_RULES_MAX,
        LABELS = LABEL_TREE + WORDS,
};

struct emitter {
        struct sock_filter *insns;
        size_t capacity, len;
        struct {
                size_t at;
                int jt, jf; /* labels, -1: the next instruction */
        } jumps[2 * WORDS + 4 * NP_SANDBOX_RULES_MAX + 16];
        size_t n_jumps;
        size_t label_at[LABELS];
        bool placed[LABELS];
        int n_tree_labels;
        int error;
};

static void emit(struct emitter *e, uint16_t code, uint32_t k)
{
        if (e->len == e->capacity) {
                e->error = -E2BIG;
                return;
        }
        e->insns[e->len++] = (struct sock_filter)BPF_STMT(code, k);
}

/* A conditional jump on A and the constant k to label jt when true, jf when not. */
static void emit_jump(struct emitter *e, uint16_t op, uint32_t k, int jt, int jf)
{
        if (e->n_jumps == ARRAY_SIZE(e->jumps)) {
                e->error = -E2BIG;
                return;
        }
        e->jumps[e->n_jumps].at = e->len;
        e->jumps[e->n_jumps].jt = jt;
        e->jumps[e->n_jumps].jf = jf;
        e->n_jumps++;
        emit(e, BPF_JMP | op | BPF_K, k);
}

static void place_label(struct emitter *e, int label)
{
        e->label_at[label] = e->len;
        e->placed[label] = true;
}

static int offset_to(const struct emitter *e, size_t at, int label, uint8_t *ret)
{
        size_t target = label < 0 ? at + 1 : e->label_at[label];

        if (label >= 0 && !e->placed[label])
                return -EINVAL;
        if (target <= at || target - at - 1 > UINT8_MAX)
                return -E2BIG;
        *ret = (uint8_t)(target - at - 1);
        return 0;
}

static int resolve(struct emitter *e)
{
        for (size_t i = 0; e->error == 0 && i < e->n_jumps; i++) {
                struct sock_filter *insn = &e->insns[e->jumps[i].at];
                int r = offset_to(e, e->jumps[i].at, e->jumps[i].jt, &insn->jt);

                if (r == 0)
                        r = offset_to(e, e->jumps[i].at, e->jumps[i].jf, &insn->jf);
                if (r < 0)
                        e->error = r;
        }
        return e->error;
}

/* Call numbers within words [lo, hi): A holds the number, X the bit 1 << (nr % 32);
 * `words` are those of them with a call allowed. */
static void emit_tree(struct emitter *e, const uint32_t *bits, const unsigned int *words, size_t n, unsigned int lo,
                      unsigned int hi)
{
        size_t half = n / 2;
        int right;

        if (n == 1) {
                unsigned int w = words[0];

                if (lo < w)
                        emit_jump(e, BPF_JGE, w * 32, -1, LABEL_DENY);
                if (w + 1 < hi)
                        emit_jump(e, BPF_JGE, (w + 1) * 32, LABEL_DENY, -1);
                emit(e, BPF_MISC | BPF_TXA, 0);
                emit_jump(e, BPF_JSET, bits[w], LABEL_ALLOW, LABEL_DENY);
                return;
        }
        right = LABEL_TREE + e->n_tree_labels++;
        emit_jump(e, BPF_JGE, words[half] * 32, right, -1);
        emit_tree(e, bits, words, half, lo, words[half]);
        place_label(e, right);
        emit_tree(e, bits, words + half, n - half, words[half], hi);
}

static int action_label(uint32_t action, uint32_t allow, uint32_t deny, uint32_t kill)
{
        if (action == allow)
                return LABEL_ALLOW;
        if (action == deny)
                return LABEL_DENY;
        if (action == kill)
                return LABEL_KILL;
        return -1;
}

int np_seccomp_compact(const struct sock_filter *program, size_t len, const struct np_sandbox_rule *rules,
                       size_t n_rules, struct sock_filter *ret_program, size_t capacity, size_t *ret_len)
{
#if defined(__x86_64__) && !defined(__ILP32__)
        const uint32_t arch = AUDIT_ARCH_X86_64, allow = SECCOMP_RET_ALLOW;
        uint32_t bits[WORDS] = {}, deny = allow, kill, x32_action, minus_one_action;
        unsigned int words[WORDS], n_words = 0, top = 0;
        bool has_rule[NP_SANDBOX_RULES_MAX] = {}, read_args;
        struct seccomp_data data = { .arch = AUDIT_ARCH_I386 };
        struct emitter e = { .insns = ret_program, .capacity = capacity };
        int x32_label, minus_one_label, r;

        if (n_rules > NP_SANDBOX_RULES_MAX)
                return -E2BIG;
        r = np_seccomp_run(program, len, &data, &kill, &read_args);
        if (r < 0)
                return r;
        data.arch = arch;
        for (int nr = 0; nr < NR_LIMIT; nr++) {
                uint32_t action;
                size_t rule = 0;

                data.nr = nr;
                r = np_seccomp_run(program, len, &data, &action, &read_args);
                if (r < 0)
                        return r;
                if (read_args) {
                        while (rule < n_rules && rules[rule].nr != nr)
                                rule++;
                        if (rule == n_rules)
                                return -EOPNOTSUPP; /* an argument test no rule describes */
                        has_rule[rule] = true;
                } else if (action == allow) {
                        bits[nr / 32] |= 1u << (nr % 32);
                        top = (unsigned int)nr / 32 + 1;
                } else if (deny == allow)
                        deny = action;
                else if (action != deny)
                        return -EOPNOTSUPP; /* a verdict of its own for some call */
        }
        if (deny == allow || bits[WORDS - 1] != 0)
                return -EOPNOTSUPP; /* everything allowed, or calls beyond what was probed */
        data.nr = (int)X32_SYSCALL_BIT;
        r = np_seccomp_run(program, len, &data, &x32_action, &read_args);
        data.nr = -1;
        if (r == 0)
                r = np_seccomp_run(program, len, &data, &minus_one_action, &read_args);
        if (r < 0)
                return r;
        x32_label = action_label(x32_action, allow, deny, kill);
        minus_one_label = action_label(minus_one_action, allow, deny, kill);
        if (x32_label < 0 || minus_one_label < 0)
                return -EOPNOTSUPP;
        for (unsigned int w = 0; w < top; w++)
                if (bits[w])
                        words[n_words++] = w;

        /* the architecture, then the call number: in A, and in X where the
         * kernel's verdict cache stops reading */
        emit(&e, BPF_LD | BPF_W | BPF_ABS, ARCH_OFFSET);
        emit_jump(&e, BPF_JEQ, arch, -1, LABEL_KILL);
        emit(&e, BPF_LD | BPF_W | BPF_ABS, NR_OFFSET);
        emit(&e, BPF_MISC | BPF_TAX, 0);
        emit_jump(&e, BPF_JGE, X32_SYSCALL_BIT, LABEL_X32, -1);
        for (size_t i = 0; i < n_rules; i++)
                if (has_rule[i])
                        emit_jump(&e, BPF_JEQ, (uint32_t)rules[i].nr, LABEL_RULES + (int)i, -1);
        if (n_words > 0) {
                emit_jump(&e, BPF_JGE, top * 32, LABEL_DENY, -1);
                /* X = 1 << (nr % 32), A = nr */
                emit(&e, BPF_ALU | BPF_AND | BPF_K, 31);
                emit(&e, BPF_MISC | BPF_TAX, 0);
                emit(&e, BPF_LD | BPF_W | BPF_IMM, 1);
                emit(&e, BPF_ALU | BPF_LSH | BPF_X, 0);
                emit(&e, BPF_MISC | BPF_TAX, 0);
                emit(&e, BPF_LD | BPF_W | BPF_ABS, NR_OFFSET);
                emit_tree(&e, bits, words, n_words, 0, top);
        } else
                emit_jump(&e, BPF_JEQ, 0, LABEL_DENY, LABEL_DENY);
        for (size_t i = 0; i < n_rules; i++) {
                if (!has_rule[i])
                        continue;
                if (rules[i].arg > 5)
                        return -EINVAL;
                place_label(&e, LABEL_RULES + (int)i);
                emit(&e, BPF_LD | BPF_W | BPF_ABS, ARG_HIGH(rules[i].arg));
                emit_jump(&e, BPF_JEQ, (uint32_t)(rules[i].value >> 32), -1, LABEL_DENY);
                emit(&e, BPF_LD | BPF_W | BPF_ABS, ARG_LOW(rules[i].arg));
                emit_jump(&e, BPF_JEQ, (uint32_t)rules[i].value, LABEL_ALLOW, LABEL_DENY);
        }
        /* x32's numbers; -1 is a call a tracer skipped */
        place_label(&e, LABEL_X32);
        emit_jump(&e, BPF_JEQ, UINT32_MAX, minus_one_label, x32_label);
        place_label(&e, LABEL_ALLOW);
        emit(&e, BPF_RET | BPF_K, allow);
        place_label(&e, LABEL_DENY);
        emit(&e, BPF_RET | BPF_K, deny);
        place_label(&e, LABEL_KILL);
        emit(&e, BPF_RET | BPF_K, kill);
        r = resolve(&e);
        if (r < 0)
                return r;
        *ret_len = e.len;
        return 0;
#else
        return -EOPNOTSUPP;
#endif
}

/* Every constant the programs compare A with, and its neighbours: the call
 * numbers where a verdict can change. */
static size_t add_breakpoints(const struct sock_filter *program, size_t len, uint32_t *values, size_t n,
                              size_t capacity)
{
        for (size_t i = 0; i < len; i++) {
                if (BPF_CLASS(program[i].code) != BPF_JMP || BPF_SRC(program[i].code) != BPF_K ||
                    BPF_OP(program[i].code) == BPF_JA)
                        continue;
                for (int d = -1; d <= 1 && n < capacity; d++)
                        values[n++] = program[i].k + (uint32_t)d;
        }
        return n;
}

static int same_verdict(const struct sock_filter *a, size_t a_len, const struct sock_filter *b, size_t b_len,
                        const struct seccomp_data *data, bool *ret_read_args)
{
        uint32_t action_a, action_b;
        bool read_a, read_b;
        int r = np_seccomp_run(a, a_len, data, &action_a, &read_a);

        if (r == 0)
                r = np_seccomp_run(b, b_len, data, &action_b, &read_b);
        if (r < 0)
                return r;
        *ret_read_args = read_a || read_b;
        return action_a == action_b ? 0 : -EPROTO;
}

int np_seccomp_compare(const struct sock_filter *a, size_t a_len, const struct sock_filter *b, size_t b_len,
                       const struct np_sandbox_rule *rules, size_t n_rules, struct seccomp_data *ret_differs)
{
        static const uint32_t archs[] = { AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, 0, UINT32_MAX };
        static const uint32_t extremes[] = { INT32_MAX, (uint32_t)INT32_MIN, UINT32_MAX - 1, UINT32_MAX };
        uint32_t breakpoints[3 * 4096 + ARRAY_SIZE(extremes)];
        size_t n_breakpoints = 0;
        uint64_t values[6 * NP_SANDBOX_RULES_MAX + 2];
        size_t n_values = 0;

        n_breakpoints = add_breakpoints(a, a_len, breakpoints, n_breakpoints, ARRAY_SIZE(breakpoints));
        n_breakpoints = add_breakpoints(b, b_len, breakpoints, n_breakpoints, ARRAY_SIZE(breakpoints));
        for (size_t i = 0; i < ARRAY_SIZE(extremes) && n_breakpoints < ARRAY_SIZE(breakpoints); i++)
                breakpoints[n_breakpoints++] = extremes[i];
        /* an argument at each rule's value, one off it, with a high half, and all ones */
        for (size_t i = 0; i < n_rules && i < NP_SANDBOX_RULES_MAX; i++) {
                values[n_values++] = rules[i].value;
                values[n_values++] = rules[i].value + 1;
                values[n_values++] = rules[i].value - 1;
                values[n_values++] = rules[i].value | (1ull << 32);
                values[n_values++] = rules[i].value ^ (1ull << 63);
        }
        values[n_values++] = 0;
        values[n_values++] = UINT64_MAX;

        for (size_t ai = 0; ai < ARRAY_SIZE(archs); ai++)
                for (size_t i = 0; i < NR_LIMIT + n_breakpoints; i++) {
                        struct seccomp_data data = {
                                .arch = archs[ai],
                                .nr = (int)(i < NR_LIMIT ? (uint32_t)i : breakpoints[i - NR_LIMIT]),
                        };
                        bool read_args;
                        int r = same_verdict(a, a_len, b, b_len, &data, &read_args);

                        for (unsigned int arg = 0; r == 0 && read_args && arg < 6; arg++)
                                for (size_t v = 0; r == 0 && v < n_values; v++) {
                                        bool ignored;

                                        memset(data.args, 0, sizeof(data.args));
                                        data.args[arg] = values[v];
                                        r = same_verdict(a, a_len, b, b_len, &data, &ignored);
                                }
                        if (r == -EPROTO && ret_differs)
                                *ret_differs = data;
                        if (r < 0)
                                return r;
                }
        return 0;
}
