/*
 * sim_center.c: a center's policy in the simulator. Turns a center file
 * (center_desc) into libsched's policy object, maps trace jobs to projects
 * and users, and reports per tier, organization and project.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "center_acct.h"
#include "sim_internal.h"

/* A trace group id mapped to a project (sorted by group). */
typedef struct group_map {
    int64_t group;
    int32_t project;
} group_map;

struct sim_center {
    acct_center *a;
    group_map *groups;
    size_t ngroups;
    int64_t auto_members;
    int64_t unknown_qos;
};

/* Orders trace group maps by group id. */
static int cmp_group(const void *x, const void *y)
{
    int64_t a = ((const group_map *)x)->group, b = ((const group_map *)y)->group;
    return (a > b) - (a < b);
}

void sim_center_free(sim_center *c)
{
    if (!c)
        return;
    acct_destroy(c->a);
    free(c->groups);
    free(c);
}

acct_center *sim_center_acct(sim_center *c)
{
    return c ? c->a : NULL;
}

void sim_center_counts(const sim_center *c, int64_t *auto_members, int64_t *unknown_qos)
{
    *auto_members = c->auto_members;
    *unknown_qos = c->unknown_qos;
}

/* The policy object comes from center_acct_build (the same code fleetd
 * builds its center with); what is the simulator's own is the map of trace
 * groups to projects. O(A + U + M + Q + L) acct calls, O(G log G) for G
 * mapped groups. */
sim_center *sim_center_build(const center_desc *cd, const sched *s, const double *rates,
                             const char *fname, char *err, size_t errlen)
{
    sim_center *c = calloc(1, sizeof *c);
    int32_t *node = calloc(cd->naccounts ? cd->naccounts : 1, sizeof *node);
    if (!c || !node) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    c->a = center_acct_build(cd, s, rates, fname, node, err, errlen);
    if (!c->a)
        goto fail;
    size_t ngroups = 0;
    for (size_t i = 0; i < cd->naccounts; i++)
        ngroups += cd->accounts[i].trace_group >= 0;
    c->groups = calloc(ngroups ? ngroups : 1, sizeof *c->groups);
    if (!c->groups) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < cd->naccounts; i++)
        if (cd->accounts[i].trace_group >= 0)
            c->groups[c->ngroups++] = (group_map){cd->accounts[i].trace_group, node[i]};
    qsort(c->groups, c->ngroups, sizeof *c->groups, cmp_group);
    free(node);
    return c;
fail:
    free(node);
    sim_center_free(c);
    return NULL;
}

/* The project a group id maps to, or ACCT_NONE. O(log G). */
static int group_project(const sim_center *c, int64_t group)
{
    group_map key = {group, 0};
    const group_map *hit =
        c->ngroups ? bsearch(&key, c->groups, c->ngroups, sizeof key, cmp_group) : NULL;
    return hit ? hit->project : ACCT_NONE;
}

/* See sim.h for the rule. */
int sim_center_map(sim_center *c, const trace_job *tj, uint64_t pools, acct_job *aj)
{
    acct_center *a = c->a;
    acct_job_init(aj);
    aj->gpus = tj->gpus;
    aj->submit = tj->submit;
    aj->time_limit = tj->estimate >= 0 ? tj->estimate : tj->run;
    aj->pools = pools;
    if (tj->qos[0]) {
        aj->qos = acct_qos_find(a, tj->qos);
        if (aj->qos < 0)
            c->unknown_qos++;
    }
    int u = tj->user != 0 ? acct_user_find_uid(a, tj->user) : -1;
    int project = ACCT_NONE;
    if (tj->account[0]) {
        int n = acct_account_find(a, tj->account);
        project = acct_node_level(a, n) == ACCT_PROJECT ? n : ACCT_NONE;
    } else if (u >= 0) {
        project = acct_user_default(a, u);
    } else if (tj->group != 0) {
        project = group_project(c, tj->group);
    }
    if (project == ACCT_NONE)
        return 1;
    aj->project = project;
    if (u < 0) {
        char name[ACCT_NAMELEN];
        snprintf(name, sizeof name, "u%" PRIu32, tj->user);
        u = acct_user_find(a, name);
        if (u < 0) /* no uid: rule 2 stays about the users of the center file */
            u = acct_user_add(a, name, -1, NULL, 0);
    }
    if (u >= 0 && acct_member_find(a, u, project) < 0) {
        if (acct_member_add(a, u, project, 1.0, NULL, 0) >= 0)
            c->auto_members++;
    }
    aj->user = acct_member_find(a, u, project) >= 0 ? u : -1;
    return 0;
}

/* ---- the report --------------------------------------------------------- */

/* Orders int64 values ascending. */
static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

void sim_center_report(sim_center *c, const sim_job *jobs, const acct_job *aj,
                       const uint8_t *fate, const int32_t *npre, const double *lost, size_t n,
                       int64_t now, sim_acct_report *out)
{
    acct_center *a = c->a;
    sim_center_counts(c, &out->auto_members, &out->unknown_qos);
    int nn = acct_node_count(a);
    int32_t *slot = malloc((size_t)nn * sizeof *slot);
    size_t ng = 0;
    for (int i = 0; i < nn; i++) {
        int lv = acct_node_level(a, i);
        slot[i] = -1;
        ng += lv >= ACCT_TIER && lv <= ACCT_PROJECT;
    }
    out->groups = calloc(ng ? ng : 1, sizeof *out->groups);
    size_t *count = calloc(ng + 1, sizeof *count);
    if (!slot || !out->groups || !count)
        abort(); /* out of memory, as the rest of the simulator */
    for (int lv = ACCT_TIER; lv <= ACCT_PROJECT; lv++) {
        for (int i = 0; i < nn; i++) {
            if (acct_node_level(a, i) != lv)
                continue;
            sim_group *g = &out->groups[out->ngroups];
            snprintf(g->name, sizeof g->name, "%s", acct_node_name(a, i));
            g->level = lv;
            slot[i] = (int32_t)out->ngroups++;
        }
    }
    /* counts, sums, then the waits of each group side by side for medians */
    for (size_t i = 0; i < n; i++) {
        if (aj[i].project == ACCT_NONE) {
            out->unmapped++;
            if (npre)
                out->preemptions += npre[i];
            continue;
        }
        if (npre)
            out->preemptions += npre[i];
        for (int p = aj[i].project; p > 0; p = acct_node_parent(a, p)) {
            if (slot[p] < 0)
                continue;
            sim_group *g = &out->groups[slot[p]];
            if (npre) {
                g->preempted += npre[i];
                g->lost_gpu_hours += lost[i] / 3600.0;
            }
            if (fate[i] == SIM_FATE_RAN) {
                const sim_job *j = &jobs[i];
                double gh = (double)j->size * (double)j->run_eff / 3600.0;
                g->jobs++;
                g->mean_wait += (double)(j->sj.start - j->sj.submit);
                g->gpu_hours += gh;
                g->charged += gh * aj[i].rate;
                count[slot[p]]++;
            } else if (fate[i] == SIM_FATE_REFUSED) {
                g->refused++;
            } else if (fate[i] == SIM_FATE_WITHDRAWN) {
                g->withdrawn++;
            }
        }
    }
    size_t total = 0;
    for (size_t k = 0; k < ng; k++) {
        size_t c0 = count[k];
        count[k] = total; /* becomes the offset of group k */
        total += c0;
    }
    int64_t *waits = malloc((total ? total : 1) * sizeof *waits);
    size_t *fill = calloc(ng ? ng : 1, sizeof *fill);
    if (!waits || !fill)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (aj[i].project == ACCT_NONE || fate[i] != SIM_FATE_RAN)
            continue;
        for (int p = aj[i].project; p > 0; p = acct_node_parent(a, p))
            if (slot[p] >= 0)
                waits[count[slot[p]] + fill[slot[p]]++] = jobs[i].sj.start - jobs[i].sj.submit;
    }
    for (size_t k = 0; k < ng; k++) {
        sim_group *g = &out->groups[k];
        if (g->jobs == 0)
            continue;
        int64_t *w = waits + count[k];
        size_t m = (size_t)g->jobs;
        qsort(w, m, sizeof *w, cmp_i64);
        g->mean_wait /= (double)g->jobs;
        g->median_wait = m % 2 ? (double)w[m / 2] : ((double)w[m / 2 - 1] + (double)w[m / 2]) / 2;
    }
    for (size_t i = 0; i < n; i++) {
        out->refused += fate[i] == SIM_FATE_REFUSED;
        out->withdrawn += fate[i] == SIM_FATE_WITHDRAWN;
    }
    free(waits);
    free(fill);
    free(count);
    free(slot);

    int na = acct_alloc_count(a);
    out->allocs = calloc(na ? (size_t)na : 1, sizeof *out->allocs);
    if (!out->allocs)
        abort();
    for (int i = 0; i < na; i++) {
        const acct_alloc_def *d = acct_alloc_get(a, i);
        sim_alloc_report *ar = &out->allocs[out->nallocs++];
        snprintf(ar->name, sizeof ar->name, "%s", d->name);
        snprintf(ar->account, sizeof ar->account, "%s", acct_node_name(a, d->account));
        acct_pools_format(a, d->pools, ar->pools, sizeof ar->pools);
        acct_alloc_ledger(a, i, now, &ar->ledger);
    }
}

void sim_acct_report_free(sim_acct_report *r)
{
    if (!r)
        return;
    free(r->groups);
    free(r->allocs);
    free(r);
}

/* A JSON string: names hold no control bytes, but may hold '"' or '\'. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Whole numbers as "100.0" rather than the shortest "1e+02". */
static void json_num(FILE *f, double v)
{
    char buf[40];
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, sizeof buf, "%.1f", v);
    else
        sim_format_double(v, buf, sizeof buf);
    fputs(buf, f);
}

/* `, "key": [...]` with the groups of one level. */
static void json_groups(FILE *f, const sim_acct_report *r, int level, const char *key)
{
    fprintf(f, ",\n    \"%s\": [", key);
    int first = 1;
    for (size_t i = 0; i < r->ngroups; i++) {
        const sim_group *g = &r->groups[i];
        if (g->level != level)
            continue;
        fprintf(f, "%s\n      {\"name\": ", first ? "" : ",");
        json_str(f, g->name);
        fprintf(f, ", \"jobs\": %" PRId64 ", \"refused\": %" PRId64 ", \"withdrawn\": %" PRId64
                   ", \"mean_wait\": ", g->jobs, g->refused, g->withdrawn);
        json_num(f, g->mean_wait);
        fputs(", \"median_wait\": ", f);
        json_num(f, g->median_wait);
        fputs(", \"gpu_hours\": ", f);
        json_num(f, g->gpu_hours);
        fputs(", \"charged_gpu_hours\": ", f);
        json_num(f, g->charged);
        if (r->preempt_enabled) {
            fprintf(f, ", \"preempted\": %" PRId64 ", \"lost_gpu_hours\": ", g->preempted);
            json_num(f, g->lost_gpu_hours);
        }
        fputc('}', f);
        first = 0;
    }
    fputs(first ? "]" : "\n    ]", f);
}

void sim_write_accounts_json(FILE *f, const sim_acct_report *r)
{
    fprintf(f, "  \"accounts\": {\n    \"unmapped\": %" PRId64 ",\n    \"refused\": %" PRId64
               ",\n    \"withdrawn\": %" PRId64 ",\n    \"auto_members\": %" PRId64
               ",\n    \"unknown_qos\": %" PRId64 ",\n    \"priority_calcs\": %" PRId64,
            r->unmapped, r->refused, r->withdrawn, r->auto_members, r->unknown_qos,
            r->priority_calcs);
    if (r->preempt_enabled)
        fprintf(f, ",\n    \"preemptions\": %" PRId64 ",\n    \"preempt_plans\": %" PRId64,
                r->preemptions, r->preempt_plans);
    json_groups(f, r, ACCT_TIER, "tiers");
    json_groups(f, r, ACCT_ORG, "organizations");
    json_groups(f, r, ACCT_PROJECT, "projects");
    fputs(",\n    \"allocations\": [", f);
    for (size_t i = 0; i < r->nallocs; i++) {
        const sim_alloc_report *ar = &r->allocs[i];
        const acct_ledger *l = &ar->ledger;
        fprintf(f, "%s\n      {\"name\": ", i ? "," : "");
        json_str(f, ar->name);
        fputs(", \"account\": ", f);
        json_str(f, ar->account);
        fputs(", \"pools\": ", f);
        json_str(f, ar->pools);
        fputs(", \"gpu_hours\": ", f);
        json_num(f, l->gpu_hours);
        fputs(", \"used\": ", f);
        json_num(f, l->used);
        fputs(", \"reserved\": ", f);
        json_num(f, l->reserved);
        fputs(", \"left\": ", f);
        json_num(f, l->left);
        fputc('}', f);
    }
    fputs(r->nallocs ? "\n    ]\n  }" : "]\n  }", f);
}

void sim_print_accounts(FILE *f, const sim_result *res)
{
    const sim_acct_report *r = res->acct;
    if (!r)
        return;
    fprintf(f, "accounts         %" PRId64 " jobs refused at submit, %" PRId64
               " withdrawn (allocation expired or used up), %" PRId64 " unmapped",
            r->refused, r->withdrawn, r->unmapped);
    if (r->auto_members)
        fprintf(f, ", %" PRId64 " members added from the trace", r->auto_members);
    if (r->unknown_qos)
        fprintf(f, ", %" PRId64 " jobs with an unknown QOS", r->unknown_qos);
    fprintf(f, "\npriority         recomputed %" PRId64 " times\n", r->priority_calcs);
    if (r->first_refusal[0])
        fprintf(f, "first refusal    %s\n", r->first_refusal);
    static const char *const lw[] = {"", "tier", "org", "project"};
    fprintf(f, "%-32s %7s %8s %9s %11s %12s %11s %11s\n", "account", "jobs", "refused",
            "withdrawn", "mean wait", "median wait", "GPU-hours", "charged");
    for (size_t i = 0; i < r->ngroups; i++) {
        const sim_group *g = &r->groups[i];
        char label[ACCT_NAMELEN + 16];
        snprintf(label, sizeof label, "%-7s %s", lw[g->level], g->name);
        fprintf(f, "%-32s %7" PRId64 " %8" PRId64 " %9" PRId64 " %10.1fs %11.1fs %11.1f %11.1f\n",
                label, g->jobs, g->refused, g->withdrawn, g->mean_wait, g->median_wait,
                g->gpu_hours, g->charged);
    }
    if (r->preempt_enabled) {
        fprintf(f, "preemption       %" PRId64 " runs preempted (requeued) by %" PRId64
                   " plans\n", r->preemptions, r->preempt_plans);
        fprintf(f, "%-32s %10s %16s\n", "account", "preempted", "lost GPU-hours");
        for (size_t i = 0; i < r->ngroups; i++) {
            const sim_group *g = &r->groups[i];
            char label[ACCT_NAMELEN + 16];
            snprintf(label, sizeof label, "%-7s %s", lw[g->level], g->name);
            fprintf(f, "%-32s %10" PRId64 " %16.1f\n", label, g->preempted, g->lost_gpu_hours);
        }
    }
    if (r->nallocs) {
        fprintf(f, "%-24s %-20s %-16s %10s %10s %10s %10s\n", "allocation", "account", "pools",
                "GPU-hours", "used", "reserved", "left");
        for (size_t i = 0; i < r->nallocs; i++) {
            const sim_alloc_report *ar = &r->allocs[i];
            fprintf(f, "%-24s %-20s %-16s %10.1f %10.1f %10.1f %10.1f\n", ar->name, ar->account,
                    ar->pools, ar->ledger.gpu_hours, ar->ledger.used, ar->ledger.reserved,
                    ar->ledger.left);
        }
    }
}
