/*
 * inventory.c: what a node has, as its first sync reports it.
 *
 *   GPUs    NVML (libgpu's gpu_discover) on a real node; when NVML is not
 *           installed, the GPUs given by --gpus/--gpu-model ("config"); for
 *           emulated nodes, --gpus-per-node emulated GPUs each ("emulated").
 *           A broken NVML (present but failing) stops the agent unless
 *           --gpus says what to report instead: a node must not silently
 *           lose GPUs.
 *   CPUs    --cpus, else sysconf(_SC_NPROCESSORS_ONLN)
 *   memory  --mem-mb, else sysinfo's total RAM
 *   address --addr, else 127.0.0.1 for emulated nodes, else the host name
 *   cgroup  cgroup_detect on --cgroup-root, unless --cgroup forces a mode
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "agent.h"
#include "gpu.h"
#include "util.h"

static void add_note(char *note, size_t len, const char *more)
{
    if (!more[0])
        return;
    size_t n = strlen(note);
    if (n + 3 >= len)
        return;
    int room = (int)(len - n - 3);
    snprintf(note + n, len - n, "%s%.*s", n ? "; " : "", room, more);
}

/* Copies GPUs into node n's inventory. */
static void set_gpus(anode *n, const gpu_info *g, int count)
{
    n->gpu = xcalloc((size_t)(count > 0 ? count : 1), sizeof *n->gpu);
    for (int i = 0; i < count; i++) {
        n->gpu[i].index = g[i].index;
        snprintf(n->gpu[i].uuid, sizeof n->gpu[i].uuid, "%s", g[i].uuid);
        snprintf(n->gpu[i].name, sizeof n->gpu[i].name, "%s", g[i].name);
        n->gpu[i].mem_mb = g[i].memory_total_bytes / (1024 * 1024);
        n->gpu_minor[i] = g[i].minor;
    }
    for (int i = count; i < PROTO_MAX_GPUS; i++)
        n->gpu_minor[i] = -1;
    n->inv.gpus = count;
    n->inv.ngpu = count;
    n->inv.gpu = n->gpu;
}

int inventory_probe(agent *a, char *err, size_t errlen)
{
    const agent_opts *o = &a->o;
    char note[256] = "";

    if (strcmp(o->cgroup_mode, "auto") == 0) {
        a->cg_mode = cgroup_detect(o->cgroup_root, a->cg_note, sizeof a->cg_note);
    } else {
        a->cg_mode = cgroup_mode_parse(o->cgroup_mode);
        snprintf(a->cg_note, sizeof a->cg_note, "%s",
                 a->cg_mode == CGROUP_NONE ? "cgroups disabled (--cgroup none)" : "");
    }
    add_note(note, sizeof note, a->cg_note);

    long cpus = o->cpus > 0 ? o->cpus : sysconf(_SC_NPROCESSORS_ONLN);
    int64_t mem_mb = o->mem_mb;
    if (mem_mb <= 0) {
        struct sysinfo si;
        mem_mb = sysinfo(&si) == 0 ? (int64_t)((uint64_t)si.totalram * si.mem_unit >> 20) : 0;
    }
    char addr[128];
    if (o->addr)
        snprintf(addr, sizeof addr, "%s", o->addr);
    else if (o->emulate)
        snprintf(addr, sizeof addr, "127.0.0.1");
    else if (gethostname(addr, sizeof addr) != 0)
        snprintf(addr, sizeof addr, "localhost");
    addr[sizeof addr - 1] = '\0';

    gpu_info g[PROTO_MAX_GPUS];
    int count = 0;
    const char *source = "emulated";
    long long gmem = (long long)o->gpu_mem_mb * 1024 * 1024;
    char model[64] = "";
    if (!o->emulate) {
        char why[256];
        if (gpu_discover(g, PROTO_MAX_GPUS, &count, why, sizeof why) == 0) {
            source = "nvml";
            a->real_gpus = count > 0;
            if (count > 0)
                snprintf(model, sizeof model, "%.63s", g[0].name);
            if (o->gpus >= 0 && o->gpus != count)
                alog("NVML finds %d GPUs; --gpus %d ignored", count, o->gpus);
        } else if (o->gpus >= 0) {
            if (strncmp(why, "NVML not available", 18) != 0)
                alog("%s; reporting the %d GPUs of --gpus", why, o->gpus);
            source = "config";
            count = gpu_emulate_node(g, PROTO_MAX_GPUS, o->gpus, o->gpu_model, gmem, NULL);
            if (count < 0)
                count = 0;
        } else if (strncmp(why, "NVML not available", 18) == 0) {
            source = "config";
            count = 0;
            add_note(note, sizeof note, "no NVML and no --gpus: no GPUs");
            alog("%s; no --gpus given: this node reports no GPUs", why);
        } else {
            snprintf(err, errlen, "GPU discovery failed: %s (give --gpus N to run anyway)", why);
            return -1;
        }
    }
    if (o->gpu_model)
        snprintf(model, sizeof model, "%s", o->gpu_model);

    for (int32_t i = 0; i < a->nnodes; i++) {
        anode *n = &a->nodes[i];
        if (o->emulate) {
            count = gpu_emulate_node(g, PROTO_MAX_GPUS, o->gpus_per_node, o->gpu_model, gmem,
                                     n->name);
            if (count < 0)
                count = 0;
            if (!model[0] && count > 0)
                snprintf(model, sizeof model, "%.63s", g[0].name);
        }
        set_gpus(n, g, count);
        n->inv.cpus = (int32_t)cpus;
        n->inv.mem_mb = mem_mb;
        snprintf(n->inv.model, sizeof n->inv.model, "%s", model);
        snprintf(n->inv.addr, sizeof n->inv.addr, "%s", addr);
        snprintf(n->inv.cgroup, sizeof n->inv.cgroup, "%s", cgroup_mode_name(a->cg_mode));
        snprintf(n->inv.note, sizeof n->inv.note, "%s", note);
        snprintf(n->inv.source, sizeof n->inv.source, "%s", source);
        n->need_inv = 1;
    }
    anode *n0 = &a->nodes[0];
    alog("inventory: %d node%s, %d GPUs each (%s%s%s), %d CPUs, %lld MB, address %s, cgroup %s%s%s",
         a->nnodes, a->nnodes == 1 ? "" : "s", n0->inv.gpus, source, model[0] ? ", " : "", model,
         n0->inv.cpus, (long long)n0->inv.mem_mb, addr, n0->inv.cgroup, note[0] ? ": " : "",
         note);
    return 0;
}
