// Picks the uWebSockets.js native binary that fits this Node ABI and glibc, so a newer Node does not silently get the JS shim.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as UwsModule from 'uWebSockets.js';

/** The uWS API as the typings describe it. */
export type Uws = typeof UwsModule;

/** A loaded native build and the file it came from. */
export interface NativeUws {
  uws: Uws;
  binary: string;
}

// The single-executable build is CommonJS (no import.meta.url): there the packages sit beside the executable.
const require = createRequire(import.meta.url || process.execPath);

/** Builds tried in order: btc-vision covers Node 20-25 (ABIs 115/127/137/141) but needs glibc 2.38; trufflesuite covers up to Node 20. */
const BUILDS: { pkg: string; minGlibc?: [number, number] }[] = [
  { pkg: 'uws-btc', minGlibc: [2, 38] },
  { pkg: 'uWebSockets.js' },
];

function glibcAtLeast([major, minor]: [number, number]): boolean {
  if (process.platform !== 'linux') return true;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  const m = /^(\d+)\.(\d+)/.exec(header?.glibcVersionRuntime ?? '');
  if (!m) return false; // musl or unknown: these builds are glibc-only
  return Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor);
}

/** Folder of an installed package's main file (resolved, not run), or undefined when it is not installed (the btc-vision build is optional). */
function packageDir(pkg: string): string | undefined {
  try {
    return dirname(require.resolve(pkg));
  } catch {
    return undefined;
  }
}

/**
 * Load the first native binary that fits, by file name, never through a package's main (which may fall back to a slow JS shim).
 * Returns undefined when none loads.
 *
 * @example
 * const native = loadNativeUws(); // { uws, binary: '/…/uws-btc/uws_linux_x64_137.node' } or undefined
 */
export function loadNativeUws(): NativeUws | undefined {
  if (loaded === null) loaded = findNativeUws();
  return loaded;
}

// Looked up once per process: a binary that did not load will not load later.
let loaded: NativeUws | undefined | null = null;

function findNativeUws(): NativeUws | undefined {
  const name = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  for (const build of BUILDS) {
    if (build.minGlibc && !glibcAtLeast(build.minGlibc)) continue;
    const dir = packageDir(build.pkg);
    if (!dir) continue;
    for (const binary of [join(dir, name), join(dir, '..', 'binaries', name)]) {
      if (!existsSync(binary)) continue;
      try {
        return { uws: require(binary) as Uws, binary };
      } catch {
        // Wrong libc or ABI despite the name: try the next build.
      }
    }
  }
  return undefined;
}
