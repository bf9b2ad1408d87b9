#define _GNU_SOURCE
#include "mutex.h"

bool mutex_init(mutex_t *m) {
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0) return true;
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_DEFAULT);
    bool err = pthread_mutex_init(&m->lock, &attr) != 0;
    pthread_mutexattr_destroy(&attr);
    return err;
}
