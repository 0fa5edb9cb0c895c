// node_cluster's run history without a shared store (run_store.mjs): the primary keeps it, so
// every worker answers GET /_nitro/tasks/runs alike. A worker sends each finished run to the
// primary over the cluster's IPC channel (https://nodejs.org/api/cluster.html#event-message_1) and
// asks it for the history when listing; the primary keeps RUNS_PER_TASK per task, like any memory.
// A primary that does not answer within LIST_TIMEOUT_MS: the worker lists its own runs (runs.mjs).
import cluster from "node:cluster";
import { keepRun, runRecords, setRunStore } from "./runs.mjs";

const LIST_TIMEOUT_MS = 2000;

/** The primary keeps and answers; a worker reports and asks. */
export function shareRunsInCluster() {
  if (cluster.isPrimary) {
    cluster.on("message", (worker, message) => {
      if (message?.nitro === "run-record") keepRun(message.record);
      if (message?.nitro === "runs?" && worker.isConnected()) {
        worker.send({ nitro: "runs", id: message.id, records: runRecords() }, () => {});
      }
    });
    return;
  }
  const waiting = new Map();
  let next = 0;
  process.on("message", (message) => {
    if (message?.nitro !== "runs") return;
    waiting.get(message.id)?.(message.records);
    waiting.delete(message.id);
  });
  setRunStore({
    add: async (record) => send({ nitro: "run-record", record }),
    list: () =>
      new Promise((resolve, reject) => {
        const id = ++next;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error("the cluster primary did not answer"));
        }, LIST_TIMEOUT_MS);
        waiting.set(id, (records) => {
          clearTimeout(timer);
          resolve(records);
        });
        send({ nitro: "runs?", id });
      }),
  });
}

function send(message) {
  if (!process.connected) throw new Error("the cluster primary is gone");
  process.send(message);
}
