/* metrics_process: the process_* metrics, read from /proc when the registry
 * is rendered. */
#include <sys/types.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

/* Read a small /proc file whole into buf (NUL-terminated). Returns 0 or -1. */
static int
read_proc(const char *path, char *buf, size_t cap)
{
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    while (len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return len > 0 ? 0 : -1;
}

/* Fields 14 (utime), 15 (stime) and 22 (starttime) of /proc/self/stat, in
 * clock ticks. The command name (field 2) may hold spaces and parentheses, so
 * parsing starts after its last ')'. */
static int
read_self_stat(unsigned long long *utime, unsigned long long *stime, unsigned long long *start)
{
    char buf[1024];
    const char *p;

    if (read_proc("/proc/self/stat", buf, sizeof(buf)) != 0 || (p = strrchr(buf, ')')) == NULL)
        return -1;
    return sscanf(p + 1,
                  " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
                  "%llu",
                  utime, stime, start)
                   == 3
               ? 0
               : -1;
}

static int
read_boot_time(unsigned long long *btime)
{
    char line[256];
    bool at_line_start = true;
    int rc = -1;
    FILE *fp = fopen("/proc/stat", "re");

    if (fp == NULL)
        return -1;
    /* Lines of /proc/stat can be longer than line; only whole-line starts count. */
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (at_line_start && strncmp(line, "btime ", 6) == 0) {
            char *end;
            *btime = strtoull(line + 6, &end, 10);
            rc = end != line + 6 ? 0 : -1;
            break;
        }
        at_line_start = strchr(line, '\n') != NULL;
    }
    fclose(fp);
    return rc;
}

static long
count_open_fds(void)
{
    long n = 0;
    struct dirent *e;
    DIR *d = opendir("/proc/self/fd");

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n > 0 ? n - 1 : 0; /* not counting the descriptor of d itself */
}

typedef struct process_families {
    metrics_family *rss, *cpu, *fds;
} process_families;

static void
collect_process(metrics_registry *reg, void *ud)
{
    const process_families *pf = ud;
    unsigned long long utime, stime, start;
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE), fds;
    char buf[256];
    unsigned long long size_pages, rss_pages;

    (void)reg;
    if (ticks > 0 && read_self_stat(&utime, &stime, &start) == 0)
        metrics_counter_set(pf->cpu, NULL, (double)(utime + stime) / (double)ticks);
    if (page > 0 && read_proc("/proc/self/statm", buf, sizeof(buf)) == 0
        && sscanf(buf, "%llu %llu", &size_pages, &rss_pages) == 2)
        metrics_set(pf->rss, NULL, (double)rss_pages * (double)page);
    fds = count_open_fds();
    if (fds >= 0)
        metrics_set(pf->fds, NULL, (double)fds);
}

int
metrics_register_process(metrics_registry *reg)
{
    unsigned long long utime, stime, start, btime;
    long ticks = sysconf(_SC_CLK_TCK);
    metrics_family *rss, *cpu, *start_f, *fds;

    if (reg == NULL)
        return -1;
    rss = metrics_gauge(reg, "process_resident_memory_bytes", "Resident memory size in bytes.",
                        NULL, 0);
    cpu = metrics_counter(reg, "process_cpu_seconds_total",
                          "Total user and system CPU time spent in seconds.", NULL, 0);
    start_f = metrics_gauge(reg, "process_start_time_seconds",
                            "Start time of the process since unix epoch in seconds.", NULL, 0);
    fds = metrics_gauge(reg, "process_open_fds", "Number of open file descriptors.", NULL, 0);
    if (rss == NULL || cpu == NULL || start_f == NULL || fds == NULL)
        return -1;
    /* The start time never changes: compute it once. */
    if (ticks <= 0 || read_self_stat(&utime, &stime, &start) != 0 || read_boot_time(&btime) != 0) {
        log_error("metrics: cannot read the process start time from /proc");
        return -1;
    }
    metrics_set(start_f, NULL, (double)btime + (double)start / (double)ticks);
    /* One set per process: the process metrics describe the process, whichever
     * registry shows them. */
    static process_families pf;
    pf = (process_families){rss, cpu, fds};
    return metrics_on_collect(reg, collect_process, &pf);
}
