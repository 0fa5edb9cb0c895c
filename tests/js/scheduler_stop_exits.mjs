// With real timers: after stop(), nothing keeps Node alive, so this script exits on its own.
import { startScheduler } from "../../templates/runtime/scheduler.mjs";

const [spec] = JSON.parse(process.argv[2]);
const scheduler = startScheduler([{ cron: "* * * * * *", tasks: ["t"], spec }], { runTask: async () => {} });
scheduler.stop();
