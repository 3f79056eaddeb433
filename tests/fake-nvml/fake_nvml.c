/* A fake libnvidia-ml.so.1 for the tests of libgpu (never shipped).
 *
 * Built three times (see CMakeLists.txt), each as libnvidia-ml.so.1:
 *   fake-nvml/          the current API: nvmlDeviceGetPciInfo_v3, MIG
 *   fake-nvml-legacy/   -DFAKE_NVML_LEGACY: only nvmlDeviceGetPciInfo_v2,
 *                       no nvmlDeviceGetMigMode
 *   fake-nvml-broken/   -DFAKE_NVML_BROKEN: no nvmlDeviceGetMinorNumber
 *
 * Behaviour, read from the environment at nvmlInit_v2:
 *   FAKE_NVML_FAIL_INIT=1    nvmlInit_v2 fails with 9, "Driver Not Loaded"
 *   FAKE_NVML_COUNT=N        N GPUs (default 8, at most 64)
 *   FAKE_NVML_MIG=i          GPU i has MIG on (others off)
 *   FAKE_NVML_FAIL_MEMORY=i  nvmlDeviceGetMemoryInfo fails for GPU i, 15 "GPU is lost"
 * GPUs are "NVIDIA H100 80GB HBM3" with 80 GiB (81559 MiB), UUID
 * "GPU-fa4e00<i as 2 hex>-0000-4000-8000-000000000000", minor N-1-i.
 * fake_nvml_live counts nvmlInit_v2 not yet matched by nvmlShutdown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXDEV 64

typedef struct fake_dev {
    unsigned int index;
} fake_dev;

typedef struct {
    unsigned long long total, free, used;
} fake_memory;

typedef struct {
    char bus_id_legacy[16];
    unsigned int domain, bus, device, pci_device_id, pci_subsystem_id;
    char bus_id[32];
} fake_pci;

int fake_nvml_live = 0;

static fake_dev devs[MAXDEV];
static unsigned int ndev;
static int mig_dev = -1, fail_mem_dev = -1;

static int env_int(const char *name, int dflt)
{
    const char *s = getenv(name);
    return s && *s ? atoi(s) : dflt;
}

static fake_dev *dev_of(void *h)
{
    if (fake_nvml_live <= 0)
        return NULL;
    for (unsigned int i = 0; i < ndev; i++)
        if (h == &devs[i])
            return &devs[i];
    return NULL;
}

const char *nvmlErrorString(int rc)
{
    switch (rc) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 2: return "Invalid Argument";
    case 3: return "Not Supported";
    case 7: return "Insufficient Size";
    case 9: return "Driver Not Loaded";
    case 15: return "GPU is lost";
    default: return "Unknown Error";
    }
}

int nvmlInit_v2(void)
{
    if (env_int("FAKE_NVML_FAIL_INIT", 0))
        return 9;
    int n = env_int("FAKE_NVML_COUNT", 8);
    ndev = n < 0 ? 0 : n > MAXDEV ? MAXDEV : (unsigned int)n;
    for (unsigned int i = 0; i < ndev; i++)
        devs[i].index = i;
    mig_dev = env_int("FAKE_NVML_MIG", -1);
    fail_mem_dev = env_int("FAKE_NVML_FAIL_MEMORY", -1);
    fake_nvml_live++;
    return 0;
}

int nvmlShutdown(void)
{
    if (fake_nvml_live <= 0)
        return 1;
    fake_nvml_live--;
    return 0;
}

int nvmlDeviceGetCount_v2(unsigned int *count)
{
    if (fake_nvml_live <= 0)
        return 1;
    if (!count)
        return 2;
    *count = ndev;
    return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void **handle)
{
    if (fake_nvml_live <= 0)
        return 1;
    if (index >= ndev || !handle)
        return 2;
    *handle = &devs[index];
    return 0;
}

int nvmlDeviceGetName(void *h, char *name, unsigned int length)
{
    if (!dev_of(h) || !name)
        return 2;
    const char *s = "NVIDIA H100 80GB HBM3";
    if (strlen(s) >= length)
        return 7;
    memcpy(name, s, strlen(s) + 1);
    return 0;
}

int nvmlDeviceGetUUID(void *h, char *uuid, unsigned int length)
{
    fake_dev *d = dev_of(h);
    if (!d || !uuid)
        return 2;
    char s[96];
    snprintf(s, sizeof s, "GPU-fa4e00%02x-0000-4000-8000-000000000000", d->index);
    if (strlen(s) >= length)
        return 7;
    memcpy(uuid, s, strlen(s) + 1);
    return 0;
}

static int fill_pci(void *h, fake_pci *p)
{
    static const unsigned int buses[8] = {0x18, 0x2a, 0x3a, 0x5d, 0x9a, 0xab, 0xba, 0xdb};
    fake_dev *d = dev_of(h);
    if (!d || !p)
        return 2;
    memset(p, 0, sizeof *p);
    p->bus = d->index < 8 ? buses[d->index] : 0xe0 + d->index;
    p->pci_device_id = 0x233010de;
    snprintf(p->bus_id_legacy, sizeof p->bus_id_legacy, "0000:%02X:00.0", p->bus & 0xffu);
    snprintf(p->bus_id, sizeof p->bus_id, "00000000:%02X:00.0", p->bus & 0xffu);
    return 0;
}

#ifndef FAKE_NVML_LEGACY
int nvmlDeviceGetPciInfo_v3(void *h, fake_pci *p)
{
    return fill_pci(h, p);
}
#endif

int nvmlDeviceGetPciInfo_v2(void *h, fake_pci *p)
{
    return fill_pci(h, p);
}

#ifndef FAKE_NVML_BROKEN
int nvmlDeviceGetMinorNumber(void *h, unsigned int *minor)
{
    fake_dev *d = dev_of(h);
    if (!d || !minor)
        return 2;
    *minor = ndev - 1 - d->index;
    return 0;
}
#endif

int nvmlDeviceGetMemoryInfo(void *h, fake_memory *m)
{
    fake_dev *d = dev_of(h);
    if (!d || !m)
        return 2;
    if ((int)d->index == fail_mem_dev)
        return 15;
    m->total = 81559ULL * 1024 * 1024;
    m->used = 4ULL * 1024 * 1024;
    m->free = m->total - m->used;
    return 0;
}

#ifndef FAKE_NVML_LEGACY
int nvmlDeviceGetMigMode(void *h, unsigned int *current, unsigned int *pending)
{
    fake_dev *d = dev_of(h);
    if (!d || !current || !pending)
        return 2;
    *current = *pending = (int)d->index == mig_dev ? 1u : 0u;
    return 0;
}
#endif
