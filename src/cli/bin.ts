// The `hookroute` process: bin/hookroute.js imports this (as dist/hookroute.js once built) to run the CLI on argv.
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
