/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The "script" node: JavaScript in a sandboxed process per run.
 *
 * Processes.  The worker forks a small helper first thing, before it reads
 * any option, password, credential or job; the helper wipes its copy of
 * the environment and the arguments, closes every descriptor but its
 * control socket, readies V8 (wk_v8.cc) and waits.  For a run the worker
 * writes the input to a memfd and passes it and one end of a socket pair
 * to the helper, which forks the script process:
 *
 *   script process: reads the input, closes every descriptor but the
 *       socket (fd 3; fds 0, 1 and 2 too: errors go back as frames),
 *       rlimits, watchdog thread, system-call filter (or the run fails:
 *       never unsandboxed), then runs: each in a fresh context of the
 *       process's one isolate, its frames ending with a final one that
 *       says whether the process takes another run.
 *   worker: reads the socket (non-blocking, for its event loop) until the
 *       final frame, decodes the frames, and keeps up to WK_SCRIPT_IDLE
 *       processes for later runs, passing them the next memfd itself.
 *
 * So a script process is created from a process that holds no secret and
 * no job's data.  A process serves at most WK_SCRIPT_RUNS runs (of any
 * jobs, each in a fresh context: no global or built-in of one run is seen
 * by the next) and ends after a run that timed out or hit the memory cap.
 * Making an isolate costs 2 to 3 ms, a context 0.5 ms: the pool is what
 * makes V8 faster than Duktape was.  The helper reaps its children
 * (SIGCHLD ignored) and dies with the worker (PR_SET_PDEATHSIG), its
 * children with it; a script process also ends as soon as the worker
 * closes its socket (cancel, or the worker's death).
 *
 * Time: the watchdog stops V8 at the timeout and ends the process
 * WK_SCRIPT_GRACE later if V8 did not stop; the worker's own deadline
 * (it closes the socket, which the watchdog sees) is the backstop.
 * Memory: V8's heap cap (wk_v8.cc).  Sandbox: the script sees ECMAScript
 * built-ins and the globals of §12 only; the kernel backs that up with a
 * seccomp filter, in every thread, that allows what V8 without JIT needs
 * (memory without PROT_EXEC, time, futex, the socket's read, write and
 * recvmsg, close, exit) and fails everything else with EPERM.
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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>

#include "wk_script.h"
#include "wk_v8.h"


#define WK_SCRIPT_GRACE   1000      /* ms the process lives past the timeout */
#define WK_SCRIPT_WAIT    500       /* ms more the worker waits for it */
#define WK_SCRIPT_FD      3         /* the socket in the script process */

/* Frames on the socket: kind, 8-byte length in host order, payload. */
#define WK_FRAME_LOG      'L'
#define WK_FRAME_RESULT   'R'       /* the last run of the process */
#define WK_FRAME_ERROR    'E'
#define WK_FRAME_RESULT_NEXT  'r'   /* and the process takes another */
#define WK_FRAME_ERROR_NEXT   'e'
#define WK_FRAME_HDR      9

#define WK_SCRIPT_RUNS    1000      /* runs of one script process */
#define WK_SCRIPT_IDLE    2         /* idle script processes kept */

#define WK_MSG_TIMEOUT    "script timed out after %u ms"
#define WK_MSG_MEMORY     "script exceeded the memory limit"

/* The helper's test switch (t/unit/test_script.c), read once at its start. */
#define WK_SCRIPT_TEST_ENV  "WEBHOOK_SCRIPT_TEST"


/* The input in the memfd: this header, then the NUL-terminated strings. */

typedef struct {
    uint32_t             timeout_ms;
    uint32_t             allow_eval;
    uint64_t             mem_limit;
    uint64_t             len[4];        /* content, args, context, nodes */
    uint8_t              have[4];       /* 0: the string is NULL */
} wk_script_hdr_t;


struct wk_script_s {
    int                  fd;
    size_t               mem_limit;
    size_t               scan;         /* the next frame's offset */
    unsigned             timeout_ms;
    int64_t              deadline;
    size_t               max;          /* bytes the process may send */
    char                *buf;
    size_t               len;
    size_t               cap;
};


/* Script processes between runs: their sockets and heap caps. */
static int               wk_idle_fd[WK_SCRIPT_IDLE];
static size_t            wk_idle_mem[WK_SCRIPT_IDLE];
static int               wk_nidle;

static pid_t             wk_helper_pid = -1;
static pid_t             wk_helper_owner;    /* the process that forked it */
static int               wk_helper_fd = -1;
static int               wk_helper_final;


/*
 * State of a script process.  The worker never touches these.  The log
 * lines are counted with release/acquire so that the watchdog can send
 * the finished ones while the script still runs.
 */

static int               wk_child_test_seccomp;     /* forced failure */
static int               wk_child_test_probe;
static int               wk_child_v8_failed;
static unsigned          wk_child_timeout_ms;
static char             *wk_child_lines[WK_SCRIPT_LOG_LINES];
static size_t            wk_child_line_len[WK_SCRIPT_LOG_LINES];
static unsigned          wk_child_nlines;


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


/* The script process's side. */

static int
wk_child_frame(int kind, const char *p1, size_t l1, const char *p2,
    size_t l2)
{
    char      hdr[WK_FRAME_HDR];
    uint64_t  len;

    len = l1 + l2;
    hdr[0] = (char) kind;
    memcpy(hdr + 1, &len, 8);

    if (wk_write_all(WK_SCRIPT_FD, hdr, WK_FRAME_HDR) != 0
        || wk_write_all(WK_SCRIPT_FD, p1, l1) != 0
        || wk_write_all(WK_SCRIPT_FD, p2, l2) != 0)
    {
        return -1;
    }

    return 0;
}


/* Sends the run's log lines and its final frame. */

static void
wk_child_send(int kind, const char *p1, size_t l1, const char *p2, size_t l2)
{
    unsigned  i, n;

    n = __atomic_load_n(&wk_child_nlines, __ATOMIC_ACQUIRE);

    for (i = 0; i < n; i++) {
        (void) wk_child_frame(WK_FRAME_LOG, wk_child_lines[i],
                              wk_child_line_len[i], NULL, 0);
    }

    (void) wk_child_frame(kind, p1, l1, p2, l2);
}


/*
 * The same, and the process ends.  The main thread, the watchdog and V8's
 * fatal handler may all end a run: wk_v8.cc lets one of them at a time.
 */

static void
wk_child_end(int kind, const char *p1, size_t l1, const char *p2, size_t l2)
    __attribute__((noreturn));

static void
wk_child_end(int kind, const char *p1, size_t l1, const char *p2, size_t l2)
{
    wk_child_send(kind, p1, l1, p2, l2);

    _exit(0);
}


static void
wk_child_logs_reset(void)
{
    unsigned  i;

    for (i = 0; i < wk_child_nlines; i++) {
        free(wk_child_lines[i]);
    }

    __atomic_store_n(&wk_child_nlines, 0, __ATOMIC_RELEASE);
}


static void
wk_child_fail(const char *msg) __attribute__((noreturn));

static void
wk_child_fail(const char *msg)
{
    wk_child_end(WK_FRAME_ERROR, msg, strlen(msg), NULL, 0);
}


static void
wk_child_timed_out(void) __attribute__((noreturn));

static void
wk_child_timed_out(void)
{
    char  msg[64];

    snprintf(msg, sizeof(msg), WK_MSG_TIMEOUT, wk_child_timeout_ms);
    wk_child_fail(msg);
}


static void
wk_child_expire(int hung_up)
{
    if (hung_up) {
        /* the worker cancelled the run or is gone: nobody reads */
        _exit(0);
    }

    wk_child_timed_out();
}


static void
wk_child_fatal(int memory, const char *msg)
{
    static const char  prefix[] = "script error: fatal: ";

    if (memory) {
        wk_child_fail(WK_MSG_MEMORY);
    }

    wk_child_end(WK_FRAME_ERROR, prefix, sizeof(prefix) - 1, msg,
                 strlen(msg));
}


/* A console line: at most WK_SCRIPT_LOG_LINE bytes, cut between UTF-8
 * characters; lines past WK_SCRIPT_LOG_LINES are dropped. */

static void
wk_child_log(void *data, const char *p, size_t len)
{
    char      *line;
    unsigned   n;

    n = __atomic_load_n(&wk_child_nlines, __ATOMIC_RELAXED);

    if (n >= WK_SCRIPT_LOG_LINES) {
        return;
    }

    if (len > WK_SCRIPT_LOG_LINE) {
        len = WK_SCRIPT_LOG_LINE;

        while (len && ((unsigned char) p[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    line = malloc(len + 1);
    if (line == NULL) {
        return;
    }

    memcpy(line, p, len);
    line[len] = '\0';

    wk_child_lines[n] = line;
    wk_child_line_len[n] = len;
    __atomic_store_n(&wk_child_nlines, n + 1, __ATOMIC_RELEASE);
}


/*
 * Kernel-side sandbox: what V8 without JIT needs to run a script is
 * memory (never executable), time, futexes, the socket and exit.  Anything
 * else fails with EPERM rather than killing, so that an unexpected path
 * in libc or V8 degrades instead of crashing.
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

/* mmap and mprotect only without PROT_EXEC (argument 2) */
#define WK_ALLOW_NOEXEC(nr)                                                   \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 4),                          \
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,                                        \
             offsetof(struct seccomp_data, args[2])),                         \
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 1, 0),                    \
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                             \
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & 0xffff))

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
        WK_ALLOW(__NR_pread64),
        WK_ALLOW(__NR_write),
        WK_ALLOW(__NR_recvmsg),     /* the next run's memfd */
        WK_ALLOW(__NR_close),
        WK_ALLOW(__NR_munmap),
        WK_ALLOW(__NR_mremap),
        WK_ALLOW(__NR_madvise),
        WK_ALLOW(__NR_brk),
        WK_ALLOW(__NR_rt_sigreturn),
        WK_ALLOW(__NR_rt_sigprocmask),
        WK_ALLOW(__NR_restart_syscall),
        WK_ALLOW(__NR_clock_gettime),
        WK_ALLOW(__NR_clock_getres),
        WK_ALLOW(__NR_gettimeofday),
        WK_ALLOW(__NR_getpid),
        WK_ALLOW(__NR_gettid),
        WK_ALLOW(__NR_futex),
        WK_ALLOW(__NR_sched_yield),
        WK_ALLOW(__NR_ppoll),
        WK_ALLOW(__NR_getrandom),
#ifdef __NR_poll
        WK_ALLOW(__NR_poll),
#endif
        WK_ALLOW(__NR_exit),
        WK_ALLOW(__NR_exit_group),
        WK_ALLOW_NOEXEC(__NR_mmap),
        WK_ALLOW_NOEXEC(__NR_mprotect),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & 0xffff)),
    };
    struct sock_fprog   prog;

    if (wk_child_test_seccomp) {
        errno = ENOSYS;
        return -1;
    }

    prog.len = sizeof(filter) / sizeof(filter[0]);
    prog.filter = filter;

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        return -1;
    }

    /*
     * prctl() and not seccomp(SECCOMP_FILTER_FLAG_TSYNC): systemd's
     * @system-service filter (the Debian unit's) refuses seccomp(2).  So
     * each thread installs it for itself: the watchdog at its start.
     */
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

#else

static int
wk_child_seccomp(void)
{
    errno = ENOSYS;
    return -1;
}

#endif


/* What the sandbox lets through, for the tests (WEBHOOK_SCRIPT_TEST). */

static void
wk_child_probe(void)
{
    int   fd, sfd, e1, e2;
    char  line[128];

    fd = open("/etc/hostname", O_RDONLY);
    e1 = (fd >= 0) ? 0 : errno;
    sfd = socket(AF_INET, SOCK_STREAM, 0);
    e2 = (sfd >= 0) ? 0 : errno;

    snprintf(line, sizeof(line), "probe: open %s, socket %s",
             e1 ? strerrorname_np(e1) : "allowed",
             e2 ? strerrorname_np(e2) : "allowed");
    wk_child_log(NULL, line, strlen(line));
}


static char *
wk_child_read_input(int fd, wk_script_hdr_t *h)
{
    char     *p;
    size_t    n, got;
    ssize_t   r;

    if (pread(fd, h, sizeof(*h), 0) != (ssize_t) sizeof(*h)) {
        return NULL;
    }

    n = h->len[0] + h->len[1] + h->len[2] + h->len[3] + 4;
    p = malloc(n);
    if (p == NULL) {
        return NULL;
    }

    for (got = 0; got < n; got += (size_t) r) {
        r = pread(fd, p + got, n - got, sizeof(*h) + got);
        if (r <= 0) {
            free(p);
            return NULL;
        }
    }

    return p;
}


/* Waits for the next run's memfd on the socket; -1 when the worker is
 * gone or sent something else. */

static int
wk_child_next(void)
{
    int              fd;
    char             byte, cbuf[CMSG_SPACE(sizeof(int))];
    ssize_t          n;
    struct iovec     iov;
    struct msghdr    msg;
    struct cmsghdr  *cm;

    iov.iov_base = &byte;
    iov.iov_len = 1;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof(cbuf);

    do {
        n = recvmsg(WK_SCRIPT_FD, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);

    cm = CMSG_FIRSTHDR(&msg);

    if (n != 1 || cm == NULL || cm->cmsg_level != SOL_SOCKET
        || cm->cmsg_type != SCM_RIGHTS
        || cm->cmsg_len != CMSG_LEN(sizeof(int)))
    {
        return -1;
    }

    memcpy(&fd, CMSG_DATA(cm), sizeof(int));

    return fd;
}


static void
wk_child(int sock, int in_fd, pid_t helper) __attribute__((noreturn));

static void
wk_child(int sock, int in_fd, pid_t helper)
{
    int               rc, err, i, runs, last;
    char             *data, *json, *error, msg[128];
    size_t            json_len, off, mem_limit;
    sigset_t          set;
    wk_v8_in_t        in;
    struct rlimit     rl;
    wk_script_hdr_t   h;
    const char       *s[4];

    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0
        || getppid() != helper)
    {
        _exit(1);
    }

    data = wk_child_read_input(in_fd, &h);

    /* the socket becomes fd 3; nothing else stays open, 0 to 2 neither */

    if (sock != WK_SCRIPT_FD) {
        if (dup2(sock, WK_SCRIPT_FD) != WK_SCRIPT_FD) {
            _exit(1);
        }
    }

    if (close_range(0, WK_SCRIPT_FD - 1, 0) != 0
        || close_range(WK_SCRIPT_FD + 1, ~0U, 0) != 0)
    {
        for (i = 0; i < 65536; i++) {
            if (i != WK_SCRIPT_FD) {
                (void) close(i);
            }
        }
    }

    wk_child_timeout_ms = h.timeout_ms;

    if (data == NULL) {
        wk_child_fail("script error: the input cannot be read");
    }

    if (wk_child_v8_failed) {
        wk_child_fail("script error: the JavaScript engine cannot start");
    }

    sigemptyset(&set);
    sigprocmask(SIG_SETMASK, &set, NULL);

    rl.rlim_cur = 0;
    rl.rlim_max = 0;
    setrlimit(RLIMIT_CORE, &rl);

    /* poll() needs the socket below the limit; one more for a memfd */
    rl.rlim_cur = WK_SCRIPT_FD + 2;
    rl.rlim_max = WK_SCRIPT_FD + 2;
    setrlimit(RLIMIT_NOFILE, &rl);

    /* Date needs the time zone before /etc/localtime is out of reach */
    tzset();

    /* the watchdog thread installs the filter for itself first */
    err = 0;

    if (wk_v8_watch(WK_SCRIPT_FD, wk_child_expire, wk_child_seccomp, &err)
        != 0)
    {
        if (err == 0) {
            wk_child_fail("script error: the watchdog cannot start");
        }

        errno = err;

    } else if (wk_child_seccomp() != 0) {
        err = errno;
    }

    /* last: nothing but runs may follow; never run unfiltered */

    if (err != 0) {
        snprintf(msg, sizeof(msg), "script sandbox cannot be installed: "
                 "system-call filter: %s", strerror(err));
        wk_child_fail(msg);
    }

    if (wk_child_test_probe) {
        wk_child_probe();
    }

    /* the isolate is made for the first run's cap: later runs share it */
    mem_limit = h.mem_limit;

    for (runs = 1; /* void */; runs++) {
        wk_child_timeout_ms = h.timeout_ms;

        if (h.mem_limit != mem_limit) {
            wk_child_fail("script error: a run with another memory limit");
        }

        memset(&in, 0, sizeof(in));

        if (getrandom(in.seed, sizeof(in.seed), GRND_NONBLOCK)
            != (ssize_t) sizeof(in.seed))
        {
            in.seed[0] = (uint64_t) wk_mono_ms() ^ ((uint64_t) runs << 32);
            in.seed[1] = (uint64_t) (uintptr_t) &in * 0x9e3779b97f4a7c15ULL;
        }

        off = 0;

        for (i = 0; i < 4; i++) {
            s[i] = h.have[i] ? data + off : NULL;
            off += h.len[i] + 1;
        }

        in.content = s[0];
        in.len = h.len[0];
        in.args_json = s[1];
        in.context_json = s[2];
        in.nodes_json = s[3];
        in.heap_limit = h.mem_limit;
        in.timeout_ms = h.timeout_ms;
        in.grace_ms = WK_SCRIPT_GRACE;
        in.allow_eval = (int) h.allow_eval;
        in.log = wk_child_log;

        rc = wk_v8_run(&in, &json, &json_len, &error);

        /* a stopped or exhausted isolate is not used again */
        last = (runs >= WK_SCRIPT_RUNS || rc == WK_V8_TIMEOUT
                || rc == WK_V8_MEMORY);

        switch (rc) {

        case WK_V8_OK:
            wk_child_send(last ? WK_FRAME_RESULT : WK_FRAME_RESULT_NEXT,
                          json, json_len, NULL, 0);
            break;

        case WK_V8_TIMEOUT:
            wk_child_timed_out();

        case WK_V8_MEMORY:
            wk_child_fail(WK_MSG_MEMORY);

        default:
            if (error == NULL) {
                wk_child_fail("script error: out of memory");
            }

            wk_child_send(last ? WK_FRAME_ERROR : WK_FRAME_ERROR_NEXT,
                          error, strlen(error), NULL, 0);
        }

        if (last) {
            _exit(0);
        }

        free(json);
        free(error);
        free(data);
        wk_child_logs_reset();

        /* the next run, or the end when the worker closes the socket */
        in_fd = wk_child_next();
        if (in_fd < 0) {
            _exit(0);
        }

        data = wk_child_read_input(in_fd, &h);
        close(in_fd);

        if (data == NULL) {
            wk_child_fail("script error: the input cannot be read");
        }
    }
}


/*
 * The helper.  Its copy of the worker's memory holds the environment and
 * the arguments (a password in WEBHOOK_REDIS_PASSWORD, an SMTP URL with
 * credentials, --env values): both are wiped before anything else.
 */

static void
wk_helper_wipe(char **argv)
{
    char          **e;
    extern char   **environ;

    for (e = environ; e != NULL && *e != NULL; e++) {
        explicit_bzero(*e, strlen(*e));
    }

    clearenv();

    for (e = argv; e != NULL && *e != NULL; e++) {
        explicit_bzero(*e, strlen(*e));
    }
}


static void
wk_helper(int ctl, pid_t worker, char **argv) __attribute__((noreturn));

static void
wk_helper(int ctl, pid_t worker, char **argv)
{
    int               i, fds[2];
    char              byte, cbuf[CMSG_SPACE(2 * sizeof(int))];
    pid_t             pid, self;
    ssize_t           n;
    sigset_t          set;
    const char       *test;
    struct iovec      iov;
    struct msghdr     msg;
    struct cmsghdr   *cm;
    struct sigaction  sa;
    static const int  ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
                                    SIGUSR1, SIGUSR2, SIGPIPE, SIGCHLD };

    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0
        || getppid() != worker)
    {
        _exit(1);
    }

    /*
     * The worker finishes what is in flight on SIGTERM (which systemd
     * sends to the whole cgroup), so the helper and the scripts do not
     * die of it; they die with the worker instead.  SIGCHLD ignored: the
     * kernel reaps the script processes.
     */

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);

    for (i = 0; i < (int) (sizeof(ignored) / sizeof(ignored[0])); i++) {
        sigaction(ignored[i], &sa, NULL);
    }

    sigemptyset(&set);
    sigprocmask(SIG_SETMASK, &set, NULL);

    test = getenv(WK_SCRIPT_TEST_ENV);
    if (test != NULL) {
        wk_child_test_seccomp = (strstr(test, "seccomp-fail") != NULL);
        wk_child_test_probe = (strstr(test, "probe") != NULL);
    }

    wk_helper_wipe(argv);

    (void) prctl(PR_SET_NAME, "webhook-script", 0, 0, 0);

    if (ctl != WK_SCRIPT_FD + 1) {
        if (dup2(ctl, WK_SCRIPT_FD + 1) != WK_SCRIPT_FD + 1) {
            _exit(1);
        }

        ctl = WK_SCRIPT_FD + 1;
    }

    (void) close_range(0, ctl - 1, 0);
    (void) close_range(ctl + 1, ~0U, 0);

    wk_child_v8_failed = (wk_v8_init(WK_SCRIPT_MEM_LIMIT, wk_child_fatal)
                          != 0);

    self = getpid();

    for ( ;; ) {
        iov.iov_base = &byte;
        iov.iov_len = 1;
        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf;
        msg.msg_controllen = sizeof(cbuf);

        n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC);

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            _exit(0);       /* the worker closed its end */
        }

        cm = CMSG_FIRSTHDR(&msg);

        if (cm == NULL || cm->cmsg_level != SOL_SOCKET
            || cm->cmsg_type != SCM_RIGHTS
            || cm->cmsg_len != CMSG_LEN(2 * sizeof(int)))
        {
            continue;
        }

        memcpy(fds, CMSG_DATA(cm), sizeof(fds));

        pid = fork();

        if (pid == 0) {
            wk_child(fds[0], fds[1], self);
        }

        /* a failed fork: the worker sees the end of file at once */
        close(fds[0]);
        close(fds[1]);
    }
}


/* A forked copy of the caller has no helper of its own (yet). */

static void
wk_idle_close(void)
{
    while (wk_nidle) {
        close(wk_idle_fd[--wk_nidle]);
    }
}


static void
wk_helper_forget(void)
{
    if (wk_helper_pid > 0 && wk_helper_owner != getpid()) {
        close(wk_helper_fd);
        wk_idle_close();
        wk_helper_fd = -1;
        wk_helper_pid = -1;
    }
}


int
wk_script_helper_start(int final, char **argv)
{
    int    sv[2], err;
    pid_t  worker;

    if (final) {
        wk_helper_final = 1;
    }

    wk_helper_forget();

    if (wk_helper_pid > 0) {
        return 0;
    }

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        return -1;
    }

    worker = getpid();
    wk_helper_pid = fork();

    if (wk_helper_pid == 0) {
        close(sv[0]);
        wk_helper(sv[1], worker, argv);
    }

    err = errno;
    close(sv[1]);

    if (wk_helper_pid == -1) {
        close(sv[0]);
        errno = err;
        return -1;
    }

    wk_helper_fd = sv[0];
    wk_helper_owner = worker;

    return 0;
}


void
wk_script_helper_stop(void)
{
    wk_helper_forget();

    if (wk_helper_pid <= 0) {
        return;
    }

    close(wk_helper_fd);
    wk_idle_close();
    kill(wk_helper_pid, SIGKILL);

    while (waitpid(wk_helper_pid, NULL, 0) == -1 && errno == EINTR) {
        /* void */
    }

    wk_helper_fd = -1;
    wk_helper_pid = -1;
}


/* Passes the run's socket and input to the helper. */

static int
wk_helper_send(int sock, int in_fd)
{
    int              fds[2];
    char             byte, cbuf[CMSG_SPACE(2 * sizeof(int))];
    ssize_t          n;
    struct iovec     iov;
    struct msghdr    msg;
    struct cmsghdr  *cm;

    wk_helper_forget();

    if (wk_helper_pid <= 0) {
        if (wk_helper_final || wk_script_helper_start(0, NULL) != 0) {
            errno = ECHILD;
            return -1;
        }
    }

    fds[0] = sock;
    fds[1] = in_fd;
    byte = 'r';
    iov.iov_base = &byte;
    iov.iov_len = 1;

    memset(&msg, 0, sizeof(msg));
    memset(cbuf, 0, sizeof(cbuf));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof(cbuf);

    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(fds));
    memcpy(CMSG_DATA(cm), fds, sizeof(fds));

    do {
        n = sendmsg(wk_helper_fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);

    if (n == 1) {
        return 0;
    }

    if (errno == EPIPE || errno == ECONNRESET || errno == ECONNREFUSED) {
        /* the helper is gone; a fresh one only while no secret is held */
        wk_script_helper_stop();
        errno = ECHILD;

        if (!wk_helper_final) {
            return wk_helper_send(sock, in_fd);
        }
    }

    return -1;
}


static int
wk_script_input(const char *content, size_t len, const char *args_json,
    const char *context_json, const char *nodes_json, unsigned timeout_ms,
    size_t mem_limit, int allow_eval)
{
    int               fd, i;
    const char       *s[4];
    size_t            l[4];
    wk_script_hdr_t   h;

    fd = memfd_create("webhook-script", MFD_CLOEXEC);
    if (fd < 0) {
        return -1;
    }

    s[0] = content;
    l[0] = len;
    s[1] = args_json;
    s[2] = context_json;
    s[3] = nodes_json;

    memset(&h, 0, sizeof(h));
    h.timeout_ms = timeout_ms;
    h.allow_eval = (uint32_t) (allow_eval != 0);
    h.mem_limit = mem_limit;

    for (i = 0; i < 4; i++) {
        if (i > 0) {
            l[i] = s[i] ? strlen(s[i]) : 0;
        }

        h.len[i] = l[i];
        h.have[i] = (s[i] != NULL);
    }

    if (wk_write_all(fd, &h, sizeof(h)) != 0) {
        goto failed;
    }

    for (i = 0; i < 4; i++) {
        if ((l[i] && wk_write_all(fd, s[i], l[i]) != 0)
            || wk_write_all(fd, "", 1) != 0)
        {
            goto failed;
        }
    }

    return fd;

failed:

    close(fd);

    return -1;
}


/* The worker's side. */

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


/*
 * The kind of the run's final frame when the whole of it has come (the
 * process sends nothing after it), else 0.  Frames already seen are not
 * looked at again.
 */

static int
wk_script_final(wk_script_t *s)
{
    uint64_t  n;

    while (s->len - s->scan >= WK_FRAME_HDR) {
        memcpy(&n, s->buf + s->scan + 1, 8);

        if (n > s->len - s->scan - WK_FRAME_HDR) {
            return 0;
        }

        if (s->buf[s->scan] != WK_FRAME_LOG) {
            return (s->scan + WK_FRAME_HDR + n == s->len)
                   ? s->buf[s->scan] : 0;
        }

        s->scan += WK_FRAME_HDR + n;
    }

    return 0;
}


static void
wk_script_free(wk_script_t *s)
{
    if (s->fd >= 0) {
        close(s->fd);
    }

    free(s->buf);
    free(s);
}


/* Fills out from the frames. */

static void
wk_script_decode(wk_script_t *s, wk_script_result_t *out)
{
    char       *p, *end, *line, **lines;
    size_t      total, i;
    uint64_t    n;

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
            if (out->nlogs >= WK_SCRIPT_LOG_LINES) {
                break;
            }

            lines = realloc(out->logs, (out->nlogs + 1) * sizeof(char *));
            if (lines == NULL) {
                break;
            }

            out->logs = lines;
            line = wk_memdup(p + WK_FRAME_HDR, n);
            if (line != NULL) {
                out->logs[out->nlogs++] = line;
            }

            break;

        case WK_FRAME_RESULT:
        case WK_FRAME_RESULT_NEXT:
            out->result_json = wk_memdup(p + WK_FRAME_HDR, n);
            out->ok = (out->result_json != NULL);
            if (!out->ok) {
                out->error = wk_strdupf("script result: out of memory");
            }
            goto logs;

        case WK_FRAME_ERROR:
        case WK_FRAME_ERROR_NEXT:
            out->error = wk_memdup(p + WK_FRAME_HDR, n);
            goto logs;
        }

        p += WK_FRAME_HDR + n;
    }

    out->error = wk_strdupf("script process ended without a result");

logs:

    if (out->nlogs == 0) {
        return;
    }

    total = 0;

    for (i = 0; i < out->nlogs; i++) {
        total += strlen(out->logs[i]) + 1;
    }

    out->log = malloc(total);
    if (out->log == NULL) {
        return;
    }

    p = out->log;

    for (i = 0; i < out->nlogs; i++) {
        n = strlen(out->logs[i]);
        memcpy(p, out->logs[i], n);
        p += n;
        *p++ = '\n';
    }

    p[-1] = '\0';
}


static void
wk_script_fail(wk_script_t *s, wk_script_result_t *out, char *error)
{
    memset(out, 0, sizeof(wk_script_result_t));
    out->error = error;
    wk_script_free(s);
}


/*
 * An idle script process with this heap cap, given the run's memfd; its
 * socket, or -1.  One that hung up (it ended) or says anything is closed.
 */

static int
wk_idle_take(size_t mem_limit, int in_fd)
{
    int              i, fd;
    char             byte, cbuf[CMSG_SPACE(sizeof(int))];
    ssize_t          n;
    struct iovec     iov;
    struct msghdr    msg;
    struct pollfd    pfd;
    struct cmsghdr  *cm;

    wk_helper_forget();

    for (i = wk_nidle - 1; i >= 0; i--) {
        if (wk_idle_mem[i] != mem_limit) {
            continue;
        }

        fd = wk_idle_fd[i];
        wk_idle_fd[i] = wk_idle_fd[--wk_nidle];
        wk_idle_mem[i] = wk_idle_mem[wk_nidle];

        pfd.fd = fd;
        pfd.events = POLLIN | POLLRDHUP;
        pfd.revents = 0;

        if (poll(&pfd, 1, 0) != 0) {
            close(fd);
            continue;
        }

        byte = 'r';
        iov.iov_base = &byte;
        iov.iov_len = 1;
        memset(&msg, 0, sizeof(msg));
        memset(cbuf, 0, sizeof(cbuf));
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf;
        msg.msg_controllen = sizeof(cbuf);

        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &in_fd, sizeof(int));

        do {
            n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        } while (n < 0 && errno == EINTR);

        if (n == 1) {
            return fd;
        }

        close(fd);
    }

    return -1;
}


/* After a run: its process waits for the next one, or goes. */

static void
wk_idle_put(int fd, size_t mem_limit)
{
    if (wk_nidle == WK_SCRIPT_IDLE || wk_helper_pid <= 0
        || wk_helper_owner != getpid())
    {
        close(fd);
        return;
    }

    wk_idle_fd[wk_nidle] = fd;
    wk_idle_mem[wk_nidle] = mem_limit;
    wk_nidle++;
}


wk_script_t *
wk_script_start_eval(const char *content, size_t len, const char *args_json,
    const char *context_json, const char *nodes_json, unsigned timeout_ms,
    size_t mem_limit, int allow_eval)
{
    int              sv[2], in_fd, err;
    wk_script_t     *s;

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

    in_fd = wk_script_input(content, len, args_json, context_json,
                            nodes_json, timeout_ms, mem_limit, allow_eval);
    if (in_fd < 0) {
        err = errno;
        free(s);
        errno = err;
        return NULL;
    }

    s->fd = wk_idle_take(mem_limit, in_fd);

    if (s->fd >= 0) {
        close(in_fd);
        goto started;
    }

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        err = errno;
        close(in_fd);
        free(s);
        errno = err;
        return NULL;
    }

    if (wk_helper_send(sv[1], in_fd) != 0) {
        err = errno;
        close(sv[0]);
        close(sv[1]);
        close(in_fd);
        free(s);
        errno = err;
        return NULL;
    }

    close(sv[1]);
    close(in_fd);

    s->fd = sv[0];

started:

    s->mem_limit = mem_limit;
    s->timeout_ms = timeout_ms;
    s->deadline = wk_mono_ms() + timeout_ms + WK_SCRIPT_GRACE
                  + WK_SCRIPT_WAIT;

    /* the result's JSON fits in the heap; the log lines come on top */
    s->max = mem_limit + WK_SCRIPT_LOG_LINES
                         * (WK_SCRIPT_LOG_LINE + WK_FRAME_HDR)
             + 2 * WK_FRAME_HDR + 4096;

    (void) fcntl(s->fd, F_SETFL, O_NONBLOCK);

    return s;
}


wk_script_t *
wk_script_start(const char *content, size_t len, const char *args_json,
    const char *context_json, const char *nodes_json, unsigned timeout_ms,
    size_t mem_limit)
{
    return wk_script_start_eval(content, len, args_json, context_json,
                                nodes_json, timeout_ms, mem_limit, 0);
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
    int       kind;
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
            kind = wk_script_final(s);

            if (kind == WK_FRAME_RESULT_NEXT || kind == WK_FRAME_ERROR_NEXT)
            {
                /* the run is over, its process stays for the next */
                wk_script_decode(s, out);
                wk_idle_put(s->fd, s->mem_limit);
                s->fd = -1;
                wk_script_free(s);
                return 0;
            }

            if (wk_mono_ms() < s->deadline) {
                return WK_SCRIPT_AGAIN;
            }

            /* closing the socket ends the process */
            wk_script_fail(s, out, wk_strdupf(WK_MSG_TIMEOUT, s->timeout_ms));
            return 0;
        }

        wk_script_fail(s, out, wk_strdupf("script result cannot be read: %s",
                                          strerror(errno)));
        return 0;
    }

    /* end of file: the script process has ended */

    wk_script_decode(s, out);
    wk_script_free(s);

    return 0;
}


void
wk_script_cancel(wk_script_t *s)
{
    wk_script_free(s);
}


int
wk_script_run_eval(const char *content, size_t len, const char *args_json,
    const char *context_json, const char *nodes_json, unsigned timeout_ms,
    size_t mem_limit, int allow_eval, wk_script_result_t *out)
{
    int64_t         wait;
    wk_script_t    *s;
    struct pollfd   pfd;

    s = wk_script_start_eval(content, len, args_json, context_json,
                             nodes_json, timeout_ms, mem_limit, allow_eval);
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


int
wk_script_run(const char *content, size_t len, const char *args_json,
    const char *context_json, const char *nodes_json, unsigned timeout_ms,
    size_t mem_limit, wk_script_result_t *out)
{
    return wk_script_run_eval(content, len, args_json, context_json,
                              nodes_json, timeout_ms, mem_limit, 0, out);
}


void
wk_script_result_free(wk_script_result_t *r)
{
    size_t  i;

    for (i = 0; i < r->nlogs; i++) {
        free(r->logs[i]);
    }

    free(r->logs);
    free(r->result_json);
    free(r->error);
    free(r->log);

    memset(r, 0, sizeof(wk_script_result_t));
}
