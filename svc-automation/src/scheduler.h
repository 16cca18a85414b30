/* scheduler: the periodic sweep of the queue (expired leases, due and
 * unblocked pending jobs, ended back-offs), on its own thread. Prefix sched_. */
#ifndef AUTOMATION_SCHEDULER_H
#define AUTOMATION_SCHEDULER_H

typedef struct svc svc;
typedef struct sched sched;

sched *sched_start(svc *s, int interval_ms);
void sched_stop(sched *sc); /* joins the thread and frees; NULL ok */

#endif
