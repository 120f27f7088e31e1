/*
 * object.h: a tiny COM-style object written in C, as a host would write one
 * to store in a session (VT_UNKNOWN) or to declare as a session-scope static
 * object (GLOBAL.ASA's <OBJECT RUNAT=Server SCOPE=Session>).
 *
 * What libsess needs from an object is IUnknown: a pointer to a vtable whose
 * first three entries are query_interface, add_ref and release. The library
 * calls add_ref when it stores a reference and release when it drops one;
 * the object frees itself when the count reaches zero.
 *
 * Sessions move between threads (one request, then the next, then the expiry
 * thread), so stored objects must be free-threaded: the reference count is
 * protected by a mutex (C99 has no atomics).
 */
#ifndef EXAMPLES_OBJECT_H
#define EXAMPLES_OBJECT_H

#include "check.h" /* first: sess.h, and _POSIX_C_SOURCE for pthreads */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct demo_object {
    sess_unknown base;     /* first: a sess_unknown* to it is a demo_object* */
    pthread_mutex_t lock;  /* guards refs and name */
    uint32_t refs;
    char name[64];         /* a property, like the seed's PersonalName */
} demo_object;

/* How many demo objects are alive, and how many were ever destroyed. */
static pthread_mutex_t demo_stats_lock = PTHREAD_MUTEX_INITIALIZER;
static int demo_alive_count;
static int demo_destroyed_count;

/* IID_IUnknown, {00000000-0000-0000-C000-000000000046}. */
static const sess_guid demo_iid_iunknown = {0, 0, 0, {0xC0, 0, 0, 0, 0, 0, 0, 0x46}};

static inline int demo_alive(void)
{
    int n;
    pthread_mutex_lock(&demo_stats_lock);
    n = demo_alive_count;
    pthread_mutex_unlock(&demo_stats_lock);
    return n;
}

static inline int demo_destroyed(void)
{
    int n;
    pthread_mutex_lock(&demo_stats_lock);
    n = demo_destroyed_count;
    pthread_mutex_unlock(&demo_stats_lock);
    return n;
}

static inline demo_object *demo_from(sess_unknown *u)
{
    return (demo_object *)(void *)u;
}

static inline uint32_t demo_add_ref(sess_unknown *self)
{
    demo_object *o = demo_from(self);
    uint32_t n;
    pthread_mutex_lock(&o->lock);
    n = ++o->refs;
    pthread_mutex_unlock(&o->lock);
    return n;
}

static inline uint32_t demo_release(sess_unknown *self)
{
    demo_object *o = demo_from(self);
    uint32_t n;
    pthread_mutex_lock(&o->lock);
    n = --o->refs;
    pthread_mutex_unlock(&o->lock);
    if (n == 0) {
        pthread_mutex_destroy(&o->lock);
        free(o);
        pthread_mutex_lock(&demo_stats_lock);
        demo_alive_count--;
        demo_destroyed_count++;
        pthread_mutex_unlock(&demo_stats_lock);
    }
    return n;
}

static inline sess_result demo_query_interface(sess_unknown *self, const sess_guid *iid, void **out)
{
    if (out == NULL)
        return SESS_E_POINTER;
    if (iid == NULL) {
        *out = NULL; /* COM: *out is NULL whenever the call fails */
        return SESS_E_POINTER;
    }
    if (memcmp(iid, &demo_iid_iunknown, sizeof *iid) != 0) {
        *out = NULL;
        return SESS_E_NOINTERFACE;
    }
    demo_add_ref(self);
    *out = self;
    return SESS_S_OK;
}

static const sess_unknown_vtbl demo_vtbl = {demo_query_interface, demo_add_ref, demo_release};

/* A new object holding one reference, which the caller owns; NULL if out of memory. */
static inline demo_object *demo_new(const char *name)
{
    demo_object *o = (demo_object *)calloc(1, sizeof *o);
    if (o == NULL)
        return NULL;
    o->base.vtbl = &demo_vtbl;
    pthread_mutex_init(&o->lock, NULL);
    o->refs = 1;
    snprintf(o->name, sizeof o->name, "%s", name);
    pthread_mutex_lock(&demo_stats_lock);
    demo_alive_count++;
    pthread_mutex_unlock(&demo_stats_lock);
    return o;
}

/* The current reference count (for checks; COM offers no such call). */
static inline uint32_t demo_refs(demo_object *o)
{
    uint32_t n;
    pthread_mutex_lock(&o->lock);
    n = o->refs;
    pthread_mutex_unlock(&o->lock);
    return n;
}

static inline void demo_set_name(demo_object *o, const char *name)
{
    pthread_mutex_lock(&o->lock);
    snprintf(o->name, sizeof o->name, "%s", name);
    pthread_mutex_unlock(&o->lock);
}

/* Copies the name property into buf. */
static inline const char *demo_get_name(demo_object *o, char *buf, size_t len)
{
    pthread_mutex_lock(&o->lock);
    snprintf(buf, len, "%s", o->name);
    pthread_mutex_unlock(&o->lock);
    return buf;
}

/*
 * A static-object factory (sess_static_object_decl.factory): makes the
 * session's instance of `name` and hands one reference to the library.
 * `context`, if not NULL, is an int counting the instances made (guarded by
 * demo_stats_lock, as factories run on whichever thread uses the object).
 */
static inline sess_result demo_factory(void *context, const char *name, sess_unknown **out)
{
    demo_object *o = demo_new("");
    (void)name;
    if (o == NULL)
        return SESS_E_OUTOFMEMORY;
    if (context != NULL) {
        pthread_mutex_lock(&demo_stats_lock);
        ++*(int *)context;
        pthread_mutex_unlock(&demo_stats_lock);
    }
    *out = &o->base;
    return SESS_S_OK;
}

/* The context counter demo_factory increments, read under its lock. */
static inline int demo_count(const int *counter)
{
    int n;
    pthread_mutex_lock(&demo_stats_lock);
    n = *counter;
    pthread_mutex_unlock(&demo_stats_lock);
    return n;
}

#endif /* EXAMPLES_OBJECT_H */
