// A blocking-mode check module in plain C (wasi-libc), the glue of
// sdk/ABI.md section 8 in zappy.h, with a few check types for the tests.
#include "zappy.h"
#include <stdlib.h>
#include <string.h>

ZAPPY_MANIFEST(
    "{\"abi\":1,\"name\":\"c-blocking\",\"version\":\"1.0.0\",\"mode\":\"blocking\",\"types\":["
    "{\"name\":\"hello\"},{\"name\":\"connect\",\"capabilities\":[\"tcp\"]},"
    "{\"name\":\"loop\"},{\"name\":\"badptr\"},{\"name\":\"grow\"},{\"name\":\"nodone\"},"
    "{\"name\":\"spin_after_done\"}]}")

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
