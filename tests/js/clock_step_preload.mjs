// Preloaded with `node --import` by tests/test_scheduling.py: Date.now() reads the real clock plus an
// offset, so the wall clock can step (an NTP step, a resume from suspend) while Node's timers keep
// counting monotonic time, as they do. Start: $CLOCK_OFFSET_MS; on SIGUSR2 the offset becomes the
// number in the file $CLOCK_STEP_FILE.
import { readFileSync } from "node:fs";

const realNow = Date.now;
let offset = Number(process.env.CLOCK_OFFSET_MS || 0);
Date.now = () => realNow() + offset;
process.on("SIGUSR2", () => {
  offset = Number(readFileSync(process.env.CLOCK_STEP_FILE, "utf8"));
});
