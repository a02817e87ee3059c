/* Moves the wall clock of a process (and of its children) by a fixed offset, for tests that
 * must pass on any date: scripts/test-dates runs the suite "on" chosen dates with it.
 *
 * LD_PRELOAD=clock_shift.so CLOCK_SHIFT_SECONDS=<signed integer> <command>
 *
 * Only the real-time clock moves (clock_gettime REALTIME*, gettimeofday, time). Monotonic
 * clocks and every sleep stay untouched, so timers, event loops and thread waits behave
 * normally. libfaketime 0.9.10 (Debian bookworm) cannot do this for Python >= 3.11: with the
 * monotonic clock excluded its clock_nanosleep wrapper makes time.sleep fail with EINVAL, and
 * with it faked thread waits hang. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long shift_seconds(void) {
  static int loaded = 0;
  static long long shift = 0;
  if (!loaded) {
    const char *text = getenv("CLOCK_SHIFT_SECONDS");
    shift = text ? strtoll(text, NULL, 10) : 0;
    loaded = 1;
  }
  return shift;
}

static int is_wall_clock(clockid_t clock) {
  return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE;
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
  static int (*real)(clockid_t, struct timespec *) = NULL;
  if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
  int result = real(clock, ts);
  if (result == 0 && ts && is_wall_clock(clock)) ts->tv_sec += shift_seconds();
  return result;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
  static int (*real)(struct timeval *restrict, void *restrict) = NULL;
  if (!real) real = (int (*)(struct timeval *restrict, void *restrict))dlsym(RTLD_NEXT, "gettimeofday");
  int result = real(tv, tz);
  if (result == 0 && tv) tv->tv_sec += shift_seconds();
  return result;
}

time_t time(time_t *out) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out) *out = ts.tv_sec;
  return ts.tv_sec;
}
