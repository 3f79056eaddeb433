/* Unit tests of libgpu (src/libgpu): NVML discovery against the fake
 * libnvidia-ml.so.1 of tests/fake-nvml (three variants, built by CMake in
 * FAKE_NVML_DIR, FAKE_NVML_DIR-legacy and FAKE_NVML_DIR-broken), emulated
 * GPUs, and the CUDA_VISIBLE_DEVICES value. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gpu.h"

#ifndef FAKE_NVML_DIR
#error "FAKE_NVML_DIR must name the directory of the fake libnvidia-ml.so.1"
#endif
#define FAKE_LIB FAKE_NVML_DIR "/libnvidia-ml.so.1"
#define FAKE_LEGACY FAKE_NVML_DIR "-legacy/libnvidia-ml.so.1"
#define FAKE_BROKEN FAKE_NVML_DIR "-broken/libnvidia-ml.so.1"

static int setup(void **state)
{
    (void)state;
    setenv("GPUFLEET_NVML_LIB", FAKE_LIB, 1);
    unsetenv("FAKE_NVML_FAIL_INIT");
    unsetenv("FAKE_NVML_COUNT");
    unsetenv("FAKE_NVML_MIG");
    unsetenv("FAKE_NVML_FAIL_MEMORY");
    return 0;
}

/* ---- NVML discovery ---------------------------------------------------- */

static void test_discover_eight_h100(void **state)
{
    (void)state;
    setenv("FAKE_NVML_MIG", "3", 1);
    gpu_info g[16];
    int n = -1;
    char err[256] = "x";
    assert_int_equal(gpu_discover(g, 16, &n, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(n, 8);
    static const char *bus[8] = {"00000000:18:00.0", "00000000:2A:00.0", "00000000:3A:00.0",
                                 "00000000:5D:00.0", "00000000:9A:00.0", "00000000:AB:00.0",
                                 "00000000:BA:00.0", "00000000:DB:00.0"};
    for (int i = 0; i < 8; i++) {
        char uuid[64];
        snprintf(uuid, sizeof uuid, "GPU-fa4e00%02x-0000-4000-8000-000000000000", i);
        assert_int_equal(g[i].index, i);
        assert_string_equal(g[i].name, "NVIDIA H100 80GB HBM3");
        assert_string_equal(g[i].uuid, uuid);
        assert_string_equal(g[i].pci_bus_id, bus[i]);
        assert_int_equal(g[i].minor, 7 - i);
        assert_true(g[i].memory_total_bytes == 81559LL * 1024 * 1024);
        assert_int_equal(g[i].mig_mode, i == 3 ? GPU_MIG_ON : GPU_MIG_OFF);
    }
}

static void test_discover_zero_gpus(void **state)
{
    (void)state;
    setenv("FAKE_NVML_COUNT", "0", 1);
    gpu_info g[4];
    int n = -1;
    char err[256];
    assert_int_equal(gpu_discover(g, 4, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    /* and with no room at all */
    n = -1;
    assert_int_equal(gpu_discover(NULL, 0, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
}

static void test_discover_truncates_to_max(void **state)
{
    (void)state;
    gpu_info g[3];
    int n = -1;
    char err[256];
    assert_int_equal(gpu_discover(g, 3, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(g[2].uuid, "GPU-fa4e0002-0000-4000-8000-000000000000");
}

static void test_discover_no_library(void **state)
{
    (void)state;
    setenv("GPUFLEET_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
    gpu_info g[4];
    int n = -1;
    char err[256];
    assert_int_equal(gpu_discover(g, 4, &n, err, sizeof err), -1);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err, "NVML not available: "));
    assert_non_null(strstr(err, "cannot open shared object file"));
}

static void test_discover_default_name(void **state)
{
    (void)state;
    /* Unset: the driver's library by its soname. This machine has no NVIDIA
     * driver in the tests' environment; if one is there, discovery works. */
    unsetenv("GPUFLEET_NVML_LIB");
    gpu_info g[64];
    int n = -1;
    char err[256];
    if (gpu_discover(g, 64, &n, err, sizeof err) != 0)
        assert_non_null(strstr(err, "NVML not available: libnvidia-ml.so.1: cannot open shared object file"));
}

static void test_discover_init_fails(void **state)
{
    (void)state;
    setenv("FAKE_NVML_FAIL_INIT", "1", 1);
    gpu_info g[4];
    int n = -1;
    char err[256];
    assert_int_equal(gpu_discover(g, 4, &n, err, sizeof err), -1);
    assert_string_equal(err, "nvmlInit_v2 failed: Driver Not Loaded");
    assert_int_equal(n, 0);
}

/* A failing call mid-way: an error naming the GPU, and NVML still shut down
 * (the fake counts live inits; holding our own reference to the library,
 * gpu_discover's dlopen gets the same instance). */
static void test_discover_device_fails_shuts_down(void **state)
{
    (void)state;
    void *lib = dlopen(FAKE_LIB, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(lib);
    int *live = (int *)dlsym(lib, "fake_nvml_live");
    assert_non_null(live);
    assert_int_equal(*live, 0);

    gpu_info g[8];
    int n = -1;
    char err[256];
    assert_int_equal(gpu_discover(g, 8, &n, err, sizeof err), 0);
    assert_int_equal(*live, 0);

    setenv("FAKE_NVML_FAIL_MEMORY", "5", 1);
    assert_int_equal(gpu_discover(g, 8, &n, err, sizeof err), -1);
    assert_string_equal(err, "nvmlDeviceGetMemoryInfo failed for GPU 5: GPU is lost");
    assert_int_equal(n, 0);
    assert_int_equal(*live, 0);
    dlclose(lib);
}

static void test_discover_legacy_library(void **state)
{
    (void)state;
    setenv("GPUFLEET_NVML_LIB", FAKE_LEGACY, 1);
    setenv("FAKE_NVML_COUNT", "2", 1);
    gpu_info g[4];
    int n = -1;
    char err[256];
    assert_int_equal(gpu_discover(g, 4, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(g[1].pci_bus_id, "00000000:2A:00.0"); /* from PciInfo_v2 */
    assert_int_equal(g[0].mig_mode, GPU_MIG_UNKNOWN);         /* no nvmlDeviceGetMigMode */
    assert_int_equal(g[1].mig_mode, GPU_MIG_UNKNOWN);
    assert_int_equal(g[0].minor, 1);
}

static void test_discover_missing_symbol(void **state)
{
    (void)state;
    setenv("GPUFLEET_NVML_LIB", FAKE_BROKEN, 1);
    gpu_info g[4];
    int n = -1;
    char err[256];
    assert_int_equal(gpu_discover(g, 4, &n, err, sizeof err), -1);
    assert_string_equal(err, "NVML symbol missing: nvmlDeviceGetMinorNumber");
}

static void test_discover_bad_args(void **state)
{
    (void)state;
    gpu_info g[1];
    int n;
    char err[8]; /* also: a short buffer is cut, not overrun */
    assert_int_equal(gpu_discover(g, 1, NULL, err, sizeof err), -1);
    assert_int_equal(strlen(err), sizeof err - 1);
    assert_int_equal(gpu_discover(NULL, 4, &n, err, sizeof err), -1);
    assert_int_equal(gpu_discover(g, -1, &n, NULL, 0), -1);
}

/* ---- emulated GPUs ----------------------------------------------------- */

static void test_emulate(void **state)
{
    (void)state;
    gpu_info g[8];
    assert_int_equal(gpu_emulate_node(g, 8, 4, "NVIDIA A100-SXM4-40GB", 40LL << 30, "node-a"), 4);
    const char *prefix = "GPU-emu-";
    for (int i = 0; i < 4; i++) {
        char want_tail[16], bus[32];
        snprintf(want_tail, sizeof want_tail, "-%d", i);
        snprintf(bus, sizeof bus, "00000000:%02X:00.0", i + 1);
        assert_int_equal(g[i].index, i);
        assert_int_equal(g[i].minor, i);
        assert_string_equal(g[i].name, "NVIDIA A100-SXM4-40GB");
        assert_true(strncmp(g[i].uuid, prefix, strlen(prefix)) == 0);
        assert_int_equal(strlen(g[i].uuid), strlen(prefix) + 8 + strlen(want_tail));
        assert_string_equal(g[i].uuid + strlen(prefix) + 8, want_tail);
        assert_string_equal(g[i].pci_bus_id, bus);
        assert_true(g[i].memory_total_bytes == 40LL << 30);
        assert_int_equal(g[i].mig_mode, GPU_MIG_OFF);
    }
    /* same node, same UUIDs; another node, others */
    gpu_info h[2];
    assert_int_equal(gpu_emulate_node(h, 2, 2, NULL, 0, "node-a"), 2);
    assert_string_equal(h[1].uuid, g[1].uuid);
    assert_string_equal(h[0].name, "Emulated GPU");
    assert_int_equal(gpu_emulate_node(h, 2, 2, NULL, 0, "node-b"), 2);
    assert_string_not_equal(h[1].uuid, g[1].uuid);

    /* the host name's hash: stable between calls */
    gpu_info a[1], b[1];
    assert_int_equal(gpu_emulate(a, 1, 1, "X", 1), 1);
    assert_int_equal(gpu_emulate(b, 1, 1, "X", 1), 1);
    assert_string_equal(a[0].uuid, b[0].uuid);

    /* bounds and arguments */
    assert_int_equal(gpu_emulate(g, 2, 8, "X", 1), 2);
    assert_int_equal(gpu_emulate(g, 8, 0, "X", 1), 0);
    assert_int_equal(gpu_emulate(NULL, 0, 0, "X", 1), 0);
    assert_int_equal(gpu_emulate(g, 8, -1, "X", 1), -1);
    assert_int_equal(gpu_emulate(g, 8, 1, "X", -1), -1);
    assert_int_equal(gpu_emulate(NULL, 8, 1, "X", 1), -1);
}

/* ---- CUDA_VISIBLE_DEVICES ---------------------------------------------- */

static void test_visible_devices(void **state)
{
    (void)state;
    gpu_info g[8];
    assert_int_equal(gpu_emulate_node(g, 8, 8, "X", 1, "n"), 8);
    char buf[256];
    int idx[] = {0, 2, 3};
    gpu_visible_devices(NULL, idx, 3, buf, sizeof buf);
    assert_string_equal(buf, "0,2,3");
    int one[] = {7};
    gpu_visible_devices(NULL, one, 1, buf, sizeof buf);
    assert_string_equal(buf, "7");

    int pick[] = {5, 1};
    gpu_visible_devices(g, pick, 2, buf, sizeof buf);
    char want[256];
    snprintf(want, sizeof want, "%s,%s", g[5].uuid, g[1].uuid);
    assert_string_equal(buf, want);

    /* fails closed: never a partial list */
    int big[] = {10, 12};
    gpu_visible_devices(NULL, big, 2, buf, 5); /* "10,12" needs 6 bytes */
    assert_string_equal(buf, "");
    gpu_visible_devices(NULL, big, 2, buf, 6);
    assert_string_equal(buf, "10,12");
    gpu_visible_devices(g, pick, 2, buf, strlen(want));
    assert_string_equal(buf, "");
    int neg[] = {1, -1};
    gpu_visible_devices(NULL, neg, 2, buf, sizeof buf);
    assert_string_equal(buf, "");
    strcpy(buf, "junk");
    gpu_visible_devices(NULL, idx, 0, buf, sizeof buf);
    assert_string_equal(buf, "");
    gpu_visible_devices(NULL, idx, 3, buf, 0); /* nothing written */
    gpu_info empty[1];
    memset(empty, 0, sizeof empty);
    int zero[] = {0};
    gpu_visible_devices(empty, zero, 1, buf, sizeof buf);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_discover_eight_h100, setup),
        cmocka_unit_test_setup(test_discover_zero_gpus, setup),
        cmocka_unit_test_setup(test_discover_truncates_to_max, setup),
        cmocka_unit_test_setup(test_discover_no_library, setup),
        cmocka_unit_test_setup(test_discover_default_name, setup),
        cmocka_unit_test_setup(test_discover_init_fails, setup),
        cmocka_unit_test_setup(test_discover_device_fails_shuts_down, setup),
        cmocka_unit_test_setup(test_discover_legacy_library, setup),
        cmocka_unit_test_setup(test_discover_missing_symbol, setup),
        cmocka_unit_test_setup(test_discover_bad_args, setup),
        cmocka_unit_test(test_emulate),
        cmocka_unit_test(test_visible_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
