// Placeholder for Node alone (package.json "imports"); a build aliases #nitro-virtual to its own
// generated runtime config (templates/virtual/, compiler/bundle.py).
export const runtimeConfig = { app: { baseURL: "/" }, nitro: {} };
