// Module loader hooks (node:module register) that load `.ts` plugins as ES modules, transpiled by esbuild, whatever the
// nearest package.json says: Node and tsx would treat a `.ts` file in a `"type": "commonjs"` folder (npm init's
// default) as CommonJS, where `import type` and `'hookroute'` (an ES module) fail. Only URLs marked by the plugin
// loader, and the `.ts` files in the plugins folder they import, are handled; the rest goes through the normal chain.
import { readFile } from 'node:fs/promises';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The query parameter that marks a module as plugin code, naming the plugins folder:
 * `file:///srv/plugins/x.ts?v=<mtime>&hookroute-plugin=%2Fsrv%2Fplugins`. Only `.ts` files inside that folder are
 * marked in turn, so a plugin importing hookroute's own sources (in a checkout) shares the daemon's instances.
 */
export const PLUGIN_MARK = 'hookroute-plugin';

interface ResolveContext {
  parentURL?: string;
  conditions: string[];
  importAttributes?: Record<string, string>;
}
interface ResolveResult {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<ResolveResult>;
interface LoadResult {
  format: string;
  source?: string | ArrayBuffer | Uint8Array;
  shortCircuit?: boolean;
}
type NextLoad = (url: string, context?: object) => Promise<LoadResult>;

/** A TypeScript module inside `folder` (not in a package: those ship JavaScript). */
function isPluginTs(url: URL, folder: string): boolean {
  if (url.protocol !== 'file:' || !/\.m?ts$/.test(url.pathname)) return false;
  const file = fileURLToPath(url);
  return file.startsWith(folder + sep) && !file.includes(`${sep}node_modules${sep}`);
}

function markOf(url: string | undefined): string | null {
  if (!url?.startsWith('file:')) return null;
  return new URL(url).searchParams.get(PLUGIN_MARK);
}

/** Marks `.ts` imports of a marked module, so a helper beside a plugin is an ES module too; `./x.js` may name `./x.ts` (tsc's convention). */
export async function resolve(
  specifier: string,
  context: ResolveContext,
  nextResolve: NextResolve,
): Promise<ResolveResult> {
  const mark = markOf(context.parentURL);
  if (mark === null) return nextResolve(specifier, context);
  let result: ResolveResult;
  try {
    result = await nextResolve(specifier, context);
  } catch (err) {
    if (!/^\.\.?\/.*\.js$/.test(specifier)) throw err;
    result = await nextResolve(specifier.replace(/\.js$/, '.ts'), context).catch(() => Promise.reject(err));
  }
  const url = new URL(result.url);
  if (!isPluginTs(url, mark)) return result;
  // The parent's query as it is: the plugins folder, and the version that makes a changed plugin reload its helpers.
  url.search = new URL(context.parentURL!).search;
  return { url: url.href, format: 'module', shortCircuit: true };
}

/** Transpiles a marked `.ts` module to an ES module (types stripped, no type check: `hookroute validate` reports load errors). */
export async function load(url: string, context: object, nextLoad: NextLoad): Promise<LoadResult> {
  const parsed = new URL(url);
  const mark = markOf(url);
  if (mark === null || !isPluginTs(parsed, mark)) return nextLoad(url, context);
  const file = fileURLToPath(parsed);
  const { transform } = await import('esbuild'); // here, not at the top: the plugin loader imports PLUGIN_MARK from this module
  const { code } = await transform(await readFile(file, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: `node${process.versions.node}`,
    sourcefile: file,
    sourcemap: 'inline',
  });
  return { format: 'module', source: code, shortCircuit: true };
}
