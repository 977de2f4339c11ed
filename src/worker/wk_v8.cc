/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The script node's engine: V8 from Debian's libnode, the project's only
 * C++, behind the C interface of wk_v8.h.
 *
 * V8 runs without JIT (--jitless: no writable-executable memory, so the
 * system-call filter can refuse PROT_EXEC) and single-threaded (no
 * platform workers, no concurrent GC), so that a process that has
 * initialized it can fork.  Isolates cannot cross a fork (V8 maps its
 * heap MADV_DONTFORK): a script process makes one at its first run and
 * keeps it.  Each run gets a fresh context of that isolate: a global set
 * or a built-in changed by one run does not exist in the next.
 *
 * Limits.  Time: a watchdog thread, armed for each run, calls
 * TerminateExecution() at the deadline, which also ends a chain of
 * microtasks that never finishes.
 * Memory: the isolate's heap is capped; near the cap a callback marks
 * the run and terminates it (granting the room to unwind), array buffers
 * are counted against the same cap, and V8's own out-of-memory handler
 * ends the process through the caller's fatal hook.
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <linux/futex.h>

#include <atomic>
#include <memory>
#include <string>

#include <libplatform/libplatform.h>
#include <v8.h>

#include "wk_v8.h"


namespace {

/* Counts array buffer memory against the heap cap. */

void wk_allocator_refused(void);

class wk_allocator_t : public v8::ArrayBuffer::Allocator {
public:
    size_t  used = 0;
    size_t  cap = 0;

    void *Allocate(size_t n) override
    {
        void  *p;

        if (n > cap - used) {
            wk_allocator_refused();
            return nullptr;
        }

        p = calloc(1, n ? n : 1);
        if (p != nullptr) {
            used += n;
        }

        return p;
    }

    void *AllocateUninitialized(size_t n) override
    {
        void  *p;

        if (n > cap - used) {
            wk_allocator_refused();
            return nullptr;
        }

        p = malloc(n ? n : 1);
        if (p != nullptr) {
            used += n;
        }

        return p;
    }

    void Free(void *p, size_t n) override
    {
        free(p);
        used -= n < used ? n : used;
    }
};


std::unique_ptr<v8::Platform>   wk_platform;
wk_allocator_t                  wk_allocator;
v8::Isolate * volatile          wk_isolate;
size_t                          wk_isolate_limit;
wk_v8_fatal_pt                  wk_fatal;

std::atomic<int>                wk_timed_out;
std::atomic<int>                wk_oom;

const wk_v8_in_t               *wk_in;
uint64_t                        wk_rnd[2];
int                             wk_watch_fd;
void                          (*wk_watch_expire)(int);
std::atomic<int>                wk_watch_running;   /* 1 ok, -1 failed */
int                           (*wk_watch_sandbox)(void);
int                             wk_watch_errno;

/*
 * The run the watchdog guards, under wk_watch_lock: a new generation per
 * arming and per disarming, so that a late decision about one run never
 * touches the next.  The watchdog sleeps on wk_watch_gen (a futex) while
 * nothing is armed.
 */
pthread_mutex_t                 wk_watch_lock = PTHREAD_MUTEX_INITIALIZER;
uint32_t                        wk_watch_gen;
int                             wk_watch_armed;
int64_t                         wk_watch_deadline;
int64_t                         wk_watch_end;


/* array buffers past the cap end the run as the heap's limit does */

void
wk_allocator_refused(void)
{
    wk_oom = 1;

    if (wk_isolate != nullptr) {
        wk_isolate->TerminateExecution();
    }
}


/* the watchdog may be ending the run too: one of them does, under the lock */

void
wk_on_oom(const char *location, bool is_heap)
{
    pthread_mutex_lock(&wk_watch_lock);
    wk_fatal(1, "out of memory");
}


void
wk_on_fatal(const char *location, const char *message)
{
    pthread_mutex_lock(&wk_watch_lock);
    wk_fatal(wk_oom.load() ? 1 : 0, message ? message : "V8 fatal error");
}


size_t
wk_near_limit(void *data, size_t current, size_t initial)
{
    auto  *isolate = static_cast<v8::Isolate *>(data);

    wk_oom = 1;
    isolate->TerminateExecution();

    /* room to unwind: the run ends at the next interrupt check */
    return current + current / 2 + 16 * 1024 * 1024;
}


v8::Isolate *
wk_isolate_new(size_t heap_limit)
{
    v8::Isolate               *isolate;
    v8::Isolate::CreateParams  params;

    wk_allocator.cap = heap_limit;

    params.array_buffer_allocator = &wk_allocator;
    params.constraints.ConfigureDefaultsFromHeapSize(0, heap_limit);
    params.allow_atomics_wait = false;

    isolate = v8::Isolate::New(params);
    if (isolate == nullptr) {
        return nullptr;
    }

    isolate->SetOOMErrorHandler(wk_on_oom);
    isolate->SetFatalErrorHandler(wk_on_fatal);
    isolate->AddNearHeapLimitCallback(wk_near_limit, isolate);
    isolate->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
    isolate->SetCaptureStackTraceForUncaughtExceptions(true, 1);

    return isolate;
}


/* V8's seeds (heap layout, hash seeds) without opening /dev/urandom */

bool
wk_entropy(unsigned char *buf, size_t n)
{
    return getrandom(buf, n, 0) == (ssize_t) n;
}


int64_t
wk_mono_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


void *
wk_watchdog(void *arg)
{
    int            armed, stopped;
    int64_t        now, deadline, end, wait;
    uint32_t       gen, done;
    struct pollfd  pfd;

    /* glibc's thread start (rseq, robust list) is behind us */
    if (wk_watch_sandbox() != 0) {
        wk_watch_errno = errno;
        wk_watch_running = -1;
        return nullptr;
    }

    wk_watch_running = 1;
    done = 0;

    for ( ;; ) {
        pthread_mutex_lock(&wk_watch_lock);
        gen = wk_watch_gen;
        armed = wk_watch_armed;
        deadline = wk_watch_deadline;
        end = wk_watch_end;
        pthread_mutex_unlock(&wk_watch_lock);

        if (!armed) {
            /* between runs: the main thread sees a hang-up itself */
            syscall(SYS_futex, &wk_watch_gen, FUTEX_WAIT_PRIVATE, gen,
                    nullptr, nullptr, 0);
            continue;
        }

        now = wk_mono_ms();
        stopped = (done == gen);

        if (now >= end || (!stopped && now >= deadline)) {
            pthread_mutex_lock(&wk_watch_lock);

            if (wk_watch_gen == gen && wk_watch_armed) {
                if (now >= end) {
                    /* V8 did not stop: the process ends (lock kept) */
                    wk_watch_expire(0);
                }

                wk_timed_out = 1;
                wk_isolate->TerminateExecution();
            }

            pthread_mutex_unlock(&wk_watch_lock);
            done = gen;
            stopped = 1;
        }

        /* short naps: a new run may come with an earlier deadline */
        wait = (stopped ? end : deadline) - now;
        wait = wait < 0 ? 0 : (wait > 50 ? 50 : wait);

        pfd.fd = wk_watch_fd;
        pfd.events = POLLRDHUP;
        pfd.revents = 0;

        if (poll(&pfd, 1, (int) wait) > 0
            && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
        {
            /* the worker cancelled the run or is gone */
            wk_watch_expire(1);
        }
    }

    return nullptr;
}


void
wk_watch_arm(unsigned timeout_ms, unsigned grace_ms)
{
    pthread_mutex_lock(&wk_watch_lock);

    /* a stop meant for the previous run must not reach this one */
    wk_isolate->CancelTerminateExecution();
    wk_timed_out = 0;
    wk_oom = 0;

    wk_watch_deadline = wk_mono_ms() + timeout_ms;
    wk_watch_end = wk_watch_deadline + grace_ms;
    wk_watch_armed = 1;
    wk_watch_gen++;

    pthread_mutex_unlock(&wk_watch_lock);

    syscall(SYS_futex, &wk_watch_gen, FUTEX_WAKE_PRIVATE, 1, nullptr,
            nullptr, 0);
}


void
wk_watch_disarm(void)
{
    pthread_mutex_lock(&wk_watch_lock);
    wk_watch_armed = 0;
    wk_watch_gen++;
    pthread_mutex_unlock(&wk_watch_lock);
}


/* String(v), UTF-8, lone surrogates as U+FFFD; "" when that throws. */

std::string
wk_text(v8::Isolate *isolate, v8::Local<v8::Context> ctx,
    v8::Local<v8::Value> v)
{
    v8::TryCatch           tc(isolate);
    v8::Local<v8::String>  s;

    if (v->IsSymbol()) {
        v = v.As<v8::Symbol>()->Description(isolate);
        if (v->IsUndefined()) {
            return "Symbol()";
        }
    }

    if (!v->ToString(ctx).ToLocal(&s)) {
        return "";
    }

    v8::String::Utf8Value  u(isolate, s);

    return std::string(*u ? *u : "", *u ? u.length() : 0);
}


/* console.log and friends: one line of the arguments, space separated. */

void
wk_console(const v8::FunctionCallbackInfo<v8::Value> &info)
{
    int                     i;
    std::string             line;
    v8::Isolate            *isolate;
    v8::Local<v8::Value>    v;
    v8::Local<v8::String>   json;
    v8::Local<v8::Context>  ctx;

    isolate = info.GetIsolate();
    ctx = isolate->GetCurrentContext();

    for (i = 0; i < info.Length(); i++) {
        v = info[i];

        if (i) {
            line += ' ';
        }

        if (v->IsObject() && !v->IsNativeError() && !v->IsFunction()) {
            v8::TryCatch  tc(isolate);

            if (v8::JSON::Stringify(ctx, v).ToLocal(&json)) {
                v8::String::Utf8Value  u(isolate, json);

                if (*u) {
                    line.append(*u, u.length());
                    continue;
                }
            }
        }

        line += wk_text(isolate, ctx, v);
    }

    wk_in->log(wk_in->log_data, line.data(), line.size());
}


/*
 * structuredClone(value): Node's and browsers', not V8's; V8's value
 * serializer does the work (functions and symbols throw, as there).
 */

void
wk_structured_clone(const v8::FunctionCallbackInfo<v8::Value> &info)
{
    bool                    ok;
    v8::Isolate            *isolate;
    v8::Local<v8::Value>    v;
    v8::Local<v8::Context>  ctx;

    isolate = info.GetIsolate();
    ctx = isolate->GetCurrentContext();

    v8::ValueSerializer  ser(isolate);

    ser.WriteHeader();

    if (!ser.WriteValue(ctx, info[0]).FromMaybe(false)) {
        return;     /* the exception is pending */
    }

    std::pair<uint8_t *, size_t>  buf = ser.Release();

    {
        v8::ValueDeserializer  des(isolate, buf.first, buf.second);

        ok = des.ReadHeader(ctx).FromMaybe(false)
             && des.ReadValue(ctx).ToLocal(&v);
    }

    free(buf.first);

    if (ok) {
        info.GetReturnValue().Set(v);
    }
}


/* Math.random: xorshift128+, seeded by the caller for each process. */

void
wk_random(const v8::FunctionCallbackInfo<v8::Value> &info)
{
    uint64_t  a, b;

    a = wk_rnd[0];
    b = wk_rnd[1];
    wk_rnd[0] = b;
    a ^= a << 23;
    a ^= a >> 17;
    a ^= b ^ (b >> 26);
    wk_rnd[1] = a;

    info.GetReturnValue().Set((double) ((a + b) >> 11) / 9007199254740992.0);
}


char *
wk_strdup(const std::string &s)
{
    char  *p;

    p = static_cast<char *>(malloc(s.size() + 1));
    if (p != nullptr) {
        memcpy(p, s.data(), s.size());
        p[s.size()] = '\0';
    }

    return p;
}


/* "prefix" + String(e), with " (line N)" for errors raised in the script. */

std::string
wk_error_text(v8::Isolate *isolate, v8::Local<v8::Context> ctx,
    v8::Local<v8::Value> e, v8::Local<v8::Message> msg)
{
    int          line;
    std::string  s;

    s = wk_text(isolate, ctx, e);
    if (s.empty()) {
        s = "unknown error";
    }

    if (msg.IsEmpty() && e->IsNativeError()) {
        msg = v8::Exception::CreateMessage(isolate, e);
    }

    if (!msg.IsEmpty()) {
        v8::String::Utf8Value  name(isolate, msg->GetScriptResourceName());

        line = msg->GetLineNumber(ctx).FromMaybe(0);

        if (line > 0 && *name && strcmp(*name, "script") == 0) {
            s += " (line " + std::to_string(line) + ")";
        }
    }

    return s;
}


/*
 * JSON.stringify writes a lone surrogate as an escape (\udXXX), which
 * UTF-8 JSON cannot carry: it becomes U+FFFD.  Pairs come out whole.
 */

std::string
wk_json_repair(const char *p, size_t n)
{
    size_t       i;
    std::string  out;

    out.reserve(n);

    for (i = 0; i < n; i++) {
        if (p[i] != '\\' || i + 1 == n) {
            out += p[i];
            continue;
        }

        if (p[i + 1] == 'u' && i + 5 < n && (p[i + 2] | 0x20) == 'd'
            && strchr("89abcdefABCDEF", p[i + 3]) != nullptr
            && p[i + 3] != '\0')
        {
            out += "\xef\xbf\xbd";
            i += 5;
            continue;
        }

        out += p[i];
        out += p[i + 1];
        i++;
    }

    return out;
}


int
wk_fail(char **error, const std::string &s)
{
    *error = wk_strdup(s);

    return WK_V8_ERROR;
}


int
wk_set(v8::Local<v8::Context> ctx, v8::Local<v8::Object> o, const char *k,
    v8::Local<v8::Value> v)
{
    v8::Isolate  *isolate = ctx->GetIsolate();

    return o->DefineOwnProperty(ctx,
                                v8::String::NewFromUtf8(isolate, k)
                                    .ToLocalChecked(),
                                v, v8::DontEnum)
           .FromMaybe(false) ? 0 : -1;
}


v8::MaybeLocal<v8::Value>
wk_parse(v8::Isolate *isolate, v8::Local<v8::Context> ctx, const char *json,
    const char *dflt)
{
    v8::Local<v8::String>  s;

    if (!v8::String::NewFromUtf8(isolate, json ? json : dflt)
        .ToLocal(&s))
    {
        return v8::MaybeLocal<v8::Value>();
    }

    return v8::JSON::Parse(ctx, s);
}


/* The globals of §12; arguments last, so that a user's name wins. */

int
wk_globals(v8::Isolate *isolate, v8::Local<v8::Context> ctx,
    const wk_v8_in_t *in)
{
    size_t                  i;
    v8::Local<v8::Array>    keys;
    v8::Local<v8::Value>    v, key, math;
    v8::Local<v8::Object>   global, console, args;
    v8::Local<v8::Function> f;
    static const char      *levels[] = { "log", "info", "warn", "error",
                                         "debug", "trace" };
    static const char      *removed[] = { "WebAssembly", "SharedArrayBuffer",
                                          "Atomics" };

    global = ctx->Global();

    /* no WebAssembly (jitless has none to run anyway), no shared memory */
    for (i = 0; i < sizeof(removed) / sizeof(removed[0]); i++) {
        if (global->Delete(ctx, v8::String::NewFromUtf8(isolate, removed[i])
                                    .ToLocalChecked())
            .IsNothing())
        {
            return -1;
        }
    }

    console = v8::Object::New(isolate);

    if (!v8::Function::New(ctx, wk_console).ToLocal(&f)) {
        return -1;
    }

    for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (wk_set(ctx, console, levels[i], f) != 0) {
            return -1;
        }
    }

    if (!v8::Function::New(ctx, wk_structured_clone).ToLocal(&f)
        || wk_set(ctx, global, "structuredClone", f) != 0)
    {
        return -1;
    }

    if (wk_set(ctx, global, "console", console) != 0
        || !global->Get(ctx, v8::String::NewFromUtf8Literal(isolate, "Math"))
            .ToLocal(&math)
        || !v8::Function::New(ctx, wk_random).ToLocal(&f)
        || wk_set(ctx, math.As<v8::Object>(), "random", f) != 0)
    {
        return -1;
    }

    if (!wk_parse(isolate, ctx, in->context_json, "null").ToLocal(&v)
        || wk_set(ctx, global, "context", v) != 0
        || wk_set(ctx, global, "$context", v) != 0)
    {
        return -1;
    }

    if (!wk_parse(isolate, ctx, in->nodes_json, "{}").ToLocal(&v)
        || wk_set(ctx, global, "nodes", v) != 0
        || wk_set(ctx, global, "$nodes", v) != 0
        || wk_set(ctx, global, "$jobsMapByNodeKey", v) != 0)
    {
        return -1;
    }

    if (in->args_json == nullptr) {
        return 0;
    }

    if (!wk_parse(isolate, ctx, in->args_json, "{}").ToLocal(&v)) {
        return -1;
    }

    if (!v->IsObject() || v->IsArray()) {
        isolate->ThrowException(v8::Exception::TypeError(
            v8::String::NewFromUtf8Literal(isolate,
                                           "arguments are not a JSON object")));
        return -1;
    }

    args = v.As<v8::Object>();

    if (!args->GetOwnPropertyNames(ctx).ToLocal(&keys)) {
        return -1;
    }

    for (i = 0; i < keys->Length(); i++) {
        if (!keys->Get(ctx, (uint32_t) i).ToLocal(&key)
            || !args->Get(ctx, key).ToLocal(&v))
        {
            return -1;
        }

        /* defined, not assigned: "__proto__" is just a name */
        if (!global->DefineOwnProperty(ctx, key.As<v8::Name>(), v)
            .FromMaybe(false))
        {
            return -1;
        }
    }

    return 0;
}


int
wk_run(v8::Isolate *isolate, const wk_v8_in_t *in, char **json,
    size_t *json_len, char **error)
{
    std::string                 src, out;
    v8::TryCatch                tc(isolate);
    v8::Local<v8::Value>        fn, result;
    v8::Local<v8::Script>       script;
    v8::Local<v8::String>       source, text;
    v8::Local<v8::Context>      ctx;
    v8::Local<v8::Promise>      promise;

    ctx = v8::Context::New(isolate);
    if (ctx.IsEmpty()) {
        return wk_fail(error, "script error: no JavaScript context");
    }

    v8::Context::Scope  scope(ctx);

    /* eval and new Function of strings only when the workflow opts in */
    ctx->AllowCodeGenerationFromStrings(in->allow_eval != 0);

#define WK_CHECK_STOP()                                                       \
    if (wk_oom) return WK_V8_MEMORY;                                          \
    if (wk_timed_out || tc.HasTerminated()) return WK_V8_TIMEOUT

    if (wk_globals(isolate, ctx, in) != 0) {
        WK_CHECK_STOP();
        return wk_fail(error, "script setup failed: "
                       + (tc.HasCaught()
                          ? wk_text(isolate, ctx, tc.Exception())
                          : std::string("out of memory")));
    }

    /*
     * The body of an async function, on the first line so that lines
     * match the user's: `return` gives the result, `await` works, and a
     * thrown error is a rejection like any other.
     */

    src = "(async function () {";
    src.append(in->content, in->len);
    src += "\n})";

    if (!v8::String::NewFromUtf8(isolate, src.data(),
                                 v8::NewStringType::kNormal,
                                 (int) src.size()).ToLocal(&source))
    {
        return wk_fail(error, "script error: the script is too large");
    }

    v8::ScriptOrigin  origin(isolate,
                             v8::String::NewFromUtf8Literal(isolate,
                                                            "script"));

    if (!v8::Script::Compile(ctx, source, &origin).ToLocal(&script)
        || !script->Run(ctx).ToLocal(&fn))
    {
        WK_CHECK_STOP();
        return wk_fail(error, "script error: "
                       + wk_error_text(isolate, ctx, tc.Exception(),
                                       tc.Message()));
    }

    if (!fn.As<v8::Function>()->Call(ctx, v8::Undefined(isolate), 0,
                                     nullptr).ToLocal(&result))
    {
        WK_CHECK_STOP();
        return wk_fail(error, "script error: "
                       + wk_error_text(isolate, ctx, tc.Exception(),
                                       tc.Message()));
    }

    promise = result.As<v8::Promise>();

    /*
     * Microtasks run until the promise settles.  With no timers and no
     * I/O, a promise still pending once the queue is empty can never
     * settle; a queue that never empties is stopped by the watchdog.
     */

    isolate->PerformMicrotaskCheckpoint();
    WK_CHECK_STOP();

    if (promise->State() == v8::Promise::kPending) {
        return wk_fail(error, "script timed out: the returned promise "
                              "never settles (nothing is left that could "
                              "settle it)");
    }

    result = promise->Result();

    if (promise->State() == v8::Promise::kRejected) {
        return wk_fail(error, "script error: "
                       + wk_error_text(isolate, ctx, result,
                                       v8::Local<v8::Message>()));
    }

    if (result->IsUndefined()) {
        *json = wk_strdup("null");
        *json_len = 4;
        return *json ? WK_V8_OK : wk_fail(error, "out of memory");
    }

    if (result->IsFunction() || result->IsSymbol()) {
        return wk_fail(error, std::string("script result cannot be converted "
                                          "to JSON: TypeError: ")
                              + (result->IsSymbol() ? "a symbol"
                                                    : "a function")
                              + " has no JSON form");
    }

    if (!v8::JSON::Stringify(ctx, result).ToLocal(&text)) {
        WK_CHECK_STOP();

        /* the first line: V8 draws the cycle of a cyclic one below */
        out = wk_error_text(isolate, ctx, tc.Exception(),
                            v8::Local<v8::Message>());
        out = out.substr(0, out.find('\n'));

        return wk_fail(error, "script result cannot be converted to JSON: "
                              + out);
    }

    WK_CHECK_STOP();

    {
        v8::String::Utf8Value  u(isolate, text);

        if (*u == nullptr) {
            return WK_V8_MEMORY;
        }

        /* a toJSON() that returns undefined */
        if (strcmp(*u, "undefined") == 0) {
            out = "null";

        } else {
            out = wk_json_repair(*u, u.length());
        }
    }

    *json = wk_strdup(out);
    *json_len = out.size();

    return *json ? WK_V8_OK : wk_fail(error, "out of memory");

#undef WK_CHECK_STOP
}

}   /* namespace */


extern "C" int
wk_v8_init(size_t heap_limit, wk_v8_fatal_pt fatal)
{
    static const char  flags[] = "--jitless --single-threaded "
                                 "--no-expose-wasm";

    wk_fatal = fatal;

    v8::V8::SetFlagsFromString(flags, sizeof(flags) - 1);
    v8::V8::SetEntropySource(wk_entropy);
    v8::V8::InitializeICU();

    wk_platform = v8::platform::NewSingleThreadedDefaultPlatform();
    v8::V8::InitializePlatform(wk_platform.get());

    if (!v8::V8::Initialize()) {
        return -1;
    }

    return 0;
}


extern "C" int
wk_v8_watch(int fd, void (*expire)(int hung_up), int (*sandbox)(void),
    int *err)
{
    pthread_t       t;
    pthread_attr_t  attr;

    wk_watch_fd = fd;
    wk_watch_expire = expire;
    wk_watch_sandbox = sandbox;

    if (pthread_attr_init(&attr) != 0) {
        return -1;
    }

    (void) pthread_attr_setstacksize(&attr, 64 * 1024);
    (void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);

    if (pthread_create(&t, &attr, wk_watchdog, nullptr) != 0) {
        pthread_attr_destroy(&attr);
        return -1;
    }

    pthread_attr_destroy(&attr);

    /* the caller installs its own system-call filter next */
    while (wk_watch_running == 0) {
        sched_yield();
    }

    if (wk_watch_running < 0) {
        *err = wk_watch_errno ? wk_watch_errno : EPERM;
        return -1;
    }

    return 0;
}


extern "C" int
wk_v8_run(const wk_v8_in_t *in, char **json, size_t *json_len, char **error)
{
    int           rc;
    v8::Isolate  *isolate;

    *json = nullptr;
    *json_len = 0;
    *error = nullptr;

    wk_in = in;
    wk_rnd[0] = in->seed[0] | 1;
    wk_rnd[1] = in->seed[1];

    /* the isolate of the process's first run serves the next ones */
    if (wk_isolate == nullptr || in->heap_limit != wk_isolate_limit) {
        if (wk_isolate != nullptr) {
            wk_isolate->Dispose();
            wk_isolate = nullptr;
        }

        isolate = wk_isolate_new(in->heap_limit);
        if (isolate == nullptr) {
            return WK_V8_MEMORY;
        }

        wk_isolate = isolate;
        wk_isolate_limit = in->heap_limit;
    }

    isolate = wk_isolate;

    v8::Isolate::Scope  iscope(isolate);

    wk_watch_arm(in->timeout_ms, in->grace_ms);

    {
        v8::HandleScope  hscope(isolate);

        rc = wk_run(isolate, in, json, json_len, error);
    }

    wk_watch_disarm();

    if (rc == WK_V8_OK || rc == WK_V8_ERROR) {
        /* the context is garbage now; array buffers are counted until
         * a collection frees them, so collect before the next run */
        isolate->ContextDisposedNotification();

        if (wk_allocator.used) {
            isolate->LowMemoryNotification();
        }
    }

    return rc;
}
