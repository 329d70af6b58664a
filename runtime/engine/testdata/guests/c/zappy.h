// The glue of sdk/ABI.md section 8 shared by the engine's C test modules:
// the imports, the ABI version and manifest exports, and a result writer.
#include <stdio.h>

#define IMPORT(name) __attribute__((import_module("zappy"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("input") int zappy_input(long long check, void *ptr, int cap);
IMPORT("op") long long zappy_op(long long check, int op, const void *req, int req_len, const void *data, int data_len);
IMPORT("await") long long zappy_await(long long token);
IMPORT("take") long long zappy_take(long long token, void *json, int json_cap, void *data, int data_cap);
IMPORT("done") int zappy_done(long long check, const void *ptr, int len);
IMPORT("log") void zappy_log(long long check, int level, const void *ptr, int len);

EXPORT("zappy_abi_version") int abi_version(void) { return 1; }

// ZAPPY_MANIFEST defines the zappy_manifest export returning json.
#define ZAPPY_MANIFEST(json)                                                                        \
    static const char manifest[] = json;                                                            \
    EXPORT("zappy_manifest") long long zappy_manifest(void) {                                       \
        return ((long long)(unsigned)(unsigned long)manifest << 32) | (long long)(sizeof manifest - 1); \
    }

// done reports a result with status and message (message without quotes
// or backslashes).
static void done(long long id, const char *status, const char *msg) {
    char buf[512];
    int n = snprintf(buf, sizeof buf, "{\"status\":\"%s\",\"message\":\"%s\"}", status, msg);
    zappy_done(id, buf, n);
}
