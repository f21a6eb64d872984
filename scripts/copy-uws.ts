// Both builds ship uWebSockets.js beside their output: it loads its native binary with a computed require that no
// bundler can follow. Copied: the loader, the JS fallback (without the package's unused prebuilt .node files) and only
// this Node's binary (same platform, architecture and ABI as the Node that will run it).
import { cp, mkdir, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Copy uWebSockets.js into `<outDir>/node_modules/uWebSockets.js`. Returns false (with a warning) when there is no native binary for this Node. */
export async function copyUws(outDir: string): Promise<boolean> {
  const require = createRequire(import.meta.url);
  const uwsDir = dirname(dirname(require.resolve('uWebSockets.js')));
  const target = join(outDir, 'node_modules', 'uWebSockets.js');
  await mkdir(join(target, 'binaries'), { recursive: true });
  await cp(join(uwsDir, 'src'), join(target, 'src'), { recursive: true });
  await cp(join(uwsDir, 'dist'), join(target, 'dist'), { recursive: true, filter: (f) => !f.endsWith('.node') });
  await cp(join(uwsDir, 'package.json'), join(target, 'package.json'));
  await cp(join(uwsDir, 'LICENSE'), join(target, 'LICENSE')).catch(() => {});
  const wanted = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  if ((await readdir(join(uwsDir, 'binaries'))).includes(wanted)) {
    await cp(join(uwsDir, 'binaries', wanted), join(target, 'binaries', wanted));
    return true;
  }
  console.warn(`no native uWebSockets.js binary for ${wanted}: the build will use the slow JS fallback`);
  return false;
}
