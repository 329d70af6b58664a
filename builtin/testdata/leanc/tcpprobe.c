// A multiplexed check module in plain C (wasi-libc) that does what the
// built-in tcp type does for a connect-only check, with the same result:
// read the input, start tcp.connect with close, and report "connected to
// REMOTE in N ms" with the connect_ms metric and the remote and connect_ms
// fields. It exists for BenchmarkTCPCheckLeanC, which measures the engine
// with a guest that costs next to nothing: the difference to
// BenchmarkTCPCheckBuiltin is what the Go guest costs (docs/PERFORMANCE.md).
#include <stdio.h>
#include <string.h>

#define IMPORT(name) __attribute__((import_module("zappy"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("input") int zappy_input(long long check, void *ptr, int cap);
IMPORT("op") long long zappy_op(long long check, int op, const void *req, int req_len, const void *data, int data_len);
IMPORT("take") long long zappy_take(long long token, void *json, int json_cap, void *data, int data_cap);
IMPORT("done") int zappy_done(long long check, const void *ptr, int len);

#define READY (1LL << 62)

EXPORT("zappy_abi_version") int abi_version(void) { return 1; }

static const char manifest[] =
    "{\"abi\":1,\"name\":\"leanc\",\"version\":\"1.0.0\",\"mode\":\"multiplexed\","
    "\"types\":[{\"name\":\"tcp\",\"capabilities\":[\"tcp\"]}]}";

EXPORT("zappy_manifest") long long zappy_manifest(void) {
    return ((long long)(unsigned)(unsigned long)manifest << 32) | (long long)(sizeof manifest - 1);
}

// value finds "key": in flat JSON and returns where its value starts.
static const char *value(const char *json, const char *key) {
    char pat[32];
    int n = snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? p + n : 0;
}

// span copies a string value (without quotes) or a number's text.
static int span(const char *v, char *out, int cap) {
    int i = 0;
    if (!v) return 0;
    if (*v == '"') {
        // Escapes are copied as they are: the text goes back into JSON.
        for (v++; *v && *v != '"' && i < cap - 2;) {
            if (*v == '\\' && v[1]) out[i++] = *v++;
            out[i++] = *v++;
        }
    } else {
        for (; *v && *v != ',' && *v != '}' && i < cap - 1;) out[i++] = *v++;
    }
    out[i] = 0;
    return i;
}

// Pending operations: token -> check, open addressing.
#define SLOTS 16384
static long long tok_key[SLOTS], tok_check[SLOTS];

static int pending;

// put records tok; 0 when the table is full.
static int put(long long tok, long long check) {
    if (pending >= SLOTS / 2) return 0;
    unsigned i = (unsigned)tok & (SLOTS - 1);
    while (tok_key[i]) i = (i + 1) & (SLOTS - 1);
    tok_key[i] = tok;
    tok_check[i] = check;
    pending++;
    return 1;
}

static long long pop(long long tok) {
    unsigned i = (unsigned)tok & (SLOTS - 1);
    while (tok_key[i] && tok_key[i] != tok) i = (i + 1) & (SLOTS - 1);
    if (!tok_key[i]) return 0;
    long long check = tok_check[i];
    // backward-shift deletion
    unsigned j = i;
    for (;;) {
        j = (j + 1) & (SLOTS - 1);
        if (!tok_key[j]) break;
        unsigned h = (unsigned)tok_key[j] & (SLOTS - 1);
        if ((i <= j) ? (h <= i || h > j) : (h <= i && h > j)) {
            tok_key[i] = tok_key[j];
            tok_check[i] = tok_check[j];
            i = j;
        }
    }
    tok_key[i] = 0;
    pending--;
    return check;
}

static char buf[4096], out[4096];

static void report(long long check, long long tok) {
    char remote[128], ms[32], msg[256];
    long long r = zappy_take(tok, buf, sizeof buf - 1, 0, 0);
    if (r < 0 || (r & READY)) {
        static const char bad[] = "{\"status\":\"error\",\"message\":\"cannot take the tcp.connect result\"}";
        zappy_done(check, bad, sizeof bad - 1);
        return;
    }
    buf[(r >> 32) & 0x7fffffff] = 0;
    const char *err = value(buf, "message");
    int n;
    if (strstr(buf, "\"error\":") && err) {
        span(err, msg, sizeof msg);
        n = snprintf(out, sizeof out, "{\"status\":\"down\",\"message\":\"%s\"}", msg);
    } else {
        span(value(buf, "remote"), remote, sizeof remote);
        span(value(buf, "connect_ms"), ms, sizeof ms);
        n = snprintf(out, sizeof out,
                     "{\"status\":\"up\",\"message\":\"connected to %s in %s ms\",\"latency_ms\":%s,"
                     "\"metrics\":[{\"name\":\"connect_ms\",\"value\":%s,\"unit\":\"ms\"}],"
                     "\"fields\":{\"connect_ms\":%s,\"remote\":\"%s\"}}",
                     remote, ms, ms, ms, ms, remote);
    }
    zappy_done(check, out, n);
}

EXPORT("zappy_start") void zappy_start(long long check, int input_len) {
    char target[256], req[320];
    int n = zappy_input(check, buf, sizeof buf - 1);
    if (n < 0 || n > (int)sizeof buf - 1) {
        static const char big[] = "{\"status\":\"error\",\"message\":\"check input too large for this module\"}";
        zappy_done(check, big, sizeof big - 1);
        return;
    }
    buf[n] = 0;
    span(value(buf, "target"), target, sizeof target);
    const char *addr = strstr(target, "://") ? strstr(target, "://") + 3 : target;
    n = snprintf(req, sizeof req, "{\"address\":\"%s\",\"close\":true}", addr);
    long long tok = zappy_op(check, 1, req, n, 0, 0);
    if (tok < 0) {
        static const char bad[] = "{\"status\":\"error\",\"message\":\"tcp.connect refused by the host\"}";
        zappy_done(check, bad, sizeof bad - 1);
    } else if (tok & READY) {
        report(check, tok);
    } else if (!put(tok, check)) {
        static const char full[] = "{\"status\":\"error\",\"message\":\"too many checks in flight for this module\"}";
        zappy_done(check, full, sizeof full - 1);
    }
}

EXPORT("zappy_complete") void zappy_complete(long long tok, int json_len, int data_len) {
    long long check = pop(tok);
    if (check) report(check, tok);
}

EXPORT("zappy_cancel") void zappy_cancel(long long check) {}
EXPORT("zappy_run") void zappy_run(void) {}
