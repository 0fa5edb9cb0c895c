// Placeholder for Node alone (package.json "imports"); a build aliases #nitro-virtual to its own
// generated storage mounts (templates/virtual/, compiler/bundle.py).
export function mountStorage() {}
