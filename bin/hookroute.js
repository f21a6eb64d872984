#!/usr/bin/env node
// Entry point for `hookroute`: runs the TypeScript sources through tsx (`npm run build` makes dist/hookroute.js for plain node).
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { register } from 'tsx/esm/api';

register();
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { main } = await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
process.exitCode = await main(process.argv.slice(2));
