/*
 * libgpu: GPU discovery for the node agent (fleet-agent).
 *
 *   - gpu_discover: asks the NVIDIA driver through NVML, loaded at run time
 *     with dlopen("libnvidia-ml.so.1"), so nothing links against NVIDIA
 *     packages and the same binary runs on machines without a driver. The
 *     environment variable GPUFLEET_NVML_LIB, when set and non-empty, names
 *     the library to load instead (tests point it at a fake).
 *   - gpu_emulate: fake GPUs for emulated nodes.
 *   - gpu_visible_devices: the CUDA_VISIBLE_DEVICES value for a job.
 *
 * The agent's fallback order: NVML, then the GPUs configured for the node,
 * then emulated GPUs (see docs/gpu-discovery.md). Every function reports
 * errors by return value (and message where there is a buffer), never
 * aborts, and keeps no global state.
 *
 * This library is a leaf: it includes no other gpufleet library.
 */
#ifndef GPUFLEET_GPU_H
#define GPUFLEET_GPU_H

#include <stddef.h>

#define GPU_NAME_MAX 96
#define GPU_UUID_MAX 96
#define GPU_PCI_MAX 32

#define GPU_MIG_UNKNOWN (-1)
#define GPU_MIG_OFF 0
#define GPU_MIG_ON 1

typedef struct gpu_info {
    int index;                    /* NVML index (0-based), = position in the array */
    char name[GPU_NAME_MAX];      /* "NVIDIA H100 80GB HBM3" */
    char uuid[GPU_UUID_MAX];      /* "GPU-xxxxxxxx-..." */
    char pci_bus_id[GPU_PCI_MAX]; /* "00000000:18:00.0" */
    int minor;                    /* /dev/nvidia<minor>; -1 if unknown */
    long long memory_total_bytes;
    int mig_mode;                 /* GPU_MIG_UNKNOWN, GPU_MIG_OFF, GPU_MIG_ON */
} gpu_info;

/* Discovers the GPUs of this machine through NVML. Fills out[0..*count-1]
 * (at most max entries; GPUs beyond max are not reported) and returns 0;
 * 0 GPUs is a success. Returns -1 with a message in err when NVML cannot
 * be used:
 *   "NVML not available: <dlerror>"   no driver (or GPUFLEET_NVML_LIB wrong):
 *                                     the caller falls back to configured
 *                                     or emulated GPUs
 *   "NVML symbol missing: <name>"     an old or broken libnvidia-ml
 *   "nvmlInit_v2 failed: <nvmlErrorString>"
 *   "<nvml function> failed for GPU <i>: <nvmlErrorString>"
 * The library is always unloaded (and NVML shut down) before returning.
 * nvmlDeviceGetPciInfo_v3 is used, else nvmlDeviceGetPciInfo_v2;
 * nvmlDeviceGetMigMode is optional: absent or failing, mig_mode is -1;
 * "not supported" (a GPU without MIG) reads as 0. A failure of any other
 * call for any GPU fails the whole discovery (a lost GPU is not hidden).
 * Not thread-safe against a concurrent dlopen of NVML by the same process. */
int gpu_discover(gpu_info *out, int max, int *count, char *err, size_t errlen);

/* Fills out[0..n-1] with n = min(count, max) emulated GPUs and returns n,
 * or -1 if an argument is invalid (count, max or mem_bytes negative; out
 * NULL with n > 0). GPU i has index i, minor i, the given model (NULL or
 * empty: "Emulated GPU"), memory mem_bytes, MIG off, PCI bus id
 * "00000000:<i+1 as 2 hex digits>:00.0" and UUID "GPU-emu-<node-hash>-<i>",
 * where node-hash is 8 hex digits of a hash (FNV-1a) of the host name.
 * gpu_emulate_node takes the node name instead of the host name, for several
 * emulated nodes on one machine (NULL: the host name). */
int gpu_emulate(gpu_info *out, int max, int count, const char *model, long long mem_bytes);
int gpu_emulate_node(gpu_info *out, int max, int count, const char *model, long long mem_bytes,
                     const char *node);

/* Writes the CUDA_VISIBLE_DEVICES value for the n GPUs idx[0..n-1] (indices
 * into g) to buf, comma-separated, in the order given:
 *   g == NULL  the indices themselves:          "0,2,3"
 *   g != NULL  the UUIDs g[idx[k]].uuid:        "GPU-...,GPU-..."
 * UUIDs are the robust choice: CUDA numbers devices fastest-first unless
 * CUDA_DEVICE_ORDER=PCI_BUS_ID, so NVML indices may name other GPUs.
 * Fails closed: with n <= 0, a negative index, an empty UUID, or a value that does not fit
 * in len bytes, buf becomes "" (no GPU visible), never a truncated list.
 * n * (GPU_UUID_MAX + 1) bytes always suffice. Nothing is written if len
 * is 0. */
void gpu_visible_devices(const gpu_info *g, const int *idx, int n, char *buf, size_t len);

#endif
