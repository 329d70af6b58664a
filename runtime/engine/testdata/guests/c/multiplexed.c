// A multiplexed-mode check module in plain C (wasi-libc) for the engine's
// sandbox tests: checks that misbehave after or around their result.
#include <stdio.h>
#include <string.h>

#define IMPORT(name) __attribute__((import_module("zappy"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("input") int zappy_input(long long check, void *ptr, int cap);
IMPORT("op") long long zappy_op(long long check, int op, const void *req, int req_len, const void *data, int data_len);
IMPORT("done") int zappy_done(long long check, const void *ptr, int len);
IMPORT("log") void zappy_log(long long check, int level, const void *ptr, int len);

EXPORT("zappy_abi_version") int abi_version(void) { return 1; }

static const char manifest[] =
    "{\"abi\":1,\"name\":\"c-multiplexed\",\"version\":\"1.0.0\",\"mode\":\"multiplexed\",\"types\":["
    "{\"name\":\"spin_after_done\"},{\"name\":\"spin_in_cancel\"},{\"name\":\"token_flood\"},"
    "{\"name\":\"log_flood\"},{\"name\":\"messy_message\"},{\"name\":\"hello\"}]}";

EXPORT("zappy_manifest") long long zappy_manifest(void) {
    return ((long long)(unsigned)(unsigned long)manifest << 32) | (long long)(sizeof manifest - 1);
}

static void done(long long id, const char *status, const char *msg) {
    char buf[512];
    int n = snprintf(buf, sizeof buf, "{\"status\":\"%s\",\"message\":\"%s\"}", status, msg);
    zappy_done(id, buf, n);
}

static volatile int sink;
static char in[4096];
static int cancel_spins; // a spin_in_cancel check is in flight

EXPORT("zappy_start") void zappy_start(long long id, int n) {
    int got = zappy_input(id, in, sizeof in - 1);
    if (got < 0) return;
    in[got] = 0;
    if (strstr(in, "\"type\":\"spin_after_done\"")) {
        done(id, "up", "reported, then looping");
        for (;;) sink++;
    } else if (strstr(in, "\"type\":\"spin_in_cancel\"")) {
        cancel_spins = 1; // parks: never reports; zappy_cancel loops
    } else if (strstr(in, "\"type\":\"token_flood\"")) {
        // Results the host hands back ready (refused: the request is not
        // JSON), never taken.
        for (int i = 0; i < 100000; i++) {
            if (zappy_op(id, 12, "x", 1, 0, 0) < 0) return;
        }
        done(id, "up", "the host kept every result");
    } else if (strstr(in, "\"type\":\"log_flood\"")) {
        static char line[1024];
        memset(line, 'x', sizeof line);
        for (int i = 0; i < 10000; i++) zappy_log(id, 0, line, sizeof line);
        done(id, "up", "logged 10 MB");
    } else if (strstr(in, "\"type\":\"messy_message\"")) {
        static const char res[] = "{\"status\":\"up\",\"message\":\"line1\\nlevel=ERROR fake\\r\\u001b[31mred\\t\xff end \"}";
        zappy_done(id, res, sizeof res - 1);
    } else {
        done(id, "up", "hello from C");
    }
}

EXPORT("zappy_complete") void zappy_complete(long long token, int json_len, int data_len) {}

EXPORT("zappy_cancel") void zappy_cancel(long long id) {
    if (cancel_spins) {
        for (;;) sink++;
    }
}

EXPORT("zappy_run") void zappy_run(void) {}
