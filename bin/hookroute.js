#!/usr/bin/env node
// Entry point for `hookroute`: runs the compiled CLI in dist/ (`npm run build`; the npm package ships it, built by
// prepack). Only in a checkout without dist/ are the TypeScript sources run, through tsx (a dev dependency), so that
// `npm install && npm start` works on a fresh clone. After `npm run build`, dist/ wins: rebuild (or delete dist/) after editing src/.
import { existsSync } from 'node:fs';

const built = new URL('../dist/hookroute.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/bin.ts', import.meta.url).href);
}
