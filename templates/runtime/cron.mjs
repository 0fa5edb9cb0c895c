// Cron evaluator shipped inside every bundle (Node, Bun, Deno, workerd, Vercel). No dependencies.
// It reads only the spec compiled by compiler/cron/expr.py (CronExpr.compiled()); it never parses text.
//
// Semantics follow croner (https://croner.56k.guru/usage/pattern/), the engine Nitro uses:
// - day-of-month and day-of-week both restricted: a day matches if either matches, or both
//   with croner's `+` modifier (spec.domAndDow);
// - `nW` never crosses the month and does not fire in months without day n; `LW` is the last
//   weekday; `5#2` the second Friday; `5L` the last Friday.
// - DST, as croner (and Vixie cron) do it. A fixed-time job (one value each in seconds, minutes
//   and hours, spec.fixedTime) whose time is skipped by a spring-forward runs once, at the first
//   instant after the gap; at a repeated (fall-back) time it runs once, on the first pass.
//   Other jobs skip times that do not exist and run on both passes of a repeated time.
//
// The spec (all lists sorted): {seconds, minutes, hours, months (1-12), days (1-31), lastDay (L),
// lastWeekday (LW), nearestWeekdays ([15] for 15W), weekdays (0-6, 0 = Sunday), nthWeekdays
// ([[5, 2]] for 5#2), lastWeekdays ([5] for 5L), domRestricted, dowRestricted, domAndDow, fixedTime}.
//
// Wall-clock arithmetic is done on "wall ms": the local fields encoded with Date.UTC, so the
// calendar search never touches the time zone. The zone enters only through the UTC offset of
// an instant: spec.timeZone's (an IANA name: `CRON_TZ=` or scheduler.timezone, read with
// Intl.DateTimeFormat, as croner's `timezone` option does), else getTimezoneOffset() (the
// process's TZ), or 0 for nextFiringUTC.

const SECOND = 1000;
const HOUR = 3600 * SECOND;
const DAY = 24 * HOUR;
const SAMPLE = 6 * HOUR; // DST changes are assumed to be more than 6 hours apart (they are months apart)
const SEARCH_YEARS = 400; // the Gregorian calendar repeats every 400 years
const MAX_STEPS = 64;

const localOffset = (t) => -new Date(t).getTimezoneOffset() * 60 * SECOND;
const utcOffset = () => 0;
const tables = new WeakMap();

/** Epoch ms of the first firing strictly after `afterMs` in spec.timeZone (else the process's zone), or null. */
export const nextFiring = (spec, afterMs) =>
  firstFiringAfter(spec, afterMs, spec.timeZone ? zoneOffset(spec.timeZone) : localOffset);

/**
 * The latest firing at or before `atMs` and after `atMs - windowMs`, or null: the firing a job
 * started by an external cron (a Kubernetes CronJob, late by its start-up) was started for.
 */
export function latestFiring(spec, atMs, windowMs) {
  let found = null;
  for (let t = nextFiring(spec, atMs - windowMs - 1); t !== null && t <= atMs; t = nextFiring(spec, t)) found = t;
  return found;
}

const zoneOffsets = new Map();

/** offsetAt for an IANA zone: the zone's wall clock at instant t, minus t (whole seconds). */
function zoneOffset(timeZone) {
  if (!zoneOffsets.has(timeZone)) {
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric",
    });
    zoneOffsets.set(timeZone, (t) => {
      const at = Math.floor(t / SECOND) * SECOND;
      // en-US with these options formats "11/30/2026, 13:05:07" (month/day/year, 24-hour clock):
      // its numbers in that order, read without formatToParts' object per part.
      // Years before 1 BC or after 9999 do not occur within SEARCH_YEARS of today.
      const [month, day, year, hour, minute, second] = format.format(at).match(/\d+/g);
      return Date.UTC(year, month - 1, day, hour, minute, second) - at;
    });
  }
  return zoneOffsets.get(timeZone);
}

/** Same as nextFiring, in UTC (Cloudflare and Vercel run in UTC anyway). */
export const nextFiringUTC = (spec, afterMs) => firstFiringAfter(spec, afterMs, utcOffset);

/** The first firing from the first whole second after `afterMs` on. */
const firstFiringAfter = (spec, afterMs, offsetAt) =>
  search(compile(spec), Math.floor(afterMs / SECOND) * SECOND + SECOND, offsetAt);

// --- the spec as lookup tables --------------------------------------------------------------

// Not `...spec` with the tables over it: a search reading such an object was 15% slower (Node).
function compile(spec) {
  let t = tables.get(spec);
  if (!t) {
    t = {
      second: nextTable(spec.seconds, 60),
      minute: nextTable(spec.minutes, 60),
      hour: nextTable(spec.hours, 24),
      month: flags(spec.months, 13),
      days: flags(spec.days, 32),
      weekdays: flags(spec.weekdays, 7),
      lastWeekdays: flags(spec.lastWeekdays, 7),
      nth: spec.nthWeekdays.map(([weekday, n]) => weekday * 8 + n),
      // Both day fields restricted, without `+`: a day matches if either matches (dayMatches).
      either: spec.domRestricted && spec.dowRestricted && !spec.domAndDow,
      spec,
    };
    tables.set(spec, t);
  }
  return t;
}

/** next[x] = smallest value >= x in `values`, or -1. */
function nextTable(values, size) {
  const next = Array(size + 1).fill(-1);
  const set = flags(values, size);
  for (let x = size - 1; x >= 0; x--) next[x] = set[x] ? x : next[x + 1];
  return next;
}

function flags(values, size) {
  const out = Array(size).fill(false);
  for (const v of values) out[v] = true;
  return out;
}

// --- calendar ---------------------------------------------------------------------------------

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
// m: 0-11. A table, not Date.UTC(y, m + 1) - Date.UTC(y, m): nextWall asks on every step, and the
// two Date.UTC calls made a search about twice as slow (Node and Bun).
const daysInMonth = (y, m) => (m === 1 && isLeap(y) ? 29 : MONTH_DAYS[m]);
// 0 = Sunday; 1970-01-01 was a Thursday.
// Math.floor although Date.UTC of a date is a whole number of days: its small-integer result keeps
// the % arithmetic on integers (without it Bun's searches were 30% slower).
const weekdayOf = (y, m, d) => (((Math.floor(Date.UTC(y, m, d) / DAY) + 4) % 7) + 7) % 7;

function nearestWeekday(y, m, n, dim) {
  if (n > dim) return -1; // croner: no nW in a month without day n
  const wd = weekdayOf(y, m, n);
  if (wd === 6) return n > 1 ? n - 1 : n + 2; // Saturday: Friday, or Monday the 3rd
  if (wd === 0) return n < dim ? n + 1 : n - 2; // Sunday: Monday, or Friday before the last day
  return n;
}

function domMatches(t, y, m, d, dim) {
  const s = t.spec;
  return (
    t.days[d] ||
    (s.lastDay && d === dim) ||
    (s.lastWeekday && d === nearestWeekday(y, m, dim, dim)) ||
    s.nearestWeekdays.some((n) => d === nearestWeekday(y, m, n, dim))
  );
}

function dowMatches(t, y, m, d, dim) {
  const wd = weekdayOf(y, m, d);
  return t.weekdays[wd] || (t.lastWeekdays[wd] && d + 7 > dim) || t.nth.includes(wd * 8 + Math.floor((d - 1) / 7) + 1);
}

// An unrestricted day field (`*`) lists every day (days 1-31, weekdays 0-6: compiler/cron/parse.py),
// so it matches every day: with one or both unrestricted, or with `+`, the rule is "both match".
const dayMatches = (t, y, m, d, dim) =>
  t.either
    ? domMatches(t, y, m, d, dim) || dowMatches(t, y, m, d, dim)
    : domMatches(t, y, m, d, dim) && dowMatches(t, y, m, d, dim);

/** The first matching wall time (wall ms) at or after wall ms `from`, or null within 400 years. */
function nextWall(t, from) {
  const f = new Date(from);
  let y = f.getUTCFullYear(), mo = f.getUTCMonth(), d = f.getUTCDate();
  let h = f.getUTCHours(), mi = f.getUTCMinutes(), s = f.getUTCSeconds();
  const lastYear = y + SEARCH_YEARS;
  for (;;) {
    if (y > lastYear) return null;
    const dim = daysInMonth(y, mo);
    if (!t.month[mo + 1] || d > dim) {
      // Skip to the next month.
      mo += 1; d = 1; h = mi = s = 0;
      if (mo > 11) { mo = 0; y += 1; }
      continue;
    }
    const h2 = t.hour[h];
    // A carry past the last value (h 24, mi 60) needs no case of its own: the tables end with -1
    // there (nextTable), so the next pass moves on to the next day or hour.
    if (h2 < 0 || !dayMatches(t, y, mo, d, dim)) { d += 1; h = mi = s = 0; continue; }
    if (h2 !== h) { h = h2; mi = s = 0; }
    const mi2 = t.minute[mi];
    if (mi2 < 0) { h += 1; mi = s = 0; continue; }
    if (mi2 !== mi) { mi = mi2; s = 0; }
    const s2 = t.second[s];
    if (s2 < 0) { mi += 1; s = 0; continue; }
    return Date.UTC(y, mo, d, h, mi, s2);
  }
}

// --- instants ---------------------------------------------------------------------------------

/** The first instant in (a, b] whose offset differs from `o`, or null (sampled, then bisected). */
function firstChange(lo, b, o, offsetAt) {
  for (;;) {
    const p = Math.min(lo + SAMPLE, b);
    if (offsetAt(p) !== o) return bisect(lo, p, o, offsetAt);
    if (p >= b) return null;
    lo = p;
  }
}

function bisect(lo, hi, o, offsetAt) {
  while (hi - lo > SECOND) {
    const mid = lo + Math.floor((hi - lo) / (2 * SECOND)) * SECOND;
    if (offsetAt(mid) === o) lo = mid; else hi = mid;
  }
  return hi;
}

/**
 * Start a search at instant `cur` (inclusive): its offset, the lowest wall time still to fire,
 * and a firing at `cur` itself when a DST gap ended exactly there (fixed-time jobs).
 */
function anchor(t, cur, offsetAt) {
  const o = offsetAt(cur);
  const before = offsetAt(cur - DAY);
  if (before === o) return cross(t, cur, o, o); // no change within a day: nothing to carry over
  const change = bisect(cur - DAY, cur, before, offsetAt); // first instant with a new offset
  return cross(t, change, offsetAt(change - SECOND), o, cur);
}

/** The first firing at or after instant `start` (a whole second). */
function search(t, start, offsetAt) {
  let st = anchor(t, start, offsetAt);
  for (let step = 0; step < MAX_STEPS; step++) {
    if (st.fire !== null) return st.fire;
    const wall = nextWall(t, st.low);
    if (wall === null) return null;
    const { cur, o } = st;
    const candidate = wall - o;
    let end = candidate;
    if (candidate - cur > 3 * DAY) {
      // Far away: with no DST change within a day of either end, the offset maps it exactly
      // (every wall time in between was checked and does not match).
      if (offsetAt(cur + DAY) === o) {
        if (offsetAt(candidate) === o && offsetAt(candidate - DAY) === o) return candidate;
        st = anchor(t, candidate - 2 * DAY, offsetAt); // nothing fires before; look closely there
        continue;
      }
      end = cur + DAY;
    }
    const change = firstChange(cur, end, o, offsetAt);
    if (change === null) return candidate;
    st = cross(t, change, o, offsetAt(change));
  }
  return null;
}

/**
 * Walk over the DST change at instant `change` from offset `o` to `o2`, to instant `cur` (the
 * change itself, or a later start: anchor). Only fixed-time jobs see the change: in a gap ending at
 * `cur` they fire at `cur`; after a fold their first pass already ran.
 */
function cross(t, change, o, o2, cur = change) {
  const st = { cur, o: o2, low: cur + o2, fire: null };
  if (!t.spec.fixedTime) return st;
  // Gap: fire at `cur` when a wall time in [change + o, change + o2) matches (null: none ever).
  if (o2 > o && change === cur && (nextWall(t, change + o) ?? Infinity) < change + o2) st.fire = cur;
  if (o2 < o) st.low = Math.max(st.low, change + o); // fold
  return st;
}
