// The registry's schedules, stored compactly (compiler/schedule_table.py writes them): each
// distinct list of field values once in `lists`, each distinct task list once in `tasks`, and one
// row per schedule of the cron, its task list's index and its spec's values in SPEC_KEYS order
// (compiler/schedule_table.py: a list as its index in `lists`, a flag as 0 or 1, the time zone as
// a name or null). An 86,400-schedule table was 43 MB of repeated lists as objects; as rows it is
// a tenth of that, for esbuild to copy and for JSON.parse. Evenly spaced values are written as a
// run, "0-59" or "0-55/5" (runValues): `* * * * *`'s lists in 25 bytes instead of 360.

/**
 * `{ lists, rows }` and the task lists -> `[{ cron, spec, tasks }]`, as the scheduler reads them
 * (lists are shared: read-only). `taskLists` may be the JSON text of the lists: it is parsed when
 * a schedule's `tasks` is first read (a firing, a listing), not at start. The registry passes it
 * so: parsing 10,000 scheduled task names cost Bun about 2 ms of a 25 ms start (issue 18).
 */
export function expandSchedules(table, taskLists) {
  const lists = table.lists.map(runValues);
  let parsed = typeof taskLists === "string" ? null : taskLists;
  const tasksAt = (i) => (parsed ??= JSON.parse(taskLists))[i];
  return table.rows.map((row) => {
    const at = row[1];
    return {
      cron: row[0],
      spec: spec(lists, row),
      get tasks() {
        return tasksAt(at);
      },
    };
  });
}

/** "first-last" or "first-last/step" -> its values; a list as it is. */
function runValues(list) {
  if (typeof list !== "string") return list;
  const [first, last, step = 1] = list.split(/[-/]/).map(Number);
  const values = [];
  for (let v = first; v <= last; v += step) values.push(v);
  return values;
}

// Each key written out in SPEC_KEYS order (row index = key's index + 2), not set in a loop by a
// computed key: the loop took Bun's cold interpreter 1.1-2.3 ms for 100 schedules, the
// literal 0.3 ms. Keys in the same order as before, the time zone only when there is one.
function spec(L, r) {
  const s = {
    days: L[r[2]],
    domAndDow: !!r[3],
    domRestricted: !!r[4],
    dowRestricted: !!r[5],
    fixedTime: !!r[6],
    hours: L[r[7]],
    lastDay: !!r[8],
    lastWeekday: !!r[9],
    lastWeekdays: L[r[10]],
    minutes: L[r[11]],
    months: L[r[12]],
    nearestWeekdays: L[r[13]],
    nthWeekdays: L[r[14]],
    seconds: L[r[15]],
  };
  if (r[16] !== null) s.timeZone = r[16];
  s.weekdays = L[r[17]];
  return s;
}
