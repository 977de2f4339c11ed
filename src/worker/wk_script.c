/*
 * The "script" node: JavaScript in a forked child process.
 *
 * Why a process.  Debian's Duktape is built without DUK_USE_INTERRUPT_COUNTER
 * and DUK_USE_EXEC_TIMEOUT_CHECK (see /usr/include/duk_config.h), so nothing
 * can stop `while (true) {}` from inside the engine, and a thread stuck in a
 * loop cannot be stopped safely.  A child process can: it is killed whole,
 * and whatever the script did to the heap dies with it.  Each run is
 *
 *   fork() → child: seccomp filter, rlimits, timer, Duktape heap with a
 *            counting allocator, run, JSON.stringify, frames on a pipe, _exit
 *   parent: reads the pipe (non-blocking, for the worker's event loop),
 *           reaps the child, decodes the frames.
 *
 * Time: the child arms ITIMER_REAL for the timeout; its SIGALRM handler
 * writes the "timed out" frame and exits.  RLIMIT_CPU and the parent's
 * SIGKILL at timeout + WK_SCRIPT_GRACE are the backstops.  Memory: every
 * Duktape allocation goes through wk_child_alloc(), which refuses to pass
 * the cap; Duktape then collects garbage, retries and finally throws, and
 * the run ends with "script exceeded the memory limit".  Sandbox: the
 * script only sees ECMAScript built-ins (Duktape has no file, network or
 * module access; `require`, `print`, `alert` and the introspective parts
 * of the `Duktape` object are removed), and the kernel backs that up with
 * a seccomp filter that fails every system call but memory, time, read,
 * write and exit, plus RLIMIT_NOFILE 0.
 *
 * A run costs about 2 ms (fork 0.35 ms, Duktape heap 0.6 ms), small beside
 * the network round trips of a workflow, and buys a worker that survives
 * any script.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <duktape.h>

#include "wk_script.h"


#define WK_SCRIPT_GRACE   1000      /* ms the parent waits past the timeout */

/* Frames on the pipe: kind, 8-byte length in host order, payload. */
#define WK_FRAME_LOG      'L'
#define WK_FRAME_RESULT   'R'
#define WK_FRAME_ERROR    'E'
#define WK_FRAME_HDR      9

#define WK_MSG_TIMEOUT    "script timed out after %u ms"
#define WK_MSG_MEMORY     "script exceeded the memory limit"


typedef struct {
    const char          *content;
    size_t               len;
    const char          *args_json;
    const char          *context_json;
    const char          *nodes_json;
    unsigned             timeout_ms;
    size_t               mem_limit;
} wk_script_in_t;


struct wk_script_s {
    pid_t                pid;
    int                  fd;
    unsigned             timeout_ms;
    int64_t              deadline;
    size_t               max;          /* bytes the child may send */
    char                *buf;
    size_t               len;
    size_t               cap;
};


/* Memory blocks carry their size so that the cap can be kept exactly. */

typedef union {
    size_t               size;
    max_align_t          align;
} wk_block_t;


/*
 * State of the child process.  The parent never touches these, so the
 * module stays free of shared state on the caller's side.
 */

static int               wk_child_fd;
static size_t            wk_child_used;
static size_t            wk_child_cap;
static int               wk_child_oom;
static uint64_t          wk_child_rnd[2];
static char              wk_child_timeout[WK_FRAME_HDR + 64];
static size_t            wk_child_timeout_len;
static char              wk_child_log[WK_SCRIPT_LOG_MAX];
static size_t            wk_child_log_len;


/*
 * Installs console and Math.random and trims the `Duktape` object to its
 * version and codecs: act, fin, info and the like look into the engine.
 */

static const char  wk_prelude[] =
    "function (g, out, random) {\n"
    "    function text(v) {\n"
    "        var j;\n"
    "        if (typeof v === 'string') return v;\n"
    "        if (typeof v === 'object' && v !== null\n"
    "            && !(v instanceof Error))\n"
    "        {\n"
    "            try { j = JSON.stringify(v); } catch (e) {}\n"
    "            if (typeof j === 'string') return j;\n"
    "        }\n"
    "        return String(v);\n"
    "    }\n"
    "    function log() {\n"
    "        var a = [], i;\n"
    "        for (i = 0; i < arguments.length; i++)\n"
    "            a.push(text(arguments[i]));\n"
    "        out(a.join(' '));\n"
    "    }\n"
    "    var d = g.Duktape, keep = { version: 1, enc: 1, dec: 1 };\n"
    "    g.console = { log: log, info: log, warn: log, error: log,\n"
    "                  debug: log, trace: log };\n"
    "    Object.defineProperty(Math, 'random', { value: random,\n"
    "        writable: true, enumerable: false, configurable: true });\n"
    "    if (d) Object.getOwnPropertyNames(d).forEach(function (k) {\n"
    "        if (!keep.hasOwnProperty(k)) delete d[k];\n"
    "    });\n"
    "    delete g.require; delete g.print; delete g.alert;\n"
    "}";


static void wk_child(int fd, pid_t parent, const wk_script_in_t *in)
    __attribute__((noreturn));
static void wk_child_end(int kind, const char *p1, size_t l1, const char *p2,
    size_t l2) __attribute__((noreturn));


static int64_t
wk_mono_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static int
wk_write_all(int fd, const void *p, size_t n)
{
    ssize_t      w;
    const char  *c;

    c = p;

    while (n) {
        w = write(fd, c, n);

        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }

            return -1;
        }

        c += w;
        n -= (size_t) w;
    }

    return 0;
}


/*
 * Duktape keeps strings in CESU-8: a character beyond U+FFFF is two
 * encoded surrogates, and a lone surrogate is possible.  JSON needs
 * UTF-8, so pairs are joined and anything else invalid becomes U+FFFD.
 * Returns the bytes of s consumed and writes 1 to 4 bytes to o.
 */

static size_t
wk_utf8_next(const unsigned char *s, size_t n, unsigned char *o,
    size_t *olen)
{
    size_t        need, i;
    unsigned      lo, hi, h, l, cp;

    if (s[0] < 0x80) {
        o[0] = s[0];
        *olen = 1;
        return 1;
    }

    lo = 0x80;
    hi = 0xbf;

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        need = 1;

    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        need = 2;
        lo = (s[0] == 0xe0) ? 0xa0 : 0x80;

    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        need = 3;
        lo = (s[0] == 0xf0) ? 0x90 : 0x80;
        hi = (s[0] == 0xf4) ? 0x8f : 0xbf;

    } else {
        goto invalid;
    }

    if (n <= need || s[1] < lo || s[1] > hi) {
        goto invalid;
    }

    for (i = 2; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            goto invalid;
        }
    }

    if (s[0] == 0xed && s[1] >= 0xa0) {

        /* a surrogate: valid only as the first half of a pair */

        if (s[1] > 0xaf || n < 6 || s[3] != 0xed || s[4] < 0xb0
            || s[4] > 0xbf || (s[5] & 0xc0) != 0x80)
        {
            o[0] = 0xef; o[1] = 0xbf; o[2] = 0xbd;
            *olen = 3;
            return 3;
        }

        h = ((s[1] & 0x0f) << 6) | (s[2] & 0x3f);
        l = ((s[4] & 0x0f) << 6) | (s[5] & 0x3f);
        cp = 0x10000 + (h << 10) + l;

        o[0] = (unsigned char) (0xf0 | (cp >> 18));
        o[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
        o[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        o[3] = (unsigned char) (0x80 | (cp & 0x3f));
        *olen = 4;
        return 6;
    }

    memcpy(o, s, need + 1);
    *olen = need + 1;

    return need + 1;

invalid:

    o[0] = 0xef; o[1] = 0xbf; o[2] = 0xbd;
    *olen = 3;

    return 1;
}


/* Writes a frame, its payload p1 p2 made valid UTF-8 on the way. */

static int
wk_child_frame(int kind, const char *p1, size_t l1, const char *p2,
    size_t l2)
{
    int                   pass;
    size_t                i, k, n, olen, total;
    uint64_t              len;
    unsigned char         buf[4096 + 8], o[4];
    const unsigned char  *s;

    total = 0;

    /* pass 0 measures, pass 1 writes */

    for (pass = 0; pass < 2; pass++) {
        n = 0;

        if (pass == 1) {
            len = total;
            buf[0] = (unsigned char) kind;
            memcpy(buf + 1, &len, 8);
            n = WK_FRAME_HDR;
        }

        for (k = 0; k < 2; k++) {
            s = (const unsigned char *) (k ? p2 : p1);

            for (i = 0; i < (k ? l2 : l1); /* void */) {
                i += wk_utf8_next(s + i, (k ? l2 : l1) - i, o, &olen);

                if (pass == 0) {
                    total += olen;
                    continue;
                }

                memcpy(buf + n, o, olen);
                n += olen;

                if (n >= 4096) {
                    if (wk_write_all(wk_child_fd, buf, n) != 0) {
                        return -1;
                    }

                    n = 0;
                }
            }
        }

        if (pass == 1 && n && wk_write_all(wk_child_fd, buf, n) != 0) {
            return -1;
        }
    }

    return 0;
}


static void
wk_child_on_alarm(int signo)
{
    if (wk_child_log_len) {
        (void) wk_child_frame(WK_FRAME_LOG, wk_child_log, wk_child_log_len,
                              NULL, 0);
    }

    (void) wk_write_all(wk_child_fd, wk_child_timeout, wk_child_timeout_len);

    _exit(0);
}


/* Sends the log and the final frame, then exits. */

static void
wk_child_end(int kind, const char *p1, size_t l1, const char *p2, size_t l2)
{
    sigset_t  set;

    /* from here on the timer must not add a second final frame */

    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_BLOCK, &set, NULL);

    if (wk_child_log_len) {
        (void) wk_child_frame(WK_FRAME_LOG, wk_child_log, wk_child_log_len,
                              NULL, 0);
    }

    (void) wk_child_frame(kind, p1, l1, p2, l2);

    _exit(0);
}


static void
wk_child_fail(const char *msg)
{
    wk_child_end(WK_FRAME_ERROR, msg, strlen(msg), NULL, 0);
}


static void *
wk_child_alloc(void *udata, duk_size_t size)
{
    wk_block_t  *b;

    if (size == 0) {
        return NULL;
    }

    if (size > wk_child_cap - wk_child_used) {
        wk_child_oom = 1;
        return NULL;
    }

    b = malloc(sizeof(wk_block_t) + size);
    if (b == NULL) {
        wk_child_oom = 1;
        return NULL;
    }

    b->size = size;
    wk_child_used += size;

    return b + 1;
}


static void *
wk_child_realloc(void *udata, void *p, duk_size_t size)
{
    size_t       old;
    wk_block_t  *b;

    if (p == NULL) {
        return wk_child_alloc(udata, size);
    }

    b = (wk_block_t *) p - 1;
    old = b->size;

    if (size == 0) {
        wk_child_used -= old;
        free(b);
        return NULL;
    }

    if (size > old && size - old > wk_child_cap - wk_child_used) {
        wk_child_oom = 1;
        return NULL;
    }

    b = realloc(b, sizeof(wk_block_t) + size);
    if (b == NULL) {
        wk_child_oom = 1;
        return NULL;
    }

    b->size = size;
    wk_child_used = wk_child_used - old + size;

    return b + 1;
}


static void
wk_child_free(void *udata, void *p)
{
    wk_block_t  *b;

    if (p != NULL) {
        b = (wk_block_t *) p - 1;
        wk_child_used -= b->size;
        free(b);
    }
}


static void
wk_child_fatal(void *udata, const char *msg)
{
    static const char  prefix[] = "script error: fatal: ";

    if (wk_child_oom) {
        wk_child_fail(WK_MSG_MEMORY);
    }

    wk_child_end(WK_FRAME_ERROR, prefix, sizeof(prefix) - 1,
                 msg ? msg : "", msg ? strlen(msg) : 0);
}


/* console.*(): one line per call, kept up to WK_SCRIPT_LOG_MAX bytes. */

static duk_ret_t
wk_child_console(duk_context *ctx)
{
    size_t       len, room;
    const char  *s;

    s = duk_safe_to_lstring(ctx, 0, &len);
    room = sizeof(wk_child_log) - wk_child_log_len;

    if (room == 0) {
        return 0;
    }

    if (len >= room) {
        len = room - 1;
    }

    memcpy(wk_child_log + wk_child_log_len, s, len);
    wk_child_log[wk_child_log_len + len] = '\n';
    wk_child_log_len += len + 1;

    return 0;
}


/*
 * Math.random(): Duktape seeds its generator from the time and heap
 * addresses, which are the same in children forked in the same
 * millisecond; this one (xorshift128+) is seeded from getrandom().
 */

static duk_ret_t
wk_child_random(duk_context *ctx)
{
    uint64_t  x, y;

    x = wk_child_rnd[0];
    y = wk_child_rnd[1];
    wk_child_rnd[0] = y;
    x ^= x << 23;
    wk_child_rnd[1] = x ^ y ^ (x >> 17) ^ (y >> 26);

    duk_push_number(ctx,
        (double) ((wk_child_rnd[1] + y) >> 11) * (1.0 / 9007199254740992.0));

    return 1;
}


static void
wk_child_push_json(duk_context *ctx, const char *json, const char *dflt)
{
    duk_push_string(ctx, json ? json : dflt);
    duk_json_decode(ctx, -1);
}


static duk_ret_t
wk_child_setup(duk_context *ctx, void *udata)
{
    duk_idx_t              g;
    const wk_script_in_t  *in;

    in = udata;

    duk_push_global_object(ctx);
    g = duk_get_top_index(ctx);

    duk_compile_string(ctx, DUK_COMPILE_FUNCTION, wk_prelude);
    duk_dup(ctx, g);
    duk_push_c_function(ctx, wk_child_console, 1);
    duk_push_c_function(ctx, wk_child_random, 0);
    duk_call(ctx, 3);
    duk_pop(ctx);

    wk_child_push_json(ctx, in->context_json, "null");
    duk_dup_top(ctx);
    duk_put_prop_string(ctx, g, "$context");
    duk_put_prop_string(ctx, g, "context");

    wk_child_push_json(ctx, in->nodes_json, "{}");
    duk_dup_top(ctx);
    duk_put_prop_string(ctx, g, "$nodes");
    duk_put_prop_string(ctx, g, "nodes");

    /* arguments come last: a user's name wins over ours */

    if (in->args_json != NULL) {
        wk_child_push_json(ctx, in->args_json, "{}");

        if (!duk_is_object(ctx, -1) || duk_is_array(ctx, -1)) {
            return duk_error(ctx, DUK_ERR_TYPE_ERROR,
                             "arguments are not a JSON object");
        }

        duk_enum(ctx, -1, DUK_ENUM_OWN_PROPERTIES_ONLY);

        while (duk_next(ctx, -1, 1)) {
            /* defined, not assigned: "__proto__" is just a name */
            duk_def_prop(ctx, g, DUK_DEFPROP_HAVE_VALUE
                                 | DUK_DEFPROP_SET_WEC);
        }

        duk_pop_2(ctx);
    }

    duk_pop(ctx);

    return 0;
}


/* The content is a function body; on the first line, so lines match. */

static duk_ret_t
wk_child_call(duk_context *ctx, void *udata)
{
    const wk_script_in_t  *in;

    in = udata;

    duk_push_string(ctx, "function () {");
    duk_push_lstring(ctx, in->content, in->len);
    duk_push_string(ctx, "\n}");
    duk_concat(ctx, 3);
    duk_push_string(ctx, "script");
    duk_compile(ctx, DUK_COMPILE_FUNCTION);
    duk_call(ctx, 0);

    return 1;
}


static duk_ret_t
wk_child_encode(duk_context *ctx, void *udata)
{
    if (duk_is_undefined(ctx, -1)) {
        duk_push_string(ctx, "null");
        return 1;
    }

    if (duk_is_function(ctx, -1) || duk_is_symbol(ctx, -1)) {
        return duk_error(ctx, DUK_ERR_TYPE_ERROR, "%s has no JSON form",
                         duk_is_symbol(ctx, -1) ? "a symbol" : "a function");
    }

    duk_json_encode(ctx, -1);

    if (!duk_is_string(ctx, -1)) {
        return duk_error(ctx, DUK_ERR_TYPE_ERROR, "the value has no JSON form");
    }

    return 1;
}


/* String(e), with the line of a run-time error. */

static duk_ret_t
wk_child_error_text(duk_context *ctx, void *udata)
{
    duk_int_t    line;
    const char  *s;

    line = 0;

    /* errors raised in C carry the C file's name and line */

    if (duk_is_error(ctx, -1)) {
        duk_get_prop_string(ctx, -1, "fileName");
        duk_get_prop_string(ctx, -2, "lineNumber");

        if (duk_is_number(ctx, -1) && duk_is_string(ctx, -2)
            && strcmp(duk_get_string(ctx, -2), "script") == 0)
        {
            line = duk_get_int(ctx, -1);
        }

        duk_pop_2(ctx);
    }

    s = duk_to_string(ctx, -1);

    if (line > 0 && strstr(s, "(line ") == NULL) {
        duk_push_sprintf(ctx, "%s (line %ld)", s, (long) line);
    }

    return 1;
}


static void
wk_child_error(duk_context *ctx, const char *prefix)
{
    size_t       len;
    const char  *s;

    if (wk_child_oom) {
        wk_child_fail(WK_MSG_MEMORY);
    }

    if (duk_safe_call(ctx, wk_child_error_text, NULL, 1, 1)
        != DUK_EXEC_SUCCESS)
    {
        if (wk_child_oom) {
            wk_child_fail(WK_MSG_MEMORY);
        }

        duk_pop(ctx);
        duk_push_string(ctx, "unknown error");
    }

    s = duk_get_lstring(ctx, -1, &len);

    wk_child_end(WK_FRAME_ERROR, prefix, strlen(prefix), s ? s : "",
                 s ? len : 0);
}


/*
 * Kernel-side sandbox: what a script may need is memory, time, the pipe
 * and exit.  Anything else fails with EPERM rather than killing, so that
 * a sanitizer or libc fallback path degrades instead of crashing.
 */

#if defined(__x86_64__)
#define WK_AUDIT_ARCH  AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define WK_AUDIT_ARCH  AUDIT_ARCH_AARCH64
#endif

#ifdef WK_AUDIT_ARCH

#define WK_ALLOW(nr)                                                          \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                          \
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static int
wk_child_seccomp(void)
{
    struct sock_filter  filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                 offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, WK_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                 offsetof(struct seccomp_data, nr)),
        WK_ALLOW(__NR_read),
        WK_ALLOW(__NR_write),
        WK_ALLOW(__NR_close),
        WK_ALLOW(__NR_mmap),
        WK_ALLOW(__NR_munmap),
        WK_ALLOW(__NR_mremap),
        WK_ALLOW(__NR_mprotect),
        WK_ALLOW(__NR_madvise),
        WK_ALLOW(__NR_brk),
        WK_ALLOW(__NR_rt_sigreturn),
        WK_ALLOW(__NR_rt_sigprocmask),
        WK_ALLOW(__NR_sigaltstack),     /* AddressSanitizer's longjmp */
        WK_ALLOW(__NR_restart_syscall),
        WK_ALLOW(__NR_clock_gettime),
        WK_ALLOW(__NR_clock_getres),
        WK_ALLOW(__NR_gettimeofday),
        WK_ALLOW(__NR_getpid),
        WK_ALLOW(__NR_gettid),
        WK_ALLOW(__NR_futex),
        WK_ALLOW(__NR_sched_yield),
        WK_ALLOW(__NR_exit),
        WK_ALLOW(__NR_exit_group),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & 0xffff)),
    };
    struct sock_fprog   prog;

    prog.len = sizeof(filter) / sizeof(filter[0]);
    prog.filter = filter;

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        return -1;
    }

    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

#else

static int
wk_child_seccomp(void)
{
    return -1;
}

#endif


/* The process around the script: signals, descriptors, limits, timer. */

static void
wk_child_prepare(int fd, pid_t parent, const wk_script_in_t *in)
{
    int                i, nul;
    size_t             n;
    uint64_t           len;
    rlim_t             cpu;
    sigset_t           set;
    struct rlimit      rl;
    struct sigaction   sa;
    struct itimerval   it;
    static const int   ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
                                     SIGUSR1, SIGUSR2, SIGPIPE };

    /*
     * The worker finishes what is in flight on SIGTERM (which systemd
     * sends to the whole cgroup), so its scripts do not die of it; they
     * die with it instead.
     */

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);

    for (i = 0; i < (int) (sizeof(ignored) / sizeof(ignored[0])); i++) {
        sigaction(ignored[i], &sa, NULL);
    }

    sa.sa_handler = wk_child_on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    sigemptyset(&set);
    sigprocmask(SIG_SETMASK, &set, NULL);

    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0
        || getppid() != parent)
    {
        _exit(1);
    }

    /* the pipe becomes fd 3; nothing else of the worker's stays open */

    if (fd != 3) {
        if (dup2(fd, 3) != 3) {
            _exit(1);
        }
    }

    wk_child_fd = 3;

    nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
        dup2(nul, 0);
        dup2(nul, 1);
    }

    if (close_range(4, ~0U, 0) != 0) {
        for (i = 4; i < 65536; i++) {
            (void) close(i);
        }
    }

    rl.rlim_cur = 0;
    rl.rlim_max = 0;
    setrlimit(RLIMIT_CORE, &rl);
    setrlimit(RLIMIT_NOFILE, &rl);

    cpu = in->timeout_ms / 1000 + 2;
    rl.rlim_cur = cpu;
    rl.rlim_max = cpu + 1;
    setrlimit(RLIMIT_CPU, &rl);

    /* Date needs the time zone before /etc/localtime is out of reach */
    tzset();

    if (getrandom(wk_child_rnd, sizeof(wk_child_rnd), GRND_NONBLOCK)
        != (ssize_t) sizeof(wk_child_rnd))
    {
        wk_child_rnd[0] = (uint64_t) wk_mono_ms() ^ ((uint64_t) getpid() << 32);
        wk_child_rnd[1] = (uint64_t) (uintptr_t) &len * 0x9e3779b97f4a7c15ULL;
    }

    wk_child_rnd[0] |= 1;

    wk_child_cap = in->mem_limit;

    n = (size_t) snprintf(wk_child_timeout + WK_FRAME_HDR,
                          sizeof(wk_child_timeout) - WK_FRAME_HDR,
                          WK_MSG_TIMEOUT, in->timeout_ms);
    wk_child_timeout[0] = WK_FRAME_ERROR;
    len = n;
    memcpy(wk_child_timeout + 1, &len, 8);
    wk_child_timeout_len = WK_FRAME_HDR + n;

    memset(&it, 0, sizeof(it));
    it.it_value.tv_sec = in->timeout_ms / 1000;
    it.it_value.tv_usec = (in->timeout_ms % 1000) * 1000;
    setitimer(ITIMER_REAL, &it, NULL);

    /* last: setitimer() and the rest would be refused afterwards */
    (void) wk_child_seccomp();
}


static void
wk_child(int fd, pid_t parent, const wk_script_in_t *in)
{
    size_t        len;
    const char   *s;
    duk_context  *ctx;

    wk_child_prepare(fd, parent, in);

    ctx = duk_create_heap(wk_child_alloc, wk_child_realloc, wk_child_free,
                          NULL, wk_child_fatal);
    if (ctx == NULL) {
        wk_child_fail(wk_child_oom ? WK_MSG_MEMORY
                                   : "script error: no JavaScript heap");
    }

    if (duk_safe_call(ctx, wk_child_setup, (void *) in, 0, 1)
        != DUK_EXEC_SUCCESS)
    {
        wk_child_error(ctx, "script setup failed: ");
    }

    duk_pop(ctx);

    if (duk_safe_call(ctx, wk_child_call, (void *) in, 0, 1)
        != DUK_EXEC_SUCCESS)
    {
        wk_child_error(ctx, "script error: ");
    }

    if (duk_safe_call(ctx, wk_child_encode, NULL, 1, 1)
        != DUK_EXEC_SUCCESS)
    {
        wk_child_error(ctx, "script result cannot be converted to JSON: ");
    }

    s = duk_get_lstring(ctx, -1, &len);

    wk_child_end(WK_FRAME_RESULT, s, len, NULL, 0);
}


/* The parent's side. */

static char *
wk_strdupf(const char *fmt, ...)
{
    int       n;
    char     *s;
    va_list   args;

    va_start(args, fmt);
    n = vsnprintf(NULL, 0, fmt, args);
    va_end(args);

    if (n < 0) {
        return NULL;
    }

    s = malloc((size_t) n + 1);
    if (s == NULL) {
        return NULL;
    }

    va_start(args, fmt);
    vsnprintf(s, (size_t) n + 1, fmt, args);
    va_end(args);

    return s;
}


static char *
wk_memdup(const char *p, size_t len)
{
    char  *s;

    s = malloc(len + 1);
    if (s != NULL) {
        memcpy(s, p, len);
        s[len] = '\0';
    }

    return s;
}


static int
wk_script_reap(wk_script_t *s, int kill_it)
{
    int  status;

    if (kill_it) {
        kill(s->pid, SIGKILL);
    }

    while (waitpid(s->pid, &status, 0) == -1) {
        if (errno != EINTR) {
            return -1;      /* reaped by someone else: status unknown */
        }
    }

    return status;
}


static void
wk_script_free(wk_script_t *s)
{
    close(s->fd);
    free(s->buf);
    free(s);
}


/* Fills out from the frames, or from how the child ended. */

static void
wk_script_decode(wk_script_t *s, int status, wk_script_result_t *out)
{
    int          sig;
    char        *p, *end;
    uint64_t     n;

    memset(out, 0, sizeof(wk_script_result_t));

    p = s->buf;
    end = s->buf + s->len;

    while (end - p >= WK_FRAME_HDR) {
        memcpy(&n, p + 1, 8);

        if (n > (uint64_t) (end - p - WK_FRAME_HDR)) {
            break;
        }

        switch (p[0]) {

        case WK_FRAME_LOG:
            /* lines end with a new line but for the last one */
            free(out->log);
            out->log = wk_memdup(p + WK_FRAME_HDR,
                                 n - (n && p[WK_FRAME_HDR + n - 1] == '\n'));
            break;

        case WK_FRAME_RESULT:
            out->result_json = wk_memdup(p + WK_FRAME_HDR, n);
            out->ok = (out->result_json != NULL);
            if (!out->ok) {
                out->error = wk_strdupf("script result: out of memory");
            }
            return;

        case WK_FRAME_ERROR:
            out->error = wk_memdup(p + WK_FRAME_HDR, n);
            return;
        }

        p += WK_FRAME_HDR + n;
    }

    if (status != -1 && WIFSIGNALED(status)) {
        sig = WTERMSIG(status);

        if (sig == SIGXCPU) {
            out->error = wk_strdupf(WK_MSG_TIMEOUT, s->timeout_ms);

        } else {
            out->error = wk_strdupf("script process died of signal %d (%s)",
                                    sig, strsignal(sig));
        }

        return;
    }

    out->error = wk_strdupf("script process ended without a result");
}


static void
wk_script_fail(wk_script_t *s, wk_script_result_t *out, char *error)
{
    (void) wk_script_reap(s, 1);
    memset(out, 0, sizeof(wk_script_result_t));
    out->error = error;
    wk_script_free(s);
}


wk_script_t *
wk_script_start(const char *content, size_t len, const char *args_json,
    const char *context_json, const char *nodes_json, unsigned timeout_ms,
    size_t mem_limit)
{
    int              fds[2], err;
    pid_t            parent;
    wk_script_t     *s;
    wk_script_in_t   in;

    if (timeout_ms == 0) {
        timeout_ms = WK_SCRIPT_TIMEOUT;
    }

    if (mem_limit == 0) {
        mem_limit = WK_SCRIPT_MEM_LIMIT;
    }

    s = calloc(1, sizeof(wk_script_t));
    if (s == NULL) {
        return NULL;
    }

    if (pipe2(fds, O_CLOEXEC) != 0) {
        free(s);
        return NULL;
    }

    in.content = content;
    in.len = len;
    in.args_json = args_json;
    in.context_json = context_json;
    in.nodes_json = nodes_json;
    in.timeout_ms = timeout_ms;
    in.mem_limit = mem_limit;

    s->timeout_ms = timeout_ms;
    s->deadline = wk_mono_ms() + timeout_ms + WK_SCRIPT_GRACE;

    /* UTF-8 repair triples invalid bytes at worst */
    s->max = 3 * (mem_limit + WK_SCRIPT_LOG_MAX) + 2 * WK_FRAME_HDR + 64;

    parent = getpid();

    s->pid = fork();

    if (s->pid == 0) {
        close(fds[0]);
        wk_child(fds[1], parent, &in);
    }

    err = errno;
    close(fds[1]);

    if (s->pid == -1) {
        close(fds[0]);
        free(s);
        errno = err;
        return NULL;
    }

    s->fd = fds[0];
    (void) fcntl(s->fd, F_SETFL, O_NONBLOCK);

    return s;
}


int
wk_script_fd(const wk_script_t *s)
{
    return s->fd;
}


int64_t
wk_script_deadline(const wk_script_t *s)
{
    return s->deadline;
}


int
wk_script_collect(wk_script_t *s, wk_script_result_t *out)
{
    char     *p;
    size_t    cap;
    ssize_t   n;

    for ( ;; ) {
        if (s->cap - s->len < 4096) {
            if (s->len >= s->max) {
                wk_script_fail(s, out,
                               wk_strdupf("script result is too large"));
                return 0;
            }

            cap = s->cap ? 2 * s->cap : 65536;
            if (cap > s->max + 1) {
                cap = s->max + 1;
            }

            p = realloc(s->buf, cap);
            if (p == NULL) {
                wk_script_fail(s, out,
                               wk_strdupf("script result: out of memory"));
                return 0;
            }

            s->buf = p;
            s->cap = cap;
        }

        n = read(s->fd, s->buf + s->len, s->cap - s->len);

        if (n > 0) {
            s->len += (size_t) n;
            continue;
        }

        if (n == 0) {
            break;
        }

        if (errno == EINTR) {
            continue;
        }

        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wk_mono_ms() < s->deadline) {
                return WK_SCRIPT_AGAIN;
            }

            wk_script_fail(s, out, wk_strdupf(WK_MSG_TIMEOUT, s->timeout_ms));
            return 0;
        }

        wk_script_fail(s, out, wk_strdupf("script result cannot be read: %s",
                                          strerror(errno)));
        return 0;
    }

    /* end of file: the child has exited or is about to */

    wk_script_decode(s, wk_script_reap(s, 0), out);
    wk_script_free(s);

    return 0;
}


void
wk_script_cancel(wk_script_t *s)
{
    (void) wk_script_reap(s, 1);
    wk_script_free(s);
}


int
wk_script_run(const char *content, size_t len, const char *args_json,
    const char *context_json, const char *nodes_json, unsigned timeout_ms,
    size_t mem_limit, wk_script_result_t *out)
{
    int64_t         wait;
    wk_script_t    *s;
    struct pollfd   pfd;

    s = wk_script_start(content, len, args_json, context_json, nodes_json,
                        timeout_ms, mem_limit);
    if (s == NULL) {
        memset(out, 0, sizeof(wk_script_result_t));
        out->error = wk_strdupf("script cannot start: %s", strerror(errno));
        return -1;
    }

    while (wk_script_collect(s, out) == WK_SCRIPT_AGAIN) {
        wait = s->deadline - wk_mono_ms();

        pfd.fd = s->fd;
        pfd.events = POLLIN;
        pfd.revents = 0;

        (void) poll(&pfd, 1, wait > 0 ? (int) wait : 0);
    }

    return out->ok ? 0 : -1;
}


void
wk_script_result_free(wk_script_result_t *r)
{
    free(r->result_json);
    free(r->error);
    free(r->log);

    r->result_json = NULL;
    r->error = NULL;
    r->log = NULL;
    r->ok = 0;
}
