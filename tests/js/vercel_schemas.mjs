// Prints the Build Output API v3 schemas of @vite-plugin-vercel/schemas (zod) as JSON Schema:
// {"config": <config.json>, "vcConfig": <Node.js .vc-config.json>}. The tests validate with them.
import { z } from "zod/v4";
import { vercelOutputConfigSchema, vercelOutputServerlessNodeVcConfigSchema } from "@vite-plugin-vercel/schemas";

const schemas = {
  config: z.toJSONSchema(vercelOutputConfigSchema),
  vcConfig: z.toJSONSchema(vercelOutputServerlessNodeVcConfigSchema),
};
process.stdout.write(JSON.stringify(schemas));
