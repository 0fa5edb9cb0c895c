// Test driver: reads {"cases": [...]} JSON on stdin, writes results as JSON on stdout.
// One process evaluates every case in the TZ it was started with, against croner when asked.
//   case: {expr, spec, starts: [ms], count, utc?, croner?, timezone?} (timezone: croner's option;
//   cron.mjs reads the same zone from spec.timeZone)
//   out:  {mine: [[ms...] per start], croner: [[ms...] per start] | {error}}
import { Cron } from "croner";
import { nextFiring, nextFiringUTC } from "../../templates/runtime/cron.mjs";

const read = async () => {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
};

function mine(spec, start, count, utc) {
  const next = utc ? nextFiringUTC : nextFiring;
  const out = [];
  for (let t = start; out.length < count; ) {
    t = next(spec, t);
    if (t === null) break;
    out.push(t);
  }
  return out;
}

function croner(expr, starts, count, timezone) {
  // Local time, like Nitro's scheduler: run this driver with TZ set (TZ=UTC for UTC cases).
  // sloppyRanges: croner 11 refuses `5/15` by default; nitro-build accepts it with croniter's meaning.
  const options = { paused: true, sloppyRanges: true, mode: "5-or-6-parts", ...(timezone ? { timezone } : {}) };
  try {
    const job = new Cron(expr, options);
    return starts.map((s) => job.nextRuns(count, new Date(s)).map((d) => d.getTime()));
  } catch (e) {
    return { error: String(e.message) };
  }
}

const input = await read();
const results = input.cases.map((c) => {
  const started = Date.now();
  const r = { mine: c.spec ? c.starts.map((s) => mine(c.spec, s, c.count, c.utc)) : null };
  r.ms = Date.now() - started;
  if (c.croner) r.croner = croner(c.expr, c.starts, c.count, c.timezone);
  return r;
});
process.stdout.write(JSON.stringify({ tz: process.env.TZ ?? null, results }));
