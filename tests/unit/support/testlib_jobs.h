/* testlib_jobs: svc-automation played by a test, for the worker library's
 * tests: a responder on <prefix>jobs.claim, .progress, .complete and
 * .release that hands out scripted jobs, answers scripted replies and records
 * what it got. Each stand-in has a subject prefix of its own, so a real
 * svc-automation on the same server never answers. Prefix tl_fa_. */
#ifndef BRAIN_TESTLIB_JOBS_H
#define BRAIN_TESTLIB_JOBS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"

#define TL_FA_MAX  64 /* records kept per kind */
#define TL_FA_JOBS 16 /* jobs one stand-in hands out */

typedef struct tl_fa_rec {
    char job_id[40];
    int progress; /* -1 when absent */
    char body[512];
    char rid[64]; /* the X-Request-Id header */
    int64_t at_ns;
} tl_fa_rec;

typedef struct tl_fa {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bus *bus;
    char prefix[48]; /* subjects are <prefix>jobs.claim ... */
    /* jobs handed out by jobs.claim, in order */
    char job_id[TL_FA_JOBS][40];
    char job_config[TL_FA_JOBS][256];
    int njobs, next_job;
    /* scripted replies to jobs.progress */
    bool cancel;         /* cancel_requested:true */
    bool reject;         /* ok:false */
    bool claim_unparsed; /* answer jobs.claim with an error reply */
    /* what came */
    int nclaim, nprog, ncomplete, nrelease;
    int ncomplete_claim; /* completions that also asked for a job */
    int claim_max[TL_FA_MAX];
    int64_t claim_ns[TL_FA_MAX];
    char claim_body[512];
    tl_fa_rec prog[TL_FA_MAX], complete[TL_FA_MAX], release[TL_FA_MAX];
} tl_fa;

/* A new stand-in on b (at most 16 per process: subscriptions outlive a test). */
tl_fa *tl_fa_new(bus *b);
/* Answer the job subjects from now on. */
void tl_fa_listen(tl_fa *f);
/* Queue a job whose config is cfg (JSON text); returns its index. */
int tl_fa_add(tl_fa *f, const char *cfg);
/* Whether *counter (a field of f) reaches n within ms. */
bool tl_fa_wait(tl_fa *f, const int *counter, int n, int ms);
/* How many of the first n records of recs are about job_id. */
int tl_fa_count(tl_fa *f, const tl_fa_rec *recs, int n, const char *job_id);

#endif
