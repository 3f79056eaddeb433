/* GPU discovery through NVML, loaded at run time (see gpu.h).
 *
 * No NVIDIA header is used: the few types NVML's C API needs are declared
 * here, laid out as the driver's libnvidia-ml.so.1 expects them. Handles are
 * opaque pointers, return codes ints (0 = success). */
#include "gpu.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NVML_OK 0
#define NVML_ERR_NOT_SUPPORTED 3

typedef void *nvml_device;

typedef struct {
    unsigned long long total, free, used;
} nvml_memory;

typedef struct { /* nvmlPciInfo_t as filled by _v2 and _v3 */
    char bus_id_legacy[16];
    unsigned int domain, bus, device, pci_device_id, pci_subsystem_id;
    char bus_id[32];
} nvml_pci_info;

typedef struct {
    void *lib;
    int (*init)(void);
    int (*shutdown)(void);
    const char *(*error_string)(int);
    int (*get_count)(unsigned int *);
    int (*get_handle)(unsigned int, nvml_device *);
    int (*get_name)(nvml_device, char *, unsigned int);
    int (*get_uuid)(nvml_device, char *, unsigned int);
    int (*get_pci)(nvml_device, nvml_pci_info *);
    int (*get_minor)(nvml_device, unsigned int *);
    int (*get_memory)(nvml_device, nvml_memory *);
    int (*get_mig)(nvml_device, unsigned int *, unsigned int *); /* may be NULL */
} nvml_api;

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static const char *nvml_strerror(const nvml_api *api, int rc)
{
    const char *s = api->error_string ? api->error_string(rc) : NULL;
    return s && *s ? s : "unknown error";
}

static void *sym(void *lib, const char *name)
{
    dlerror(); /* clear */
    return dlsym(lib, name);
}

/* Resolves every symbol; on a missing required one, names it in err. */
static int resolve(nvml_api *api, char *err, size_t errlen)
{
    const char *missing = NULL;
#define REQUIRE(field, name)                                                                       \
    do {                                                                                           \
        void *p_ = sym(api->lib, name);                                                            \
        if (!p_ && !missing)                                                                       \
            missing = name;                                                                        \
        api->field = (__typeof__(api->field))p_;                                                   \
    } while (0)
    REQUIRE(init, "nvmlInit_v2");
    REQUIRE(shutdown, "nvmlShutdown");
    REQUIRE(error_string, "nvmlErrorString");
    REQUIRE(get_count, "nvmlDeviceGetCount_v2");
    REQUIRE(get_handle, "nvmlDeviceGetHandleByIndex_v2");
    REQUIRE(get_name, "nvmlDeviceGetName");
    REQUIRE(get_uuid, "nvmlDeviceGetUUID");
    REQUIRE(get_minor, "nvmlDeviceGetMinorNumber");
    REQUIRE(get_memory, "nvmlDeviceGetMemoryInfo");
#undef REQUIRE
    void *pci = sym(api->lib, "nvmlDeviceGetPciInfo_v3");
    if (!pci)
        pci = sym(api->lib, "nvmlDeviceGetPciInfo_v2");
    if (!pci && !missing)
        missing = "nvmlDeviceGetPciInfo_v3 (nor nvmlDeviceGetPciInfo_v2)";
    api->get_pci = (int (*)(nvml_device, nvml_pci_info *))pci;
    api->get_mig = (int (*)(nvml_device, unsigned int *, unsigned int *))sym(
        api->lib, "nvmlDeviceGetMigMode");
    if (missing) {
        set_err(err, errlen, "NVML symbol missing: %s", missing);
        return -1;
    }
    return 0;
}

/* Copies a string NVML wrote into a fixed buffer of n bytes, making sure of
 * the terminator even if the library did not write one. */
static void terminate(char *s, size_t n)
{
    s[n - 1] = '\0';
}

static int query_device(const nvml_api *api, unsigned int i, gpu_info *g, char *err,
                        size_t errlen)
{
    nvml_device dev = NULL;
    int rc;
    memset(g, 0, sizeof *g);
    g->index = (int)i;
    g->minor = -1;
    g->mig_mode = GPU_MIG_UNKNOWN;
#define CALL(what, expr)                                                                           \
    do {                                                                                           \
        rc = (expr);                                                                               \
        if (rc != NVML_OK) {                                                                       \
            set_err(err, errlen, "%s failed for GPU %u: %s", what, i, nvml_strerror(api, rc));     \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)
    CALL("nvmlDeviceGetHandleByIndex_v2", api->get_handle(i, &dev));
    CALL("nvmlDeviceGetName", api->get_name(dev, g->name, sizeof g->name));
    terminate(g->name, sizeof g->name);
    CALL("nvmlDeviceGetUUID", api->get_uuid(dev, g->uuid, sizeof g->uuid));
    terminate(g->uuid, sizeof g->uuid);

    nvml_pci_info pci;
    memset(&pci, 0, sizeof pci);
    CALL("nvmlDeviceGetPciInfo", api->get_pci(dev, &pci));
    terminate(pci.bus_id, sizeof pci.bus_id);
    terminate(pci.bus_id_legacy, sizeof pci.bus_id_legacy);
    if (pci.bus_id[0])
        snprintf(g->pci_bus_id, sizeof g->pci_bus_id, "%s", pci.bus_id);
    else if (pci.bus_id_legacy[0])
        snprintf(g->pci_bus_id, sizeof g->pci_bus_id, "%s", pci.bus_id_legacy);
    else
        snprintf(g->pci_bus_id, sizeof g->pci_bus_id, "%08X:%02X:%02X.0", pci.domain & 0xffffffffu,
                 pci.bus & 0xffu, pci.device & 0xffu);

    unsigned int minor = 0;
    CALL("nvmlDeviceGetMinorNumber", api->get_minor(dev, &minor));
    g->minor = minor > 0x7fffffffu ? -1 : (int)minor;

    nvml_memory mem;
    memset(&mem, 0, sizeof mem);
    CALL("nvmlDeviceGetMemoryInfo", api->get_memory(dev, &mem));
    g->memory_total_bytes = mem.total > (unsigned long long)0x7fffffffffffffffLL
                                ? 0x7fffffffffffffffLL
                                : (long long)mem.total;
#undef CALL

    if (api->get_mig) {
        unsigned int cur = 0, pending = 0;
        rc = api->get_mig(dev, &cur, &pending);
        if (rc == NVML_OK)
            g->mig_mode = cur ? GPU_MIG_ON : GPU_MIG_OFF;
        else if (rc == NVML_ERR_NOT_SUPPORTED)
            g->mig_mode = GPU_MIG_OFF; /* a GPU without MIG */
    }
    return 0;
}

int gpu_discover(gpu_info *out, int max, int *count, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!count || max < 0 || (!out && max > 0)) {
        set_err(err, errlen, "gpu_discover: invalid arguments");
        return -1;
    }
    *count = 0;

    const char *path = getenv("GPUFLEET_NVML_LIB");
    if (!path || !*path)
        path = "libnvidia-ml.so.1";

    nvml_api api;
    memset(&api, 0, sizeof api);
    api.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!api.lib) {
        const char *e = dlerror();
        set_err(err, errlen, "NVML not available: %s", e ? e : path);
        return -1;
    }

    int ret = -1;
    if (resolve(&api, err, errlen) != 0)
        goto out;

    int rc = api.init();
    if (rc != NVML_OK) {
        set_err(err, errlen, "nvmlInit_v2 failed: %s", nvml_strerror(&api, rc));
        goto out;
    }

    unsigned int n = 0;
    rc = api.get_count(&n);
    if (rc != NVML_OK) {
        set_err(err, errlen, "nvmlDeviceGetCount_v2 failed: %s", nvml_strerror(&api, rc));
        goto shutdown;
    }
    if (n > (unsigned int)max)
        n = (unsigned int)max;
    for (unsigned int i = 0; i < n; i++)
        if (query_device(&api, i, &out[i], err, errlen) != 0)
            goto shutdown;
    *count = (int)n;
    ret = 0;

shutdown:
    api.shutdown(); /* its failure changes nothing for the caller */
out:
    dlclose(api.lib);
    return ret;
}
