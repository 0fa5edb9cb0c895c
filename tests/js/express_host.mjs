// A minimal Express 5 app hosting a node_middleware bundle, for tests/test_node_middleware.py.
// Usage: node express_host.mjs BUNDLE_INDEX_MJS. Env: PORT, HOST; HOST_JSON_PARSER=1 mounts
// express.json() before the middleware; HOST_IMPORT_TWICE=1 imports the bundle a second time
// under another URL (a second module instance) and mounts that one.
import { pathToFileURL } from "node:url";
import express from "express";

const bundleUrl = pathToFileURL(process.argv[2]).href;
let { middleware, handler } = await import(bundleUrl);
if (process.env.HOST_IMPORT_TWICE) ({ middleware, handler } = await import(`${bundleUrl}?again`));

const app = express();
app.get("/express/before", (req, res) => res.json({ from: "express", route: "before" }));
if (process.env.HOST_JSON_PARSER) app.use(express.json());
app.use(middleware);
// Reached only through next(): the middleware passes on what it does not handle.
app.get("/express/after", (req, res) => res.json({ from: "express", route: "after" }));
app.post("/express/echo", express.json(), (req, res) => res.json({ from: "express", body: req.body }));
// The web fetch export, called through Express.
app.get("/express/fetch-handler", async (req, res) => {
  const answer = await handler(new Request("http://localhost/api/users/42"));
  res.status(answer.status).json({ via: "handler", body: await answer.json() });
});
app.use((req, res) => res.status(404).json({ from: "express", status: 404 }));

const port = Number(process.env.PORT || 3000);
const server = app.listen(port, process.env.HOST || "127.0.0.1", (error) => {
  if (error) throw error;
  console.log(`Listening on http://${process.env.HOST || "127.0.0.1"}:${server.address().port}`);
});
