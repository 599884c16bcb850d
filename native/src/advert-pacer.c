/* The advert pacer: a master's next periodic VRRP advert, sent at its due time by a thread of
 * its own, so that a busy or collecting JavaScript loop (status answers, metrics, GC, a checker
 * child start) does not make the advert late. The JavaScript side stays in charge: it arms one
 * advert at a time (the next one of the cadence), and claims it when its own timer for that slot
 * fires. Whoever comes first sends: the thread at the due time, or the loop if it got there
 * first. A loop that hangs therefore lets at most one more advert out, then the instance falls
 * silent as it would without the pacer: the thread never repeats an advert on its own.
 *
 * Registers on `exports`:
 *   pacerOpen(ifname)                    -> slot   raw IPPROTO_RAW socket (we build the IP header),
 *                                                   bound to ifname at every send, multicast loop off
 *   pacerArm(slot, key, dueMs, bufs, dsts)          arm the advert for slot `key` (the caller's own
 *                                                   time, an opaque number) at CLOCK_MONOTONIC dueMs;
 *                                                   re-arming the same key after it was sent is a no-op
 *   pacerClaim(slot, key)                -> -1 | errno   -1: not sent by the thread (it is now
 *                                                   cancelled; the caller sends); otherwise the thread
 *                                                   sent it and this is the first failing errno or 0
 *   pacerCancel(slot)                               drop an armed advert (before priority 0, on leaving MASTER)
 *   pacerClose(slot)
 *   pacerSetPriority(n)                             SCHED_FIFO priority of the thread (vrrp_rt_priority; default 1)
 *   pacerInfo()                          -> { realtime, priority, schedError, sent, failed, lateMaxMs, lateLastMs }
 *   monotonicMs()                        -> CLOCK_MONOTONIC in ms (the clock dueMs is on)
 *
 * The thread asks for SCHED_FIFO priority 1 by default (the lowest real-time priority: above every
 * ordinary process, below everything the administrator made real-time). Without CAP_SYS_NICE it runs as an
 * ordinary thread and pacerInfo says why. It only sleeps and calls sendto(2). */
#define _GNU_SOURCE
#include <node_api.h>
#include "hakeep-native.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PACER_SLOTS 1024
#define PACER_MAX_PACKETS 64
#define PACER_MAX_LEN 1500

enum { P_IDLE, P_ARMED, P_SENDING, P_SENT, P_CANCELLED };

struct pacer_packet {
  size_t len;
  struct sockaddr_in dst;
  unsigned char data[PACER_MAX_LEN];
};

struct pacer_slot {
  int used;
  int fd;
  char ifname[IFNAMSIZ];
  int state;
  double key;
  double due_ms;
  int last_errno;
  size_t npk;
  struct pacer_packet *pk; /* PACER_MAX_PACKETS, allocated on open */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake; /* on CLOCK_MONOTONIC: arm/cancel/close wake the thread */
static pthread_cond_t done; /* the thread finished a send (claims wait for SENDING to end) */
static int started;
static pthread_t thread;
static int rt_priority = 1;
static struct pacer_slot slots[PACER_SLOTS];
static int realtime;
static char sched_error[96];
static double sent_total, failed_total, late_max_ms, late_last_ms;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct timespec abs_of(double ms) {
  struct timespec ts;
  ts.tv_sec = (time_t)(ms / 1e3);
  ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1e3) * 1e6);
  if (ts.tv_nsec < 0) ts.tv_nsec = 0;
  if (ts.tv_nsec >= 1000000000L) { ts.tv_sec += 1; ts.tv_nsec -= 1000000000L; }
  return ts;
}

/* Send every packet of a slot; called without the lock, the slot is in P_SENDING so nobody
 * else touches its packets. Returns the first errno (0 when all went). */
static int send_slot(struct pacer_slot *s) {
  int first = 0;
  /* By name at every send: an interface deleted and created again gets a new index. */
  if (setsockopt(s->fd, SOL_SOCKET, SO_BINDTODEVICE, s->ifname, (socklen_t)strlen(s->ifname) + 1) != 0) return errno;
  for (size_t i = 0; i < s->npk; i++) {
    struct pacer_packet *p = &s->pk[i];
    ssize_t n = sendto(s->fd, p->data, p->len, MSG_DONTWAIT, (struct sockaddr *)&p->dst, sizeof p->dst);
    if (n < 0 && first == 0) first = errno;
  }
  return first;
}

static void *pacer_thread(void *arg) {
  (void)arg;
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  pthread_mutex_lock(&mu);
  for (;;) {
    double earliest = -1;
    for (int i = 0; i < PACER_SLOTS; i++) {
      if (slots[i].used && slots[i].state == P_ARMED && (earliest < 0 || slots[i].due_ms < earliest)) earliest = slots[i].due_ms;
    }
    if (earliest < 0) {
      pthread_cond_wait(&wake, &mu);
      continue;
    }
    double now = now_ms();
    if (now < earliest) {
      struct timespec ts = abs_of(earliest);
      pthread_cond_timedwait(&wake, &mu, &ts);
      continue; /* re-scan: an arm, cancel or close may have changed the set */
    }
    for (int i = 0; i < PACER_SLOTS; i++) {
      struct pacer_slot *s = &slots[i];
      if (!s->used || s->state != P_ARMED || s->due_ms > now) continue;
      s->state = P_SENDING;
      pthread_mutex_unlock(&mu);
      double at = now_ms();
      int err = send_slot(s);
      pthread_mutex_lock(&mu);
      s->last_errno = err;
      s->state = P_SENT;
      late_last_ms = at - s->due_ms;
      if (late_last_ms > late_max_ms) late_max_ms = late_last_ms;
      if (err == 0) sent_total += 1; else failed_total += 1;
      pthread_cond_broadcast(&done);
    }
  }
  return NULL;
}

/* Lock held, thread started. */
static void apply_priority(void) {
  struct sched_param sp = { .sched_priority = rt_priority };
  int rc = pthread_setschedparam(thread, SCHED_FIFO, &sp);
  if (rc == 0) {
    realtime = 1;
    sched_error[0] = 0;
  } else {
    realtime = 0;
    snprintf(sched_error, sizeof sched_error, "SCHED_FIFO %d refused: %s%s", rt_priority, strerror(rc),
             rc == EPERM ? " (needs CAP_SYS_NICE)" : "");
  }
}

static int ensure_thread(void) {
  if (started) return 0;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&wake, &ca);
  pthread_cond_init(&done, NULL);
  pthread_condattr_destroy(&ca);
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&at, 64 * 1024);
  int rc = pthread_create(&thread, &at, pacer_thread, NULL);
  pthread_attr_destroy(&at);
  if (rc != 0) return rc;
  pthread_setname_np(thread, "hakeep-advert");
  started = 1;
  apply_priority();
  return 0;
}

/* --- Node-API wrappers ---------------------------------------------------------------------- */

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value m, e, c;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, NULL, m, &e);
  napi_create_int32(env, err, &c);
  napi_set_named_property(env, e, "errno", c);
  napi_throw(env, e);
  return NULL;
}

static napi_value throw_msg(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static napi_value undef(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static int slot_arg(napi_env env, napi_value v, struct pacer_slot **out) {
  int32_t i;
  if (napi_get_value_int32(env, v, &i) != napi_ok || i < 0 || i >= PACER_SLOTS || !slots[i].used) return 0;
  *out = &slots[i];
  return 1;
}

static napi_value pacer_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char ifname[IFNAMSIZ];
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &len) != napi_ok || len == 0 || len >= IFNAMSIZ - 1)
    return throw_msg(env, "pacerOpen(ifname): an interface name");
  int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) return throw_errno(env, errno, "advert pacer socket");
  int off = 0;
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof off);
  struct pacer_packet *pk = calloc(PACER_MAX_PACKETS, sizeof *pk);
  if (pk == NULL) {
    close(fd);
    return throw_errno(env, ENOMEM, "advert pacer");
  }
  pthread_mutex_lock(&mu);
  int rc = ensure_thread();
  int idx = -1;
  for (int i = 0; rc == 0 && i < PACER_SLOTS; i++) {
    if (!slots[i].used) { idx = i; break; }
  }
  if (idx >= 0) {
    struct pacer_slot *s = &slots[idx];
    memset(s, 0, sizeof *s);
    s->used = 1;
    s->fd = fd;
    memcpy(s->ifname, ifname, len + 1);
    s->pk = pk;
    s->state = P_IDLE;
  }
  pthread_mutex_unlock(&mu);
  if (idx < 0) {
    close(fd);
    free(pk);
    return throw_errno(env, rc != 0 ? rc : ENOSPC, "advert pacer");
  }
  napi_value r;
  napi_create_int32(env, idx, &r);
  return r;
}

/* Wait (briefly: one sendto) for the thread to finish a send in progress. Lock held. */
static void settle(struct pacer_slot *s) {
  while (s->state == P_SENDING) pthread_cond_wait(&done, &mu);
}

static napi_value pacer_arm(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct pacer_slot *s;
  double key, due;
  uint32_t nb = 0, nd = 0;
  if (argc < 5 || !slot_arg(env, argv[0], &s) || napi_get_value_double(env, argv[1], &key) != napi_ok ||
      napi_get_value_double(env, argv[2], &due) != napi_ok || napi_get_array_length(env, argv[3], &nb) != napi_ok ||
      napi_get_array_length(env, argv[4], &nd) != napi_ok || nb != nd || nb == 0 || nb > PACER_MAX_PACKETS)
    return throw_msg(env, "pacerArm(slot, key, dueMs, buffers, destinations): 1-64 packets, one destination each");
  /* Parse into a scratch copy first: a bad argument leaves the armed advert as it was. */
  static struct pacer_packet scratch[PACER_MAX_PACKETS];
  for (uint32_t i = 0; i < nb; i++) {
    napi_value b, d;
    void *data;
    size_t blen;
    char dst[INET_ADDRSTRLEN];
    size_t dlen;
    bool isbuf = false;
    if (napi_get_element(env, argv[3], i, &b) != napi_ok || napi_is_buffer(env, b, &isbuf) != napi_ok || !isbuf ||
        napi_get_buffer_info(env, b, &data, &blen) != napi_ok || blen == 0 || blen > PACER_MAX_LEN ||
        napi_get_element(env, argv[4], i, &d) != napi_ok ||
        napi_get_value_string_utf8(env, d, dst, sizeof dst, &dlen) != napi_ok)
      return throw_msg(env, "pacerArm: each packet a Buffer of 1-1500 bytes, each destination an IPv4 address");
    memset(&scratch[i].dst, 0, sizeof scratch[i].dst);
    scratch[i].dst.sin_family = AF_INET;
    if (inet_pton(AF_INET, dst, &scratch[i].dst.sin_addr) != 1) return throw_msg(env, "pacerArm: a destination is not an IPv4 address");
    scratch[i].len = blen;
    memcpy(scratch[i].data, data, blen);
  }
  pthread_mutex_lock(&mu);
  settle(s);
  if (s->state == P_SENT && s->key == key) {
    /* Already on the wire for this slot (the loop has not claimed it yet): never twice. */
    pthread_mutex_unlock(&mu);
    return undef(env);
  }
  memcpy(s->pk, scratch, nb * sizeof scratch[0]);
  s->npk = nb;
  s->key = key;
  s->due_ms = due;
  s->last_errno = 0;
  s->state = P_ARMED;
  pthread_cond_signal(&wake);
  pthread_mutex_unlock(&mu);
  return undef(env);
}

static napi_value pacer_claim(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct pacer_slot *s;
  double key;
  if (argc < 2 || !slot_arg(env, argv[0], &s) || napi_get_value_double(env, argv[1], &key) != napi_ok)
    return throw_msg(env, "pacerClaim(slot, key)");
  int result = -1;
  pthread_mutex_lock(&mu);
  settle(s);
  if (s->key == key) {
    if (s->state == P_SENT) result = s->last_errno;
    if (s->state == P_ARMED || s->state == P_SENT) s->state = P_CANCELLED; /* claimed: done with this slot */
  }
  pthread_mutex_unlock(&mu);
  napi_value r;
  napi_create_int32(env, result, &r);
  return r;
}

static napi_value pacer_cancel_or_close(napi_env env, napi_callback_info info, int close_it) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct pacer_slot *s;
  if (argc < 1 || !slot_arg(env, argv[0], &s)) return undef(env); /* closing twice is harmless */
  pthread_mutex_lock(&mu);
  settle(s);
  if (s->state == P_ARMED) s->state = P_CANCELLED;
  pthread_cond_signal(&wake);
  if (close_it) {
    close(s->fd);
    free(s->pk);
    memset(s, 0, sizeof *s);
  }
  pthread_mutex_unlock(&mu);
  return undef(env);
}

static napi_value pacer_cancel(napi_env env, napi_callback_info info) { return pacer_cancel_or_close(env, info, 0); }
static napi_value pacer_close(napi_env env, napi_callback_info info) { return pacer_cancel_or_close(env, info, 1); }

static void set_num(napi_env env, napi_value o, const char *k, double v) {
  napi_value x;
  napi_create_double(env, v, &x);
  napi_set_named_property(env, o, k, x);
}

static napi_value pacer_info(napi_env env, napi_callback_info info) {
  napi_value o, b, e;
  napi_create_object(env, &o);
  pthread_mutex_lock(&mu);
  napi_get_boolean(env, realtime != 0, &b);
  napi_set_named_property(env, o, "realtime", b);
  if (sched_error[0]) napi_create_string_utf8(env, sched_error, NAPI_AUTO_LENGTH, &e);
  else napi_get_null(env, &e);
  napi_set_named_property(env, o, "schedError", e);
  set_num(env, o, "priority", rt_priority);
  set_num(env, o, "sent", sent_total);
  set_num(env, o, "failed", failed_total);
  set_num(env, o, "lateMaxMs", late_max_ms);
  set_num(env, o, "lateLastMs", late_last_ms);
  pthread_mutex_unlock(&mu);
  return o;
}

static napi_value pacer_set_priority(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t n;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1 || n > 99)
    return throw_msg(env, "pacerSetPriority(n): 1-99");
  pthread_mutex_lock(&mu);
  rt_priority = n;
  if (started) apply_priority();
  pthread_mutex_unlock(&mu);
  return undef(env);
}

static napi_value monotonic_ms(napi_env env, napi_callback_info info) {
  napi_value r;
  napi_create_double(env, now_ms(), &r);
  return r;
}

int hk_pacer_register(napi_env env, napi_value exports) {
  static const struct { const char *name; napi_callback fn; } fns[] = {
    {"pacerOpen", pacer_open}, {"pacerArm", pacer_arm}, {"pacerClaim", pacer_claim},
    {"pacerCancel", pacer_cancel}, {"pacerClose", pacer_close}, {"pacerInfo", pacer_info},
    {"pacerSetPriority", pacer_set_priority},
    {"monotonicMs", monotonic_ms},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok) return EINVAL;
    if (napi_set_named_property(env, exports, fns[i].name, f) != napi_ok) return EINVAL;
  }
  return 0;
}
