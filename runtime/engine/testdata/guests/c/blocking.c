// A blocking-mode check module in plain C (wasi-libc): the glue of
// sdk/ABI.md section 8 plus a few check types for the engine's tests.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(name) __attribute__((import_module("zappy"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("input") int zappy_input(long long check, void *ptr, int cap);
IMPORT("op") long long zappy_op(long long check, int op, const void *req, int req_len, const void *data, int data_len);
IMPORT("await") long long zappy_await(long long token);
IMPORT("take") long long zappy_take(long long token, void *json, int json_cap, void *data, int data_cap);
IMPORT("done") int zappy_done(long long check, const void *ptr, int len);

EXPORT("zappy_abi_version") int abi_version(void) { return 1; }

static const char manifest[] =
    "{\"abi\":1,\"name\":\"c-blocking\",\"version\":\"1.0.0\",\"mode\":\"blocking\",\"types\":["
    "{\"name\":\"hello\"},{\"name\":\"connect\",\"capabilities\":[\"tcp\"]},"
    "{\"name\":\"loop\"},{\"name\":\"badptr\"},{\"name\":\"grow\"},{\"name\":\"nodone\"},"
    "{\"name\":\"spin_after_done\"}]}";

EXPORT("zappy_manifest") long long zappy_manifest(void) {
    return ((long long)(unsigned)(unsigned long)manifest << 32) | (long long)(sizeof manifest - 1);
}

static void done(long long id, const char *status, const char *msg) {
    char buf[512];
    int n = snprintf(buf, sizeof buf, "{\"status\":\"%s\",\"message\":\"%s\"}", status, msg);
    zappy_done(id, buf, n);
}

// field copies the string value of "key" from flat JSON (enough for tests).
static int field(const char *json, const char *key, char *out, int cap) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    if (!p) return 0;
    p += strlen(pat);
    int i = 0;
    while (*p && *p != '"' && i < cap - 1) out[i++] = *p++;
    out[i] = 0;
    return i;
}

static volatile int sink;

EXPORT("zappy_check") void zappy_check(long long id, int input_len) {
    char *in = malloc(input_len + 1);
    zappy_input(id, in, input_len);
    in[input_len] = 0;
    char type[32], target[128];
    field(in, "type", type, sizeof type);
    field(in, "target", target, sizeof target);
    free(in);

    if (!strcmp(type, "hello")) {
        done(id, "up", "hello from C");
    } else if (!strcmp(type, "connect")) {
        const char *addr = strstr(target, "://") ? strstr(target, "://") + 3 : target;
        char req[256];
        int n = snprintf(req, sizeof req, "{\"address\":\"%s\"}", addr);
        long long tok = zappy_op(id, 1, req, n, 0, 0);
        long long sizes = zappy_await(tok);
        if (sizes < 0) { done(id, "error", "await failed"); return; }
        char res[4096];
        zappy_take(tok, res, sizeof res, 0, 0);
        res[(sizes >> 32) < (long long)sizeof res ? (sizes >> 32) : (long long)sizeof res - 1] = 0;
        char msg[256];
        if (field(res, "message", msg, sizeof msg)) done(id, "down", msg);
        else { field(res, "remote", msg, sizeof msg); done(id, "up", msg); }
    } else if (!strcmp(type, "loop")) {
        for (;;) sink++;
    } else if (!strcmp(type, "badptr")) {
        zappy_op(id, 12, (const void *)0xfffffff0, 64, 0, 0);
        done(id, "up", "host accepted a bad pointer");
    } else if (!strcmp(type, "grow")) {
        for (;;) {
            if (__builtin_wasm_memory_grow(0, 16) == (unsigned long)-1) __builtin_trap();
        }
    } else if (!strcmp(type, "nodone")) {
        return;
    } else if (!strcmp(type, "spin_after_done")) {
        done(id, "up", "reported, then looping");
        for (;;) sink++;
    }
}
