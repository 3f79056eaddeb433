/* Emulated GPUs and the CUDA_VISIBLE_DEVICES value (see gpu.h). */
#include "gpu.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

int gpu_emulate_node(gpu_info *out, int max, int count, const char *model, long long mem_bytes,
                     const char *node)
{
    if (max < 0 || count < 0 || mem_bytes < 0)
        return -1;
    int n = count < max ? count : max;
    if (n > 0 && !out)
        return -1;
    char host[256] = "localhost";
    if (!node || !*node) {
        if (gethostname(host, sizeof host) != 0 || !host[0])
            snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = '\0';
        node = host;
    }
    uint32_t hash = fnv1a(node);
    if (!model || !*model)
        model = "Emulated GPU";
    for (int i = 0; i < n; i++) {
        gpu_info *g = &out[i];
        memset(g, 0, sizeof *g);
        g->index = i;
        snprintf(g->name, sizeof g->name, "%s", model);
        snprintf(g->uuid, sizeof g->uuid, "GPU-emu-%08x-%d", (unsigned)hash, i);
        snprintf(g->pci_bus_id, sizeof g->pci_bus_id, "00000000:%02X:00.0", (unsigned)(i + 1) & 0xffu);
        g->minor = i;
        g->memory_total_bytes = mem_bytes;
        g->mig_mode = GPU_MIG_OFF;
    }
    return n;
}

int gpu_emulate(gpu_info *out, int max, int count, const char *model, long long mem_bytes)
{
    return gpu_emulate_node(out, max, count, model, mem_bytes, NULL);
}

void gpu_visible_devices(const gpu_info *g, const int *idx, int n, char *buf, size_t len)
{
    if (!buf || len == 0)
        return;
    buf[0] = '\0';
    if (n <= 0 || !idx)
        return;
    size_t used = 0;
    for (int k = 0; k < n; k++) {
        if (idx[k] < 0 || (g && !g[idx[k]].uuid[0])) {
            buf[0] = '\0';
            return;
        }
        int w = g ? snprintf(buf + used, len - used, "%s%s", k ? "," : "", g[idx[k]].uuid)
                  : snprintf(buf + used, len - used, "%s%d", k ? "," : "", idx[k]);
        if (w < 0 || (size_t)w >= len - used) { /* does not fit: no partial list */
            buf[0] = '\0';
            return;
        }
        used += (size_t)w;
    }
}
