import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productionDependencies } from './deps.js';
import { isOtherPlatform, nodePlatformOf } from './platform-prune.js';

/**
 * Platform pruning over a real directory tree: an installed node_modules with a fake package
 * in each layout the rules know (and a few they must leave alone), collected by the builder's
 * own productionDependencies.
 */
let app: string;

/** Lockfile entries (beyond the root) and the files installed under node_modules/. */
const PACKAGES: Record<string, { os?: string[]; cpu?: string[]; libc?: string[]; dev?: true }> = {
  'node_modules/onnxruntime-node': { os: ['win32', 'darwin', 'linux'] },
  'node_modules/bcrypt': {},
  'node_modules/shell': {},
  'node_modules/shell/node_modules/node-pty': {},
  'node_modules/sqlite3': {},
  'node_modules/grpc': {},
  'node_modules/bcrypt5': {},
  'node_modules/koffi': {},
  'node_modules/better-sqlite3': {},
  'node_modules/sharp': {},
  'node_modules/@img/sharp-linux-x64': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
  'node_modules/@img/sharp-linuxmusl-x64': { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
  'node_modules/@img/sharp-linux-arm64': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'node_modules/@img/sharp-darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'node_modules/@img/sharp-wasm32': { cpu: ['wasm32'] },
  'node_modules/@esbuild/linux-x64': { os: ['linux'], cpu: ['x64'] },
  'node_modules/@esbuild/win32-x64': { os: ['win32'], cpu: ['x64'] },
  'node_modules/not-windows': { os: ['!win32'] },
  'node_modules/fsevents': { os: ['darwin'] },
  'node_modules/devtool': { dev: true },
};

const FILES = [
  'onnxruntime-node/dist/index.js',
  'onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
  'onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
  'onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node',
  'onnxruntime-node/bin/napi-v6/darwin/arm64/onnxruntime_binding.node',
  'onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime_binding.node',
  'onnxruntime-node/bin/napi-v6/win32/arm64/DirectML.dll',
  'bcrypt/prebuilds/linux-x64/bcrypt.glibc.node',
  'bcrypt/prebuilds/linux-x64/bcrypt.musl.node',
  'bcrypt/prebuilds/linux-arm64/bcrypt.glibc.node',
  'bcrypt/prebuilds/linux-arm/bcrypt.armv7.node',
  'bcrypt/prebuilds/darwin-x64+arm64/bcrypt.node',
  'bcrypt/prebuilds/win32-x64/bcrypt.node',
  'bcrypt/prebuilds/android-arm64/bcrypt.node',
  'bcrypt/prebuilds/linux-x64-custom/kept.node', // not a node-gyp-build tuple
  'bcrypt/prebuilds/README.md',
  'shell/index.js',
  'shell/node_modules/node-pty/prebuilds/linux-x64/pty.node',
  'shell/node_modules/node-pty/prebuilds/darwin-arm64/pty.node',
  'shell/node_modules/node-pty/prebuilds/win32-x64/conpty/conpty.dll',
  'sqlite3/lib/binding/napi-v6-linux-glibc-x64/node_sqlite3.node',
  'sqlite3/lib/binding/napi-v6-linux-musl-x64/node_sqlite3.node',
  'sqlite3/lib/binding/napi-v6-darwin-unknown-arm64/node_sqlite3.node',
  'grpc/lib/binding/Release/node-v115-linux-x64/grpc_node.node',
  'grpc/lib/binding/Release/node-v115-win32-x64/grpc_node.node',
  'bcrypt5/lib/binding/napi-v3/bcrypt_lib.node',
  'koffi/build/koffi/linux_x64/koffi.node',
  'koffi/build/koffi/musl_x64/koffi.node',
  'koffi/build/koffi/linux_arm64/koffi.node',
  'koffi/build/koffi/linux_armhf/koffi.node',
  'koffi/build/koffi/linux_riscv64d/koffi.node',
  'koffi/build/koffi/darwin_arm64/koffi.node',
  'koffi/build/koffi/win32_x64/koffi.node',
  'koffi/build/koffi/openharmony_arm64/koffi.node', // not a Node platform: kept
  'better-sqlite3/build/Release/better_sqlite3.node',
  'sharp/lib/index.js',
  '@img/sharp-linux-x64/lib/sharp-linux-x64.node',
  '@img/sharp-linuxmusl-x64/lib/sharp-linuxmusl-x64.node',
  '@img/sharp-linux-arm64/lib/sharp-linux-arm64.node',
  '@img/sharp-darwin-arm64/lib/sharp-darwin-arm64.node',
  '@img/sharp-wasm32/lib/sharp-wasm32.node.wasm',
  '@esbuild/linux-x64/bin/esbuild',
  '@esbuild/win32-x64/esbuild.exe',
  'not-windows/index.js',
  'fsevents/fsevents.node',
  'devtool/prebuilds/linux-x64/dev.node',
];

/** The files a linux/amd64 image keeps. */
const LINUX_X64 = [
  '@esbuild/linux-x64/bin/esbuild',
  '@img/sharp-linux-x64/lib/sharp-linux-x64.node',
  '@img/sharp-linuxmusl-x64/lib/sharp-linuxmusl-x64.node',
  '@img/sharp-wasm32/lib/sharp-wasm32.node.wasm',
  'bcrypt/prebuilds/README.md',
  'bcrypt/prebuilds/linux-x64-custom/kept.node',
  'bcrypt/prebuilds/linux-x64/bcrypt.glibc.node',
  'bcrypt/prebuilds/linux-x64/bcrypt.musl.node',
  'bcrypt5/lib/binding/napi-v3/bcrypt_lib.node',
  'better-sqlite3/build/Release/better_sqlite3.node',
  'grpc/lib/binding/Release/node-v115-linux-x64/grpc_node.node',
  'koffi/build/koffi/linux_x64/koffi.node',
  'koffi/build/koffi/musl_x64/koffi.node',
  'koffi/build/koffi/openharmony_arm64/koffi.node',
  'not-windows/index.js',
  'onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
  'onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
  'onnxruntime-node/dist/index.js',
  'sharp/lib/index.js',
  'shell/index.js',
  'shell/node_modules/node-pty/prebuilds/linux-x64/pty.node',
  'sqlite3/lib/binding/napi-v6-linux-glibc-x64/node_sqlite3.node',
  'sqlite3/lib/binding/napi-v6-linux-musl-x64/node_sqlite3.node',
];

beforeAll(async () => {
  app = await mkdtemp(join(tmpdir(), 'shipml-prune-'));
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0' } };
  for (const [path, meta] of Object.entries(PACKAGES))
    packages[path] = { version: '1.0.0', license: 'MIT', ...meta };
  await writeFile(join(app, 'package.json'), '{"name":"app","version":"1.0.0"}');
  await writeFile(
    join(app, 'package-lock.json'),
    JSON.stringify({ name: 'app', lockfileVersion: 3, packages }),
  );
  for (const pkg of Object.keys(PACKAGES)) {
    await mkdir(join(app, pkg), { recursive: true });
    await writeFile(join(app, pkg, 'package.json'), '{}');
  }
  for (const file of FILES) {
    await mkdir(dirname(join(app, 'node_modules', file)), { recursive: true });
    await writeFile(join(app, 'node_modules', file), file);
  }
});
afterAll(async () => {
  await rm(app, { recursive: true, force: true });
});

/** The collected files under node_modules/, without the package.json every package has. */
async function files(platform?: { os: string; arch: string }): Promise<string[]> {
  const entries = await productionDependencies(app, '/app', { platform });
  return entries
    .filter((e) => e.type === 'file' && !e.path.endsWith('/package.json'))
    .map((e) => e.path.replace(/^app\/node_modules\//, ''))
    .sort();
}

describe('platform pruning of the dependency layer', () => {
  it('keeps only what loads on linux/x64, in every known layout', async () => {
    expect(await files({ os: 'linux', arch: 'x64' })).toEqual(LINUX_X64);
  });

  it('keeps only what loads on linux/arm64', async () => {
    const kept = await files({ os: 'linux', arch: 'arm64' });
    expect(kept).toEqual(
      expect.arrayContaining([
        'onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node',
        'bcrypt/prebuilds/linux-arm64/bcrypt.glibc.node',
        '@img/sharp-linux-arm64/lib/sharp-linux-arm64.node',
        'koffi/build/koffi/linux_arm64/koffi.node',
        '@img/sharp-wasm32/lib/sharp-wasm32.node.wasm',
      ]),
    );
    const others = kept.filter((f) => /x64|darwin|win32|armhf|linux-arm\//.test(f));
    expect(others).toEqual(['bcrypt/prebuilds/linux-x64-custom/kept.node']); // not a tuple
  });

  it('keeps a universal darwin-x64+arm64 prebuild on either Mac CPU', async () => {
    const kept = await files({ os: 'darwin', arch: 'x64' });
    expect(kept).toContain('bcrypt/prebuilds/darwin-x64+arm64/bcrypt.node');
    expect(kept).toContain('fsevents/fsevents.node');
    expect(kept).not.toContain('koffi/build/koffi/darwin_arm64/koffi.node');
  });

  it('keeps everything installed (but dev dependencies) without a platform', async () => {
    expect(await files()).toEqual(FILES.filter((f) => !f.startsWith('devtool/')).sort());
  });

  it('leaves the scope folder and unknown names alone', () => {
    const linux = { os: 'linux', arch: 'x64' };
    expect(isOtherPlatform('node_modules/@img', linux, {})).toBe(false);
    expect(isOtherPlatform('node_modules/x/bin/napi-v6/plan9', linux, {})).toBe(false);
    expect(isOtherPlatform('node_modules/x/bin/napi-v6/linux/mystery', linux, {})).toBe(false);
    expect(isOtherPlatform('node_modules/x/prebuilds/linux-x64/other.node', linux, {})).toBe(false);
    expect(isOtherPlatform('node_modules/x/bin/napi-v6/darwin', linux, {})).toBe(true);
    expect(isOtherPlatform('node_modules/x', linux, { 'node_modules/x': { os: ['any'] } })).toBe(
      false,
    );
    expect(isOtherPlatform('node_modules/x', linux, { 'node_modules/x': { os: ['!linux'] } })).toBe(
      true,
    );
  });
});

describe('the image platform in Node terms', () => {
  it('maps OCI os/architecture to process.platform/arch', () => {
    expect(nodePlatformOf({ os: 'linux', architecture: 'amd64' })).toEqual({
      os: 'linux',
      arch: 'x64',
    });
    expect(nodePlatformOf({ os: 'linux', architecture: 'arm64' })).toEqual({
      os: 'linux',
      arch: 'arm64',
    });
    expect(nodePlatformOf({ os: 'linux', architecture: 'arm' })).toEqual({
      os: 'linux',
      arch: 'arm',
    });
    expect(nodePlatformOf({ os: 'windows', architecture: '386' })).toEqual({
      os: 'win32',
      arch: 'ia32',
    });
  });

  it('knows no platform for names Node does not use (then nothing is pruned)', () => {
    expect(nodePlatformOf({ os: 'linux', architecture: 'wasm' })).toBeUndefined();
    expect(nodePlatformOf({ os: 'plan9', architecture: 'amd64' })).toBeUndefined();
  });
});
