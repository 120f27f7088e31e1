/*
 * custom_store_files.c: a session store the host supplies (sess_store_vtbl),
 * keeping one file per session in a directory, and the checks that the
 * Session object behaves the same on it.
 *
 * The store (first half of this file) is what a host writes to put sessions
 * in its own storage. It builds on its own as a plugin: with
 * -DCUSTOM_STORE_NO_MAIN -shared -fPIC it is a shared object exporting
 * file_store_open() and file_store_set_down() and needing no libsess symbol
 * (it writes blobs through the function pointer in sess_buffer rather than
 * sess_buffer_write()), which is how tests/custom_store.rs runs the Rust
 * session suite against it.
 *
 * The layout:
 *   DIR/<key>.sess   one session: a fixed header (magic, deadline, lock
 *                    token, when the lock was taken, blob length; native
 *                    byte order) and the blob the library gave. <key> is
 *                    what the library passes: 32 hex digits hashed from
 *                    the session ID, never the ID (the cookie value).
 *   DIR/<key>.tmp    a record being written: every write goes to the temp
 *                    file and is renamed over the record, so a reader never
 *                    sees half a record.
 *   DIR/.lock        every operation holds an fcntl() lock on it, so
 *                    processes sharing the directory (a web farm on one
 *                    machine or NFS with working locks) take turns; a
 *                    process-wide mutex does the same for this process's
 *                    threads (fcntl locks belong to the process).
 *
 * Session locks live in the record (owner token + when taken) so they
 * survive the process that took them: a lock older than the store's lock
 * TTL counts as stale (its holder died) and the next request takes it.
 *
 * Limits, fine for an example and said so: list_expired and count scan the
 * directory (O(all sessions) per sweep; a real store keeps an index by
 * deadline); records are not fsync'ed; one store-wide lock serialises all
 * operations.
 *
 * The checks (second half): create / write / read back, order and
 * case-insensitive keys, Abandon and Session_OnEnd with the contents,
 * expiry on a simulated clock (sliding by read-only requests, OnEnd exactly
 * once), read-only units, lock contention (SESS_E_LOCK_TIMEOUT) and a lock
 * left by a failed request freed by the lock TTL, two applications sharing
 * the directory with exact increments from two threads, regenerate (the
 * store's rename), a store
 * that is down (SESS_E_STORE_UNAVAILABLE) and recovers, a corrupt record,
 * objects refused, and the vtable's own contract (init, missing callbacks,
 * destroy once).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sess.h"

/* ======================================================================== */
/* The file store                                                           */

/* The store's public face (what a plugin exports). */
sess_result file_store_open(const char *dir, uint64_t lock_ttl_ms, sess_store_vtbl *vtbl);
void file_store_set_down(void *context, int down);

#define KEY_LEN 32
#define PATH_LEN 4096
#define DIR_LEN (PATH_LEN - KEY_LEN - 16) /* room for /<key>.sess */
#define MAX_BLOB ((uint64_t)256 << 20) /* a record claiming more is corrupt */

typedef struct file_store {
    char dir[DIR_LEN];
    int lock_fd;          /* DIR/.lock */
    uint64_t lock_ttl_ms; /* a session lock older than this is stale */
    int down;             /* test hook: every callback fails (under store_mutex) */
} file_store;

/* One record's header, as it is on disk. */
typedef struct record_header {
    char magic[8];         /* "SESSFS1" */
    uint64_t deadline_ms;  /* expires at or after this (app clock) */
    uint64_t lock_token;   /* 0: not locked */
    uint64_t locked_at_ms; /* when lock_token took the lock */
    uint64_t blob_len;
} record_header;

static const char record_magic[8] = "SESSFS1";

/* Serialises this process's operations on every store (fcntl locks would
 * not: they belong to the process, not the thread). */
static pthread_mutex_t store_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Takes the store: this process's mutex, then the directory's lock file.
 * On failure nothing is held. */
static sess_result store_lock(file_store *fs)
{
    struct flock fl;
    pthread_mutex_lock(&store_mutex);
    if (fs->down) {
        pthread_mutex_unlock(&store_mutex);
        return SESS_E_STORE_UNAVAILABLE;
    }
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    while (fcntl(fs->lock_fd, F_SETLKW, &fl) != 0) {
        if (errno != EINTR) {
            pthread_mutex_unlock(&store_mutex);
            return SESS_E_STORE_UNAVAILABLE;
        }
    }
    return SESS_STORE_OK;
}

static void store_unlock(file_store *fs)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fcntl(fs->lock_fd, F_SETLK, &fl);
    pthread_mutex_unlock(&store_mutex);
}

/* Keys come from the library, but a store checks what it makes paths of. */
static int key_ok(const char *key)
{
    size_t i;
    for (i = 0; i < KEY_LEN; i++) {
        char c = key[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return key[KEY_LEN] == '\0';
}

static void record_path(const file_store *fs, const char *key, const char *ext, char *path)
{
    snprintf(path, PATH_LEN, "%s/%s%s", fs->dir, key, ext);
}

/* Reads the record of `key`: SESS_STORE_OK (header in *h and, if `blob` is
 * not NULL, the blob in a malloc'd *blob the caller frees), or
 * SESS_STORE_NOT_FOUND, or SESS_E_STORE_UNAVAILABLE (I/O error, corrupt). */
static sess_result read_record(const file_store *fs, const char *key, record_header *h,
                               unsigned char **blob)
{
    char path[PATH_LEN];
    FILE *f;
    sess_result rc = SESS_STORE_OK;
    if (blob)
        *blob = NULL;
    record_path(fs, key, ".sess", path);
    f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? SESS_STORE_NOT_FOUND : SESS_E_STORE_UNAVAILABLE;
    if (fread(h, sizeof *h, 1, f) != 1 || memcmp(h->magic, record_magic, sizeof record_magic) != 0
        || h->blob_len > MAX_BLOB) {
        rc = SESS_E_STORE_UNAVAILABLE;
    } else if (blob) {
        *blob = malloc(h->blob_len ? (size_t)h->blob_len : 1);
        if (!*blob)
            rc = SESS_E_OUTOFMEMORY;
        else if (h->blob_len && fread(*blob, (size_t)h->blob_len, 1, f) != 1)
            rc = SESS_E_STORE_UNAVAILABLE;
        if (rc < 0) {
            free(*blob);
            *blob = NULL;
        }
    }
    fclose(f);
    return rc;
}

/* Writes the record of `key` (header with blob_len set here, then the
 * blob) to its temp file, for write_record or fs_rename to rename. */
static sess_result write_temp(const file_store *fs, const char *key, record_header *h,
                              const void *blob, size_t len)
{
    char tmp[PATH_LEN];
    FILE *f;
    int ok;
    memcpy(h->magic, record_magic, sizeof record_magic);
    h->blob_len = len;
    record_path(fs, key, ".tmp", tmp);
    f = fopen(tmp, "wb");
    if (!f)
        return SESS_E_STORE_UNAVAILABLE;
    ok = fwrite(h, sizeof *h, 1, f) == 1 && (len == 0 || fwrite(blob, len, 1, f) == 1);
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        remove(tmp);
        return SESS_E_STORE_UNAVAILABLE;
    }
    return SESS_STORE_OK;
}

/* Writes the record of `key`: temp file, then rename over the old record. */
static sess_result write_record(const file_store *fs, const char *key, record_header *h,
                                const void *blob, size_t len)
{
    char tmp[PATH_LEN], path[PATH_LEN];
    sess_result rc = write_temp(fs, key, h, blob, len);
    record_path(fs, key, ".tmp", tmp);
    record_path(fs, key, ".sess", path);
    if (rc == SESS_STORE_OK && rename(tmp, path) != 0) {
        remove(tmp);
        rc = SESS_E_STORE_UNAVAILABLE;
    }
    return rc;
}

static sess_result delete_record(const file_store *fs, const char *key)
{
    char path[PATH_LEN];
    record_path(fs, key, ".sess", path);
    if (remove(path) == 0)
        return SESS_STORE_OK;
    return errno == ENOENT ? SESS_STORE_NOT_FOUND : SESS_E_STORE_UNAVAILABLE;
}

/* Whether a lock other than `token`'s is live at `now_ms`. */
static int locked_by_other(const file_store *fs, const record_header *h, uint64_t token,
                           uint64_t now_ms)
{
    return h->lock_token != 0 && h->lock_token != token
           && now_ms < h->locked_at_ms + fs->lock_ttl_ms;
}

/* Whether a name in the directory is a record: <32 hex>.sess */
static int is_record(const char *name, char *key)
{
    size_t n = strlen(name);
    if (n != KEY_LEN + 5 || strcmp(name + KEY_LEN, ".sess") != 0)
        return 0;
    memcpy(key, name, KEY_LEN);
    key[KEY_LEN] = '\0';
    return key_ok(key);
}

/* ---- the callbacks ------------------------------------------------------ */

static sess_result fs_get(void *context, const char *key, uint32_t flags, uint64_t lock_token,
                          uint64_t now_ms, sess_buffer *out_blob)
{
    file_store *fs = (file_store *)context;
    int exclusive = (flags & SESS_STORE_EXCLUSIVE) != 0;
    record_header h;
    unsigned char *blob = NULL;
    sess_result rc;
    if (!key_ok(key))
        return SESS_E_INVALIDARG;
    if ((rc = store_lock(fs)) < 0)
        return rc;
    rc = read_record(fs, key, &h, &blob);
    if (rc != SESS_STORE_OK)
        goto done;
    if (h.deadline_ms <= now_ms) {
        /* Expired. A request that may remove it claims it for OnEnd (copy
         * the blob out first: if that fails the record stays); a reader,
         * or a session another request still holds, just doesn't see it. */
        if (!exclusive || locked_by_other(fs, &h, lock_token, now_ms)) {
            rc = SESS_STORE_NOT_FOUND;
        } else if ((rc = out_blob->write(out_blob, blob, (size_t)h.blob_len)) >= 0) {
            rc = delete_record(fs, key);
            rc = rc == SESS_STORE_OK ? SESS_STORE_EXPIRED : rc;
        }
        goto done;
    }
    /* A live lock of another request: writers wait, and so do readers
     * (they take no lock, but do not read a session being changed). */
    if (locked_by_other(fs, &h, lock_token, now_ms)) {
        rc = SESS_STORE_LOCKED;
        goto done;
    }
    /* The blob first, the lock after: a failure leaves no lock behind. */
    if ((rc = out_blob->write(out_blob, blob, (size_t)h.blob_len)) < 0)
        goto done;
    if (exclusive) {
        h.lock_token = lock_token;
        h.locked_at_ms = now_ms;
        rc = write_record(fs, key, &h, blob, (size_t)h.blob_len);
    }
done:
    store_unlock(fs);
    free(blob);
    return rc;
}

static sess_result count_records(file_store *fs, uint64_t *out)
{
    DIR *d = opendir(fs->dir);
    struct dirent *e;
    char key[KEY_LEN + 1];
    uint64_t n = 0;
    if (!d)
        return SESS_E_STORE_UNAVAILABLE;
    while ((e = readdir(d)) != NULL)
        n += (uint64_t)is_record(e->d_name, key);
    closedir(d);
    *out = n;
    return SESS_STORE_OK;
}

static sess_result fs_create(void *context, const char *key, uint64_t lock_token,
                             uint64_t now_ms, uint64_t deadline_ms, uint64_t max_sessions,
                             const void *blob, size_t blob_len)
{
    file_store *fs = (file_store *)context;
    record_header h;
    uint64_t n = 0;
    sess_result rc;
    if (!key_ok(key))
        return SESS_E_INVALIDARG;
    if ((rc = store_lock(fs)) < 0)
        return rc;
    rc = read_record(fs, key, &h, NULL);
    if (rc == SESS_STORE_OK) {
        rc = SESS_STORE_EXISTS; /* even expired: it waits for its OnEnd */
    } else if (rc == SESS_STORE_NOT_FOUND) {
        /* max_sessions is UINT64_MAX when a session moves (regenerate). */
        if (max_sessions != UINT64_MAX && (rc = count_records(fs, &n)) >= 0
            && n >= max_sessions) {
            rc = SESS_E_TOO_MANY_SESSIONS;
        } else if (rc >= 0) {
            memset(&h, 0, sizeof h);
            h.deadline_ms = deadline_ms;
            h.lock_token = lock_token;
            h.locked_at_ms = now_ms;
            rc = write_record(fs, key, &h, blob, blob_len);
        }
    }
    store_unlock(fs);
    return rc;
}

static sess_result fs_set_and_release(void *context, const char *key, uint64_t lock_token,
                                      uint64_t deadline_ms, const void *blob, size_t blob_len)
{
    file_store *fs = (file_store *)context;
    record_header h;
    unsigned char *old = NULL;
    sess_result rc;
    if (!key_ok(key))
        return SESS_E_INVALIDARG;
    if ((rc = store_lock(fs)) < 0)
        return rc;
    /* blob NULL: unchanged, so keep the stored one. */
    rc = read_record(fs, key, &h, blob ? NULL : &old);
    if (rc == SESS_STORE_OK && h.lock_token != lock_token)
        rc = SESS_STORE_LOCKED; /* broken and taken by another: write nothing */
    if (rc == SESS_STORE_OK) {
        h.deadline_ms = deadline_ms;
        h.lock_token = 0;
        h.locked_at_ms = 0;
        rc = blob ? write_record(fs, key, &h, blob, blob_len)
                  : write_record(fs, key, &h, old, (size_t)h.blob_len);
    }
    store_unlock(fs);
    free(old);
    return rc;
}

static sess_result fs_release(void *context, const char *key, uint64_t lock_token)
{
    file_store *fs = (file_store *)context;
    record_header h;
    unsigned char *blob = NULL;
    sess_result rc;
    if (!key_ok(key))
        return SESS_E_INVALIDARG;
    if ((rc = store_lock(fs)) < 0)
        return rc;
    rc = read_record(fs, key, &h, &blob);
    if (rc == SESS_STORE_OK && h.lock_token != lock_token)
        rc = SESS_STORE_LOCKED;
    if (rc == SESS_STORE_OK) {
        h.lock_token = 0;
        h.locked_at_ms = 0;
        rc = write_record(fs, key, &h, blob, (size_t)h.blob_len);
    }
    store_unlock(fs);
    free(blob);
    return rc;
}

static sess_result fs_remove(void *context, const char *key, uint64_t lock_token)
{
    file_store *fs = (file_store *)context;
    record_header h;
    sess_result rc;
    if (!key_ok(key))
        return SESS_E_INVALIDARG;
    if ((rc = store_lock(fs)) < 0)
        return rc;
    rc = read_record(fs, key, &h, NULL);
    if (rc == SESS_STORE_OK && h.lock_token != lock_token)
        rc = SESS_STORE_LOCKED;
    if (rc == SESS_STORE_OK)
        rc = delete_record(fs, key);
    store_unlock(fs);
    return rc;
}

/* Moves a session to a new key (regenerate_id) under the store lock, so no
 * other thread or process sees it under both keys or neither: the new
 * record is written to its temp file first (what can fail for want of
 * space fails before anything moves), then one rename(2) moves the old
 * record to the new key (from then on the old ID is dead), and one more
 * puts the new record over it. A crash between the two renames leaves the
 * new key holding the old blob, which the library refuses (it names the
 * old key): that session is lost, but the old ID, which regenerate_id is
 * there to kill, never works again. */
static sess_result fs_rename(void *context, const char *old_key, const char *new_key,
                             uint64_t lock_token, uint64_t now_ms, uint64_t deadline_ms,
                             const void *blob, size_t blob_len)
{
    file_store *fs = (file_store *)context;
    record_header h;
    char from[PATH_LEN], to[PATH_LEN], tmp[PATH_LEN];
    sess_result rc;
    if (!key_ok(old_key) || !key_ok(new_key))
        return SESS_E_INVALIDARG;
    if ((rc = store_lock(fs)) < 0)
        return rc;
    rc = read_record(fs, new_key, &h, NULL);
    if (rc == SESS_STORE_OK) {
        rc = SESS_STORE_EXISTS;
    } else if (rc == SESS_STORE_NOT_FOUND) {
        rc = read_record(fs, old_key, &h, NULL);
        if (rc == SESS_STORE_OK && h.lock_token != lock_token)
            rc = SESS_STORE_LOCKED;
    }
    record_path(fs, old_key, ".sess", from);
    record_path(fs, new_key, ".sess", to);
    record_path(fs, new_key, ".tmp", tmp);
    if (rc == SESS_STORE_OK) {
        h.deadline_ms = deadline_ms;
        h.lock_token = lock_token;
        h.locked_at_ms = now_ms;
        rc = write_temp(fs, new_key, &h, blob, blob_len);
    }
    if (rc == SESS_STORE_OK && rename(from, to) != 0) {
        remove(tmp);
        rc = SESS_E_STORE_UNAVAILABLE; /* nothing moved */
    }
    if (rc == SESS_STORE_OK && rename(tmp, to) != 0)
        rc = SESS_E_STORE_UNAVAILABLE; /* lost, as after a crash there */
    store_unlock(fs);
    return rc;
}

static sess_result fs_reset_timeout(void *context, const char *key, uint64_t deadline_ms)
{
    file_store *fs = (file_store *)context;
    record_header h;
    unsigned char *blob = NULL;
    sess_result rc;
    if (!key_ok(key))
        return SESS_E_INVALIDARG;
    if ((rc = store_lock(fs)) < 0)
        return rc;
    rc = read_record(fs, key, &h, &blob);
    if (rc == SESS_STORE_OK) {
        h.deadline_ms = deadline_ms;
        rc = write_record(fs, key, &h, blob, (size_t)h.blob_len);
    }
    store_unlock(fs);
    free(blob);
    return rc;
}

/* Claims expired sessions not in use: copies each one's blob to `out`, then
 * deletes its record, all under the store lock, so each is claimed once
 * even with several processes sweeping. A scan of the whole directory:
 * fine for an example; a real store keeps its sessions ordered by deadline. */
static sess_result fs_list_expired(void *context, uint64_t now_ms, size_t max,
                                   sess_buffer_list *out)
{
    file_store *fs = (file_store *)context;
    DIR *d;
    struct dirent *e;
    char key[KEY_LEN + 1];
    size_t claimed = 0;
    sess_result rc;
    if ((rc = store_lock(fs)) < 0)
        return rc;
    d = opendir(fs->dir);
    if (!d) {
        store_unlock(fs);
        return SESS_E_STORE_UNAVAILABLE;
    }
    while (claimed < max && (e = readdir(d)) != NULL) {
        record_header h;
        unsigned char *blob = NULL;
        if (!is_record(e->d_name, key) || read_record(fs, key, &h, &blob) != SESS_STORE_OK)
            continue; /* not a record, or gone meanwhile, or unreadable */
        if (h.deadline_ms <= now_ms && !locked_by_other(fs, &h, 0, now_ms)) {
            /* The list refuses it (full, too big): keep the record. The
             * record stays (removing it failed): take its blob back, or it
             * would get Session_OnEnd while still stored. */
            if (out->add(out, blob, (size_t)h.blob_len) >= 0) {
                if (delete_record(fs, key) >= 0)
                    claimed++;
                else
                    out->truncate(out, claimed);
            }
        }
        free(blob);
    }
    closedir(d);
    store_unlock(fs);
    return SESS_STORE_OK;
}

static sess_result fs_count(void *context, uint64_t *out_count)
{
    file_store *fs = (file_store *)context;
    sess_result rc;
    if ((rc = store_lock(fs)) < 0)
        return rc;
    rc = count_records(fs, out_count);
    store_unlock(fs);
    return rc;
}

/* The library is done with the store: close it. */
static void fs_destroy(void *context)
{
    file_store *fs = (file_store *)context;
    pthread_mutex_lock(&store_mutex); /* no operation of ours is half done */
    close(fs->lock_fd);
    pthread_mutex_unlock(&store_mutex);
    free(fs);
}

/* Opens a file store on `dir` (an existing directory) and fills `*vtbl`
 * (sess_store_vtbl_init's work, done by hand so a plugin needs no libsess
 * symbol). The store's context is freed by the vtable's destroy, which the
 * application calls when it is gone; call it yourself only if
 * sess_app_create fails. */
sess_result file_store_open(const char *dir, uint64_t lock_ttl_ms, sess_store_vtbl *vtbl)
{
    file_store *fs;
    char path[PATH_LEN];
    if (!dir || !vtbl)
        return SESS_E_POINTER;
    if (strlen(dir) >= DIR_LEN)
        return SESS_E_INVALIDARG;
    fs = (file_store *)calloc(1, sizeof *fs);
    if (!fs)
        return SESS_E_OUTOFMEMORY;
    snprintf(fs->dir, sizeof fs->dir, "%s", dir);
    snprintf(path, sizeof path, "%s/.lock", dir);
    fs->lock_fd = open(path, O_RDWR | O_CREAT, 0600);
    if (fs->lock_fd < 0) {
        free(fs);
        return SESS_E_STORE_UNAVAILABLE;
    }
    fs->lock_ttl_ms = lock_ttl_ms;
    memset(vtbl, 0, sizeof *vtbl);
    vtbl->struct_size = (uint32_t)sizeof *vtbl;
    vtbl->context = fs;
    vtbl->get = fs_get;
    vtbl->create = fs_create;
    vtbl->set_and_release = fs_set_and_release;
    vtbl->release = fs_release;
    vtbl->remove = fs_remove;
    vtbl->reset_timeout = fs_reset_timeout;
    vtbl->list_expired = fs_list_expired;
    vtbl->count = fs_count;
    vtbl->destroy = fs_destroy;
    vtbl->rename = fs_rename;
    return SESS_S_OK;
}

/* Test hook: while `down`, every callback fails with
 * SESS_E_STORE_UNAVAILABLE, as if the disk (or database) were gone. */
void file_store_set_down(void *context, int down)
{
    file_store *fs = (file_store *)context;
    pthread_mutex_lock(&store_mutex);
    fs->down = down;
    pthread_mutex_unlock(&store_mutex);
}

#ifndef CUSTOM_STORE_NO_MAIN
/* ======================================================================== */
/* The checks                                                               */

#include <time.h>

#include "check.h"
#include "object.h"

#define LOCK_TTL_MS 60000u
#define LOCK_TIMEOUT_MS 200u
#define MINUTES(m) ((uint64_t)(m) * 60000u)
#define SECONDS(s) ((uint64_t)(s) * 1000u)

/* The simulated clock (the apps' time; the store judges deadlines and lock
 * TTLs by it). Moved only while no other thread runs. */
static uint64_t clock_ms = 1700000000000u;

static uint64_t read_clock(void *context)
{
    return *(const uint64_t *)context;
}

/* Session_OnEnd's log. */
typedef struct events {
    pthread_mutex_t lock;
    int ends;
    char last_user[64]; /* Session("UserName") as the last OnEnd read it */
    size_t last_count;  /* Contents.Count, likewise */
} events;

static events ev = {PTHREAD_MUTEX_INITIALIZER, 0, "", 0};

static void on_end(void *context, sess_session *s)
{
    events *e = (events *)context;
    sess_variant v;
    size_t n = 0;
    sess_variant_init(&v);
    sess_value_get(s, "UserName", &v);
    sess_contents_count(s, &n);
    pthread_mutex_lock(&e->lock);
    e->ends++;
    snprintf(e->last_user, sizeof e->last_user, "%s",
             v.vt == SESS_VT_BSTR && v.v.bstrVal.ptr ? v.v.bstrVal.ptr : "");
    e->last_count = n;
    pthread_mutex_unlock(&e->lock);
    sess_variant_clear(&v);
}

static int ends(void)
{
    int n;
    pthread_mutex_lock(&ev.lock);
    n = ev.ends;
    pthread_mutex_unlock(&ev.lock);
    return n;
}

/* destroy, counted: the application wraps the store's own. */
static int destroyed;
static void (*inner_destroy)(void *);
static void counting_destroy(void *context)
{
    destroyed++;
    inner_destroy(context);
}

/* How often the library moved a session with the store's rename. */
static int renames;
static sess_store_rename_fn inner_rename;
static sess_result counting_rename(void *context, const char *old_key, const char *new_key,
                                   uint64_t lock_token, uint64_t now_ms, uint64_t deadline_ms,
                                   const void *blob, size_t blob_len)
{
    renames++;
    return inner_rename(context, old_key, new_key, lock_token, now_ms, deadline_ms, blob,
                        blob_len);
}

/* An application on the file store in `dir`; *ctx receives the store's
 * context (for the test hook). */
static sess_app *open_app(const char *dir, uint32_t lock_timeout_ms, void **ctx)
{
    sess_app_options opts;
    sess_store_vtbl vtbl;
    sess_app *app = NULL;
    CHECK_HR(sess_app_options_init(&opts), SESS_S_OK);
    CHECK_HR(file_store_open(dir, LOCK_TTL_MS, &vtbl), SESS_S_OK);
    inner_destroy = vtbl.destroy;
    vtbl.destroy = counting_destroy;
    inner_rename = vtbl.rename;
    vtbl.rename = counting_rename;
    opts.store = &vtbl; /* copied by sess_app_create: a local is fine */
    opts.clock = read_clock;
    opts.clock_context = &clock_ms;
    opts.expiry_interval_ms = 0; /* expiry only when sess_app_expire is called */
    opts.lock_timeout_ms = lock_timeout_ms;
    opts.on_end = on_end;
    opts.event_context = &ev;
    if (CHECK_HR(sess_app_create(&opts, &app), SESS_S_OK) == 0)
        vtbl.destroy(vtbl.context); /* not created: the store is still ours */
    if (ctx)
        *ctx = vtbl.context;
    return app;
}

static size_t stored(sess_app *app)
{
    size_t n = (size_t)-1;
    CHECK_HR(sess_app_session_count(app, &n), SESS_S_OK);
    return n;
}

static size_t expire(sess_app *app)
{
    size_t n = (size_t)-1;
    CHECK_HR(sess_app_expire(app, &n), SESS_S_OK);
    return n;
}

static void set_text(sess_session *s, const char *name, const char *text)
{
    sess_variant v;
    sess_variant_init(&v);
    CHECK_HR(sess_variant_set_bstr(&v, text, SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_value_set(s, name, &v), SESS_S_OK);
    sess_variant_clear(&v);
}

static void set_i4(sess_session *s, const char *name, int32_t x)
{
    sess_variant v;
    sess_variant_init(&v);
    v.vt = SESS_VT_I4;
    v.v.lVal = x;
    CHECK_HR(sess_value_set(s, name, &v), SESS_S_OK);
}

static int32_t get_i4(sess_session *s, const char *name)
{
    sess_variant v;
    sess_variant_init(&v);
    CHECK_HR(sess_value_get(s, name, &v), SESS_S_OK);
    CHECK(v.vt == SESS_VT_I4);
    return v.vt == SESS_VT_I4 ? v.v.lVal : -1;
}

static int text_is(sess_session *s, const char *name, const char *text)
{
    sess_variant v;
    int ok;
    sess_variant_init(&v);
    CHECK_HR(sess_value_get(s, name, &v), SESS_S_OK);
    ok = bstr_is(&v, text);
    sess_variant_clear(&v);
    return ok;
}

/* A new stored session with UserName = user (and Timeout, if minutes > 0);
 * its ID in id. */
static void new_session(sess_app *app, const char *user, int32_t minutes, char *id)
{
    sess_session *s = NULL;
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    set_text(s, "UserName", user);
    if (minutes > 0)
        CHECK_HR(sess_timeout(s, &minutes, NULL), SESS_S_OK);
    CHECK_HR(sess_session_id(s, id, SESS_ID_LEN + 1, NULL), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
}

/* Whether any name in `dir` contains `text`. */
static int dir_mentions(const char *dir, const char *text)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL)
        found |= strstr(e->d_name, text) != NULL;
    closedir(d);
    return found;
}

/* Removes every file in `dir`, then `dir`: fails if anything is left. */
static int remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_LEN];
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        remove(path);
    }
    closedir(d);
    return rmdir(dir) == 0;
}

static double elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1000.0
           + (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

/* ---- the suite ---------------------------------------------------------- */

static void values_survive_the_store(sess_app *app, const char *dir)
{
    sess_session *s = NULL;
    sess_variant v;
    char id[SESS_ID_LEN + 1], key[64];
    size_t n = 0, len = 0;
    uint32_t mode = 0;
    bool is_new = true;
    double pi = 3.25;

    printf("create, write, read back\n");
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    CHECK_HR(sess_session_mode(s, &mode), SESS_S_OK);
    CHECK(mode == SESS_MODE_CUSTOM);
    set_text(s, "UserName", "Chris");
    set_i4(s, "b", 2);
    set_i4(s, "A", 1);
    set_i4(s, "c", 3);
    sess_variant_init(&v);
    v.vt = SESS_VT_R8;
    v.v.dblVal = pi;
    CHECK_HR(sess_value_set(s, "Pi", &v), SESS_S_OK);
    CHECK_HR(sess_session_id(s, id, sizeof id, NULL), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    CHECK(stored(app) == 1);
    /* One record, named by a hash of the ID: never the cookie value. */
    CHECK(!dir_mentions(dir, id));

    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK);
    CHECK_HR(sess_session_is_new(s, &is_new), SESS_S_OK);
    CHECK(!is_new);
    CHECK(text_is(s, "username", "Chris")); /* keys: any case */
    CHECK(get_i4(s, "a") == 1);
    CHECK_HR(sess_value_get(s, "PI", &v), SESS_S_OK);
    CHECK(v.vt == SESS_VT_R8 && v.v.dblVal == pi);
    CHECK_HR(sess_value_get(s, "missing", &v), SESS_S_FALSE);
    CHECK(v.vt == SESS_VT_EMPTY);
    /* Insertion order, original spelling. */
    CHECK_HR(sess_contents_count(s, &n), SESS_S_OK);
    CHECK(n == 5);
    CHECK_HR(sess_contents_key_at(s, 2, key, sizeof key, &len), SESS_S_OK);
    CHECK(strcmp(key, "A") == 0);
    /* Remove shifts later items down; the change is saved. */
    CHECK_HR(sess_contents_remove(s, "B"), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);

    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK);
    CHECK_HR(sess_contents_count(s, &n), SESS_S_OK);
    CHECK(n == 4);
    CHECK_HR(sess_contents_key_at(s, 1, key, sizeof key, &len), SESS_S_OK);
    CHECK(strcmp(key, "A") == 0);
    CHECK_HR(sess_contents_key_at(s, 2, key, sizeof key, &len), SESS_S_OK);
    CHECK(strcmp(key, "c") == 0);
    /* Discard: nothing of this unit of work is kept. */
    set_i4(s, "A", 100);
    CHECK_HR(sess_session_discard(s), SESS_S_OK);
    CHECK_HR(sess_session_open(app, id, SESS_OPEN_READONLY, &s), SESS_S_OK);
    CHECK(get_i4(s, "A") == 1);
    CHECK_HR(sess_session_close(s), SESS_S_OK);

    /* A new session nothing was written to is not stored. */
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    CHECK(stored(app) == 1);
}

static void objects_are_refused(sess_app *app)
{
    sess_session *s = NULL;
    sess_variant v;
    demo_object *o = demo_new("kept at home");
    printf("objects stay in their process\n");
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    sess_variant_init(&v);
    v.vt = SESS_VT_UNKNOWN;
    v.v.punkVal = &o->base;
    CHECK_HR(sess_value_set(s, "obj", &v), SESS_E_NOT_SERIALIZABLE);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    demo_release(&o->base);
    CHECK(demo_alive() == 0);
}

static void abandon_runs_on_end(sess_app *app)
{
    sess_session *s = NULL;
    char id[SESS_ID_LEN + 1];
    int before = ends();
    size_t count = stored(app);
    printf("Abandon, then Session_OnEnd with the contents\n");
    new_session(app, "Julie", 0, id);
    CHECK(stored(app) == count + 1);
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK);
    set_i4(s, "intUserAge", 23);
    CHECK_HR(sess_abandon(s), SESS_S_OK);
    CHECK(get_i4(s, "intUserAge") == 23); /* readable until the page ends */
    CHECK(ends() == before);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    CHECK(ends() == before + 1);
    pthread_mutex_lock(&ev.lock);
    CHECK(strcmp(ev.last_user, "Julie") == 0 && ev.last_count == 2);
    pthread_mutex_unlock(&ev.lock);
    CHECK(stored(app) == count);
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_E_SESSION_NOT_FOUND);
}

static void expiry_runs_on_end_once(sess_app *app)
{
    sess_session *s = NULL;
    char slid[SESS_ID_LEN + 1], idle[SESS_ID_LEN + 1];
    int before = ends();
    size_t count = stored(app);
    printf("expiry on a simulated clock, OnEnd exactly once\n");
    new_session(app, "Slider", 1, slid);
    new_session(app, "Idle", 1, idle);
    CHECK(expire(app) == 0);

    /* A read-only request slides the expiry too. */
    clock_ms += SECONDS(50);
    CHECK_HR(sess_session_open(app, slid, SESS_OPEN_READONLY, &s), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    clock_ms += SECONDS(20); /* idle: 70 s since its last request */
    CHECK(expire(app) == 1);
    CHECK(ends() == before + 1);
    pthread_mutex_lock(&ev.lock);
    CHECK(strcmp(ev.last_user, "Idle") == 0 && ev.last_count == 1);
    pthread_mutex_unlock(&ev.lock);
    CHECK(expire(app) == 0); /* exactly once */
    CHECK_HR(sess_session_open(app, idle, 0, &s), SESS_E_SESSION_NOT_FOUND);

    /* A request that finds its session expired ends it on the way. */
    clock_ms += SECONDS(41);
    CHECK_HR(sess_session_open(app, slid, SESS_OPEN_READONLY, &s), SESS_E_SESSION_NOT_FOUND);
    CHECK(ends() == before + 1); /* a reader does not remove it */
    CHECK_HR(sess_session_open(app, slid, 0, &s), SESS_E_SESSION_NOT_FOUND);
    CHECK(ends() == before + 2);
    pthread_mutex_lock(&ev.lock);
    CHECK(strcmp(ev.last_user, "Slider") == 0);
    pthread_mutex_unlock(&ev.lock);
    CHECK(expire(app) == 0);
    CHECK(stored(app) == count);
}

static void readonly_units(sess_app *app)
{
    sess_session *w = NULL, *r1 = NULL, *r2 = NULL;
    char id[SESS_ID_LEN + 1];
    sess_variant v;
    bool ro = false;
    printf("read-only units\n");
    new_session(app, "Reader", 0, id);
    /* Readers take no lock: many at once, and a writer beside them. */
    CHECK_HR(sess_session_open(app, id, SESS_OPEN_READONLY, &r1), SESS_S_OK);
    CHECK_HR(sess_session_open(app, id, SESS_OPEN_READONLY, &r2), SESS_S_OK);
    CHECK_HR(sess_session_open(app, id, 0, &w), SESS_S_OK);
    set_text(w, "UserName", "Writer");
    CHECK_HR(sess_session_is_readonly(r1, &ro), SESS_S_OK);
    CHECK(ro);
    CHECK(text_is(r1, "UserName", "Reader"));
    sess_variant_init(&v);
    v.vt = SESS_VT_I4;
    v.v.lVal = 1;
    CHECK_HR(sess_value_set(r1, "x", &v), SESS_E_READONLY);
    CHECK_HR(sess_session_regenerate_id(r2), SESS_E_READONLY);
    CHECK_HR(sess_session_close(r1), SESS_S_OK);
    CHECK_HR(sess_session_close(r2), SESS_S_OK);
    /* But a reader waits for a writer (and times out like one). */
    CHECK_HR(sess_session_open(app, id, SESS_OPEN_READONLY, &r1), SESS_E_LOCK_TIMEOUT);
    CHECK_HR(sess_session_close(w), SESS_S_OK);
    CHECK_HR(sess_session_open(app, id, SESS_OPEN_READONLY, &r1), SESS_S_OK);
    CHECK(text_is(r1, "UserName", "Writer"));
    CHECK_HR(sess_session_close(r1), SESS_S_OK);
}

static void lock_contention(sess_app *app, void *ctx)
{
    sess_session *a = NULL, *b = NULL;
    char id[SESS_ID_LEN + 1];
    struct timespec t0;
    printf("lock contention, and a lock left behind freed by its TTL\n");
    new_session(app, "Busy", 0, id);
    CHECK_HR(sess_session_open(app, id, 0, &a), SESS_S_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_HR(sess_session_open(app, id, 0, &b), SESS_E_LOCK_TIMEOUT);
    CHECK(elapsed_ms(&t0) >= LOCK_TIMEOUT_MS * 0.9);
    set_i4(a, "n", 1);
    CHECK_HR(sess_session_close(a), SESS_S_OK);
    CHECK_HR(sess_session_open(app, id, 0, &b), SESS_S_OK);
    CHECK(get_i4(b, "n") == 1);

    /* The store fails as this request ends: its save and its unlock are
     * lost, so the session stays locked, as if the process had died. */
    set_i4(b, "n", 2);
    file_store_set_down(ctx, 1);
    CHECK_HR(sess_session_close(b), SESS_E_STORE_UNAVAILABLE);
    file_store_set_down(ctx, 0);
    CHECK_HR(sess_session_open(app, id, 0, &a), SESS_E_LOCK_TIMEOUT);
    /* Past the lock TTL the next request breaks the stale lock. */
    clock_ms += LOCK_TTL_MS + 1;
    CHECK_HR(sess_session_open(app, id, 0, &a), SESS_S_OK);
    CHECK(get_i4(a, "n") == 1); /* the lost save never landed */
    CHECK_HR(sess_session_close(a), SESS_S_OK);
}

static void store_failures(sess_app *app, void *ctx)
{
    sess_session *s = NULL;
    size_t n;
    char id[SESS_ID_LEN + 1];
    sess_variant v;
    printf("the store down, then back\n");
    new_session(app, "Patient", 0, id);
    file_store_set_down(ctx, 1);
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_E_STORE_UNAVAILABLE);
    CHECK_HR(sess_session_open(app, id, SESS_OPEN_READONLY, &s), SESS_E_STORE_UNAVAILABLE);
    /* A new session: the write that would store it fails, nothing kept. */
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    sess_variant_init(&v);
    v.vt = SESS_VT_I4;
    v.v.lVal = 5;
    CHECK_HR(sess_value_set(s, "x", &v), SESS_E_STORE_UNAVAILABLE);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    /* A sweep or a count during the outage says so (no hidden 0). */
    n = (size_t)-1;
    CHECK_HR(sess_app_expire(app, &n), SESS_E_STORE_UNAVAILABLE);
    CHECK_HR(sess_app_session_count(app, &n), SESS_E_STORE_UNAVAILABLE);
    CHECK(n == (size_t)-1);
    file_store_set_down(ctx, 0);
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK);
    CHECK(text_is(s, "UserName", "Patient"));
    CHECK_HR(sess_session_close(s), SESS_S_OK);
}

static void regenerate(sess_app *app, const char *dir)
{
    sess_session *s = NULL;
    char old_id[SESS_ID_LEN + 1], new_id[SESS_ID_LEN + 1];
    size_t count = stored(app);
    int moves = renames;
    printf("regenerate: new ID, same contents, old ID dead\n");
    new_session(app, "Mover", 0, old_id);
    CHECK_HR(sess_session_open(app, old_id, 0, &s), SESS_S_OK);
    CHECK_HR(sess_session_regenerate_id(s), SESS_S_OK);
    CHECK(renames == moves + 1); /* the store's one step, not create + remove */
    CHECK_HR(sess_session_id(s, new_id, sizeof new_id, NULL), SESS_S_OK);
    CHECK(strcmp(old_id, new_id) != 0);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    CHECK_HR(sess_session_open(app, old_id, 0, &s), SESS_E_SESSION_NOT_FOUND);
    CHECK_HR(sess_session_open(app, new_id, 0, &s), SESS_S_OK);
    CHECK(text_is(s, "UserName", "Mover"));
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    CHECK(stored(app) == count + 1);
    CHECK(!dir_mentions(dir, new_id));
}

/* A login (a new ID) whose request then fails to save: the store moved
 * the session to the new ID and the old one is dead, so sess_request_end
 * still gives the new ID's cookie with its error, for the error page. */
static void regenerate_then_the_save_fails(sess_app *app, void *ctx)
{
    sess_site *site = NULL;
    sess_request_info info;
    sess_request *req = NULL;
    sess_session *s = NULL;
    sess_variant cookie;
    char old_id[SESS_ID_LEN + 1], new_id[SESS_ID_LEN + 1];
    char header[sizeof "ASPSESSIONID=" + SESS_ID_LEN], want[sizeof header];
    printf("a failed save after a new ID still sends the new ID's cookie\n");
    new_session(app, "Login", 0, old_id);
    snprintf(header, sizeof header, "ASPSESSIONID=%s", old_id);
    CHECK_HR(sess_site_create(&site), SESS_S_OK);
    CHECK_HR(sess_site_add(site, "/", app, NULL), SESS_S_OK);
    CHECK_HR(sess_request_info_init(&info), SESS_S_OK);
    info.path = "/login";
    info.cookie_header = header;
    info.cookie_header_len = strlen(header);
    CHECK_HR(sess_request_begin(site, &info, &req), SESS_S_OK);
    CHECK_HR(sess_request_session(req, 0, &s), SESS_S_OK);
    CHECK_HR(sess_session_regenerate_id(s), SESS_S_OK);
    CHECK_HR(sess_session_id(s, new_id, sizeof new_id, NULL), SESS_S_OK);
    file_store_set_down(ctx, 1);
    sess_variant_init(&cookie);
    CHECK_HR(sess_request_end(req, false, &cookie), SESS_E_STORE_UNAVAILABLE);
    file_store_set_down(ctx, 0);
    snprintf(want, sizeof want, "ASPSESSIONID=%s", new_id);
    CHECK(cookie.vt == SESS_VT_BSTR
          && strncmp(cookie.v.bstrVal.ptr, want, strlen(want)) == 0
          && cookie.v.bstrVal.ptr[strlen(want)] == ';');
    sess_variant_clear(&cookie);
    sess_site_release(site);
    /* The session lives on under the new ID (its lost unlock freed by
     * the lock TTL), the old ID dead. */
    clock_ms += LOCK_TTL_MS + 1;
    CHECK_HR(sess_session_open(app, old_id, 0, &s), SESS_E_SESSION_NOT_FOUND);
    CHECK_HR(sess_session_open(app, new_id, 0, &s), SESS_S_OK);
    CHECK(text_is(s, "UserName", "Login"));
    CHECK_HR(sess_session_close(s), SESS_S_OK);
}

/* Two applications on one directory: two processes of a web farm. */
typedef struct counter_job {
    sess_app *app;
    const char *id;
    int rounds;
} counter_job;

static void *count_up(void *arg)
{
    counter_job *job = (counter_job *)arg;
    int i;
    for (i = 0; i < job->rounds; i++) {
        sess_session *s = NULL;
        if (CHECK_HR(sess_session_open(job->app, job->id, 0, &s), SESS_S_OK)) {
            set_i4(s, "counter", get_i4(s, "counter") + 1);
            CHECK_HR(sess_session_close(s), SESS_S_OK);
        }
    }
    return NULL;
}

static void farm(const char *dir)
{
    void *ctx = NULL;
    sess_app *a = open_app(dir, 10000, &ctx), *b = open_app(dir, 10000, &ctx);
    sess_session *s = NULL;
    char id[SESS_ID_LEN + 1];
    pthread_t ta, tb;
    counter_job ja, jb;
    int before = destroyed;
    printf("two applications sharing the directory, counting from two threads\n");
    if (!a || !b)
        return;
    CHECK_HR(sess_session_create(a, &s), SESS_S_OK);
    set_i4(s, "counter", 0);
    CHECK_HR(sess_session_id(s, id, sizeof id, NULL), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    ja.app = a;
    jb.app = b;
    ja.id = jb.id = id;
    ja.rounds = jb.rounds = 50;
    CHECK(pthread_create(&ta, NULL, count_up, &ja) == 0);
    CHECK(pthread_create(&tb, NULL, count_up, &jb) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK_HR(sess_session_open(b, id, SESS_OPEN_READONLY, &s), SESS_S_OK);
    CHECK(get_i4(s, "counter") == 100);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    /* Releasing an application leaves the sessions to the others. */
    sess_app_release(a);
    CHECK(destroyed == before + 1);
    CHECK_HR(sess_session_open(b, id, 0, &s), SESS_S_OK);
    CHECK_HR(sess_abandon(s), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
    CHECK(stored(b) == 0);
    sess_app_release(b);
    CHECK(destroyed == before + 2);
}

/* A record whose blob is not a session: a clear error, the lock given back. */
static void corrupt_record(const char *dir)
{
    sess_app *app = open_app(dir, LOCK_TIMEOUT_MS, NULL);
    sess_session *s = NULL;
    char id[SESS_ID_LEN + 1], key[KEY_LEN + 1], path[PATH_LEN];
    DIR *d;
    struct dirent *e;
    FILE *f;
    printf("a corrupt record\n");
    if (!app)
        return;
    new_session(app, "Doomed", 0, id);
    d = opendir(dir);
    CHECK(d != NULL);
    path[0] = '\0';
    while (d && (e = readdir(d)) != NULL)
        if (is_record(e->d_name, key))
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (d)
        closedir(d);
    f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (f) {
        /* Keep the header and the blob's key hash (its first 18 bytes);
         * scribble over what follows, the ID slot and the session's first
         * bytes (0xC1 is the one byte MessagePack never uses). */
        CHECK(fseek(f, (long)sizeof(record_header) + 18, SEEK_SET) == 0);
        CHECK(fwrite("\xC1\xC1\xC1\xC1", 4, 1, f) == 1);
        fclose(f);
    }
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_E_STORE_UNAVAILABLE);
    /* Not SESS_E_LOCK_TIMEOUT: the failed open released its lock. */
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_E_STORE_UNAVAILABLE);
    CHECK_HR(sess_session_open(app, id, SESS_OPEN_READONLY, &s), SESS_E_STORE_UNAVAILABLE);
    sess_app_release(app);
}

static void vtable_contract(const char *dir)
{
    sess_app_options opts;
    sess_store_vtbl vtbl;
    sess_app *app = NULL;
    int before = destroyed;
    printf("the vtable's own contract\n");
    CHECK_HR(sess_store_vtbl_init(NULL), SESS_E_POINTER);
    CHECK_HR(sess_buffer_write(NULL, "x", 1), SESS_E_POINTER);
    CHECK_HR(sess_buffer_list_add(NULL, "x", 1), SESS_E_POINTER);
    CHECK_HR(sess_buffer_list_truncate(NULL, 0), SESS_E_POINTER);
    CHECK_HR(sess_store_vtbl_init(&vtbl), SESS_S_OK);
    CHECK(vtbl.struct_size == sizeof vtbl && vtbl.get == NULL && vtbl.context == NULL);
    CHECK_HR(sess_app_options_init(&opts), SESS_S_OK);
    /* A required callback missing: refused, and the store stays the host's. */
    CHECK_HR(file_store_open(dir, LOCK_TTL_MS, &vtbl), SESS_S_OK);
    inner_destroy = vtbl.destroy;
    vtbl.destroy = counting_destroy;
    vtbl.list_expired = NULL;
    opts.store = &vtbl;
    CHECK_HR(sess_app_create(&opts, &app), SESS_E_POINTER);
    CHECK(app == NULL && destroyed == before);
    /* rename's refusals change nothing. */
    {
        static const char a[] = "0123456789abcdef0123456789abcdef";
        static const char b[] = "fedcba9876543210fedcba9876543210";
        static const char c[] = "00000000000000000000000000000000";
        static const char d[] = "11111111111111111111111111111111";
        record_header h;
        CHECK_HR(vtbl.create(vtbl.context, a, 7, 0, MINUTES(1), UINT64_MAX, "A", 1),
                 SESS_STORE_OK);
        CHECK_HR(vtbl.create(vtbl.context, b, 8, 0, MINUTES(1), UINT64_MAX, "B", 1),
                 SESS_STORE_OK);
        CHECK_HR(vtbl.rename(vtbl.context, a, b, 7, 0, MINUTES(2), "x", 1), SESS_STORE_EXISTS);
        CHECK_HR(vtbl.rename(vtbl.context, a, c, 8, 0, MINUTES(2), "x", 1), SESS_STORE_LOCKED);
        CHECK_HR(vtbl.rename(vtbl.context, d, c, 7, 0, MINUTES(2), "x", 1),
                 SESS_STORE_NOT_FOUND);
        CHECK_HR(read_record(vtbl.context, c, &h, NULL), SESS_STORE_NOT_FOUND);
        CHECK_HR(read_record(vtbl.context, a, &h, NULL), SESS_STORE_OK);
        CHECK(h.lock_token == 7 && h.deadline_ms == MINUTES(1) && h.blob_len == 1);
        CHECK_HR(vtbl.rename(vtbl.context, a, c, 7, 5, MINUTES(2), "moved", 5), SESS_STORE_OK);
        CHECK_HR(read_record(vtbl.context, a, &h, NULL), SESS_STORE_NOT_FOUND);
        CHECK_HR(read_record(vtbl.context, c, &h, NULL), SESS_STORE_OK);
        CHECK(h.lock_token == 7 && h.locked_at_ms == 5 && h.deadline_ms == MINUTES(2));
        CHECK(h.blob_len == 5);
        CHECK_HR(vtbl.remove(vtbl.context, b, 8), SESS_STORE_OK);
        CHECK_HR(vtbl.remove(vtbl.context, c, 7), SESS_STORE_OK);
    }
    vtbl.destroy(vtbl.context);
    CHECK(destroyed == before + 1);
}

int main(void)
{
    char dir[] = "/tmp/sess-files-XXXXXX", dir2[] = "/tmp/sess-files-XXXXXX";
    void *ctx = NULL;
    sess_app *app;
    size_t left;
    if (!mkdtemp(dir) || !mkdtemp(dir2)) {
        perror("mkdtemp");
        return 1;
    }
    printf("file store in %s\n", dir);
    app = open_app(dir, LOCK_TIMEOUT_MS, &ctx);
    if (app) {
        values_survive_the_store(app, dir);
        objects_are_refused(app);
        abandon_runs_on_end(app);
        expiry_runs_on_end_once(app);
        readonly_units(app);
        lock_contention(app, ctx);
        store_failures(app, ctx);
        regenerate(app, dir);
        regenerate_then_the_save_fails(app, ctx);
        /* Releasing the application leaves its sessions in the store (other
         * processes may share it): no OnEnd; the store is destroyed once. */
        left = stored(app);
        CHECK(left == 6);
        {
            int e = ends(), d = destroyed;
            sess_app_release(app);
            CHECK(ends() == e && destroyed == d + 1);
        }
    }
    CHECK(remove_dir(dir)); /* only records and .lock were there */
    if (mkdtemp(strcpy(dir, "/tmp/sess-files-XXXXXX"))) {
        farm(dir);
        CHECK(remove_dir(dir));
    }
    corrupt_record(dir2);
    vtable_contract(dir2);
    CHECK(remove_dir(dir2));
    return check_summary();
}
#endif /* CUSTOM_STORE_NO_MAIN */
