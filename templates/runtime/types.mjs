// "nitro/types" (compiler/provided.py): types only. `import type` is erased by esbuild; there is
// no value to import from here.
export {};
