// A multiplexed-mode check module in plain C (wasi-libc) for the engine's
// sandbox tests: checks that misbehave after or around their result.
#include "zappy.h"
#include <string.h>

ZAPPY_MANIFEST(
    "{\"abi\":1,\"name\":\"c-multiplexed\",\"version\":\"1.0.0\",\"mode\":\"multiplexed\",\"types\":["
    "{\"name\":\"spin_after_done\"},{\"name\":\"spin_in_cancel\"},{\"name\":\"token_flood\"},"
    "{\"name\":\"log_flood\"},{\"name\":\"messy_message\"},{\"name\":\"hello\"}]}")

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
