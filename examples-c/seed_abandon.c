/*
 * seed_abandon.c: the ASP reference's Abandon and Session_OnEnd examples.
 *
 *   Session("intUserAge") = 23
 *   Session.Abandon
 *   ' The current line successfully retrieves the value of intUserAge.
 *   intAgeCategory = CInt(Session("intUserAge") / 10)
 *   [...End of Script. Session information is removed from web memory now...]
 *
 * Abandon only marks the session: the contents stay readable until the
 * unit of work ends. Closing it then runs Session_OnEnd, which can still
 * read the contents (the reference's OnEnd writes SessionVar1 to a log
 * file). After that the ID is dead: where ASP would start a new session
 * under the same SessionID, libsess issues a new ID.
 */
#include "check.h"

#include <pthread.h>

/* What Session_OnEnd wrote to its "log file". */
typedef struct log_file {
    pthread_mutex_t lock;
    int ends;
    int abandoned;      /* IsAbandoned, as OnEnd saw it */
    char line[128];     /* SessionVar1 and intUserAge, as OnEnd read them */
} log_file;

/* Sub Session_OnEnd: ts.Write Session("SessionVar1") */
static void on_end(void *context, sess_session *s)
{
    log_file *log = (log_file *)context;
    sess_variant pref, age;
    bool abandoned = false;
    char a[64], b[64];
    sess_variant_init(&pref);
    sess_variant_init(&age);
    sess_value_get(s, "SessionVar1", &pref);
    sess_value_get(s, "intUserAge", &age);
    sess_session_is_abandoned(s, &abandoned);
    pthread_mutex_lock(&log->lock);
    log->ends++;
    log->abandoned = abandoned;
    snprintf(log->line, sizeof log->line, "SessionVar1=%s intUserAge=%s",
             show(&pref, a, sizeof a), show(&age, b, sizeof b));
    pthread_mutex_unlock(&log->lock);
    sess_variant_clear(&pref);
    sess_variant_clear(&age);
}

static int log_ends(log_file *log, char *line, size_t len)
{
    int n;
    pthread_mutex_lock(&log->lock);
    n = log->ends;
    snprintf(line, len, "%s", log->line);
    pthread_mutex_unlock(&log->lock);
    return n;
}

/* SessionAbandonPage1.asp: the user's preferences are stored. */
static void page1(sess_app *app, char *id, size_t id_len)
{
    sess_session *s = NULL;
    sess_variant v;
    printf("Page 1: Session(\"SessionVar1\") = \"large print\", Session(\"intUserAge\") = 23\n");
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    sess_variant_init(&v);
    CHECK_HR(sess_variant_set_bstr(&v, "large print", SIZE_MAX), SESS_S_OK);
    CHECK_HR(sess_value_set(s, "SessionVar1", &v), SESS_S_OK);
    CHECK_HR(sess_variant_clear(&v), SESS_S_OK);
    v.vt = SESS_VT_I2;
    v.v.iVal = 23;
    CHECK_HR(sess_value_set(s, "intUserAge", &v), SESS_S_OK);
    CHECK_HR(sess_session_id(s, id, id_len, NULL), SESS_S_OK);
    CHECK_HR(sess_session_close(s), SESS_S_OK);
}

/* CInt(value / 10): VBScript's "/" gives a Double; CInt rounds half to even. */
static int32_t age_category(const sess_variant *age)
{
    sess_variant d;
    sess_variant_init(&d);
    if (!CHECK_HR(sess_variant_change_type(&d, age, 0x0409, 0, SESS_VT_R8), SESS_S_OK))
        return -1;
    d.v.dblVal /= 10;
    if (!CHECK_HR(sess_variant_change_type(&d, &d, 0x0409, 0, SESS_VT_I2), SESS_S_OK))
        return -1;
    return d.v.iVal;
}

/* SessionAbandonPage2.asp: Session.Abandon. */
static void page2(sess_app *app, log_file *log, const char *id)
{
    sess_session *s = NULL;
    sess_variant v;
    bool abandoned = false;
    int32_t category;
    char line[128];

    printf("Page 2: Session.Abandon\n");
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_S_OK);
    CHECK_HR(sess_abandon(s), SESS_S_OK);
    CHECK_HR(sess_session_is_abandoned(s, &abandoned), SESS_S_OK);
    CHECK(abandoned);

    /* intAgeCategory = CInt(Session("intUserAge") / 10): still readable. */
    sess_variant_init(&v);
    CHECK_HR(sess_value_get(s, "intUserAge", &v), SESS_S_OK);
    CHECK(v.vt == SESS_VT_I2 && v.v.iVal == 23);
    category = age_category(&v);
    CHECK(category == 2);
    printf("  after Abandon, in the same page: Session(\"intUserAge\") = %d, intAgeCategory = %ld\n",
           v.v.iVal, (long)category);
    CHECK(log_ends(log, line, sizeof line) == 0); /* not ended yet */

    printf("  Your user preferences have now been reset.\n");
    CHECK_HR(sess_session_close(s), SESS_S_OK); /* end of the page */
    sess_variant_clear(&v);
}

int main(void)
{
    sess_app_options opts;
    sess_app *app = NULL;
    sess_session *s = NULL;
    sess_variant v;
    log_file log;
    size_t sessions = 1;
    bool is_new = false;
    char id[SESS_ID_LEN + 1], new_id[SESS_ID_LEN + 1], line[128];

    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.lock, NULL);
    CHECK_HR(sess_app_options_init(&opts), SESS_S_OK);
    opts.on_end = on_end;
    opts.event_context = &log;
    CHECK_HR(sess_app_create(&opts, &app), SESS_S_OK);

    page1(app, id, sizeof id);
    page2(app, &log, id);

    /* End of page 2: OnEnd ran, with the contents readable. */
    CHECK(log_ends(&log, line, sizeof line) == 1);
    CHECK(strcmp(line, "SessionVar1=\"large print\" intUserAge=23") == 0);
    CHECK(log.abandoned);
    printf("Session_OnEnd ran once and logged: %s\n", line);
    CHECK_HR(sess_app_session_count(app, &sessions), SESS_S_OK);
    CHECK(sessions == 0);

    /* The next request with the old cookie: the ID is dead... */
    CHECK_HR(sess_session_open(app, id, 0, &s), SESS_E_SESSION_NOT_FOUND);
    CHECK(s == NULL);
    printf("Next request, old SessionID: SESS_E_SESSION_NOT_FOUND\n");

    /* ...so the host starts a new session, under a new ID. */
    CHECK_HR(sess_session_create(app, &s), SESS_S_OK);
    CHECK_HR(sess_session_is_new(s, &is_new), SESS_S_OK);
    CHECK(is_new);
    CHECK_HR(sess_session_id(s, new_id, sizeof new_id, NULL), SESS_S_OK);
    CHECK(strcmp(new_id, id) != 0);
    sess_variant_init(&v);
    CHECK_HR(sess_value_get(s, "intUserAge", &v), SESS_S_FALSE);
    CHECK(v.vt == SESS_VT_EMPTY);
    printf("A new session (IsNewSession = True, a different SessionID); intUserAge is Empty\n");
    CHECK_HR(sess_session_close(s), SESS_S_OK);

    sess_app_release(app);
    CHECK(log_ends(&log, line, sizeof line) == 1); /* the new session stored nothing */
    pthread_mutex_destroy(&log.lock);
    return check_summary();
}
