/* intel: the daemon's state; see intel.h. (Apart from main.c, so that the
 * unit tests, which link everything but main.o, have it.) */
#include "intel.h"

intel *
intel_of(const void *a)
{
    return a ? app_data(a) : NULL;
}
