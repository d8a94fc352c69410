/* A minimal MCP server over stdio, in C so that it builds for Windows with MinGW alone
 * (scripts/wine/wrap-test runs it under Wine, directly and behind `mcpfw wrap`, and compares the
 * bytes the client receives). It answers initialize, tools/list, tools/call of `echo` and ping,
 * echoing each request's id as it arrived; notifications get no answer. Lines are at most
 * 64 KiB. */
#include <stdio.h>
#include <string.h>
#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#endif

static char line[65536];

/* Copies the raw JSON text of the request's id (a number or a simple string) into `id`. */
static int raw_id(const char *text, char *id, size_t size) {
    const char *start = strstr(text, "\"id\":");
    if (!start) return 0;
    start += 5;
    while (*start == ' ') start++;
    const char *end = start;
    if (*end == '"') {
        end = strchr(end + 1, '"');
        if (!end) return 0;
        end++;
    } else {
        while (*end && *end != ',' && *end != '}' && *end != ' ') end++;
    }
    size_t len = (size_t)(end - start);
    if (len == 0 || len >= size) return 0;
    memcpy(id, start, len);
    id[len] = 0;
    return 1;
}

int main(void) {
    char id[128];
#ifdef _WIN32
    _setmode(_fileno(stdout), _O_BINARY); /* "\n" stays one byte, as a client expects */
#endif
    while (fgets(line, sizeof line, stdin)) {
        if (!raw_id(line, id, sizeof id)) continue; /* a notification */
        if (strstr(line, "\"method\":\"initialize\"")) {
            printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"protocolVersion\":\"2025-06-18\","
                   "\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"replay\",\"version\":\"1.0.0\"}}}\n",
                   id);
        } else if (strstr(line, "\"method\":\"tools/list\"")) {
            printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"tools\":[{\"name\":\"echo\","
                   "\"description\":\"Returns its text.\",\"inputSchema\":{\"type\":\"object\","
                   "\"properties\":{\"text\":{\"type\":\"string\"}}},"
                   "\"annotations\":{\"readOnlyHint\":true}}]}}\n",
                   id);
        } else if (strstr(line, "\"method\":\"tools/call\"")) {
            printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"text\","
                   "\"text\":\"caf\\u00e9 \xe2\x9c\x93\"}],\"isError\":false}}\n",
                   id);
        } else {
            printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}\n", id);
        }
        fflush(stdout);
    }
    return 0;
}
