/**
 * Which files of node_modules can only ever load on another platform than the image's, so the
 * dependency layer can leave them out. A rule drops a path only when it is certain the
 * package's own loader would never pick it on the image's platform; anything it cannot read
 * (an unknown OS or CPU name, a folder that is not a platform tuple) stays. Pure functions of
 * the path, the lockfile and the platform: the same input gives the same layer.
 *
 * Layouts (each mirrors the loader that reads it):
 * - `os`/`cpu` of a package (package.json, recorded in package-lock.json): what npm itself
 *   checks ([npm-install-checks](https://github.com/npm/npm-install-checks)). Covers the
 *   one-package-per-platform style: `@img/sharp-<os>-<arch>`, `@esbuild/<os>-<arch>`,
 *   `@swc/core-*`, napi-rs `*-linux-x64-gnu`, `fsevents`.
 * - `bin/napi-v<N>/<os>/<arch>/`: onnxruntime-node (`process.platform`/`process.arch`).
 * - `prebuilds/<os>-<arch>[+<arch>…]/`: prebuildify + node-gyp-build (better-sqlite3 forks,
 *   bcrypt 6, node-pty 1.x, sodium-native, classic-level, bufferutil, utf-8-validate, usb);
 *   node-gyp-build's `parseTuple`/`matchTuple`. libc and armv flavours are file-name tags
 *   inside a tuple's folder and are all kept.
 * - `lib/binding/[<dir>/]<…>-<os>-[<libc>-]<arch>/`: node-pre-gyp `module_path` templates
 *   (`{node_abi}-{platform}-{arch}`, `napi-v{n}-{platform}-{libc}-{arch}`).
 * - `build/koffi/<os>_<abi>/`: koffi (`${process.platform}_${abi}`, `musl_${abi}` on Linux).
 *
 * Not pruned, because npm installs only one platform's binary there anyway: better-sqlite3,
 * canvas, bcrypt 5 and sharp < 0.33 (`build/Release`, prebuild-install / node-pre-gyp
 * downloads). The C library (glibc or musl) is never guessed: both flavours stay.
 */

/** A platform in Node's terms (`process.platform`, `process.arch`). */
export interface NodePlatform {
  os: string;
  arch: string;
}

/** The `os`/`cpu` restrictions of a package, as package-lock.json records them. */
export interface PlatformRestrictions {
  os?: readonly string[] | undefined;
  cpu?: readonly string[] | undefined;
}

/** Node's `process.platform` values. */
const NODE_OS = new Set([
  'aix',
  'android',
  'cygwin',
  'darwin',
  'freebsd',
  'haiku',
  'linux',
  'netbsd',
  'openbsd',
  'sunos',
  'win32',
]);
/** Node's `process.arch` values. */
const NODE_ARCH = new Set([
  'arm',
  'arm64',
  'ia32',
  'loong64',
  'mips',
  'mipsel',
  'ppc',
  'ppc64',
  'riscv64',
  's390',
  's390x',
  'x64',
]);
/** OCI (GOOS/GOARCH) names that differ from Node's. */
const OCI_OS: Record<string, string> = { windows: 'win32', solaris: 'sunos', illumos: 'sunos' };
const OCI_ARCH: Record<string, string> = {
  amd64: 'x64',
  '386': 'ia32',
  ppc64le: 'ppc64',
  mips64le: 'mipsel',
};

/**
 * The Node platform an image runs (from its config's `os` and `architecture`): linux/amd64 →
 * linux x64, linux/arm64 → linux arm64. Undefined for a name Node does not know: then nothing
 * is pruned.
 */
export function nodePlatformOf(image: {
  os: string;
  architecture: string;
}): NodePlatform | undefined {
  const os = OCI_OS[image.os] ?? image.os;
  const arch = OCI_ARCH[image.architecture] ?? image.architecture;
  return NODE_OS.has(os) && NODE_ARCH.has(arch) ? { os, arch } : undefined;
}

/**
 * Whether `rel` (a path relative to the app, under node_modules/) holds only what another
 * platform loads. `packages` is package-lock.json's `packages` map (keys are the package
 * folders), for the packages' own `os`/`cpu` fields.
 */
export function isOtherPlatform(
  rel: string,
  platform: NodePlatform,
  packages: Readonly<Record<string, PlatformRestrictions | undefined>>,
): boolean {
  const parts = rel.split('/');
  let root = -1; // index of the first segment inside the innermost package
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] !== 'node_modules' || i + 1 >= parts.length) continue;
    const end = parts[i + 1]!.startsWith('@') ? i + 3 : i + 2;
    if (end > parts.length) break;
    if (!allows(packages[parts.slice(0, end).join('/')], platform)) return true;
    root = end;
    i = end - 1;
  }
  return root >= 0 && insideOtherPlatform(parts.slice(root), platform);
}

/** A package's `os`/`cpu` admit the platform; wasm32 builds run anywhere (sharp's, napi-rs'). */
function allows(pkg: PlatformRestrictions | undefined, platform: NodePlatform): boolean {
  if (!pkg) return true;
  if (pkg.cpu?.includes('wasm32')) return true;
  return matches(platform.os, pkg.os) && matches(platform.arch, pkg.cpu);
}

/** npm-install-checks' checkList: an allow list, `!name` deny entries, or `any`. */
function matches(value: string, list: readonly string[] | undefined): boolean {
  if (!list || list.length === 0 || (list.length === 1 && list[0] === 'any')) return true;
  let negated = 0;
  let match = false;
  for (const entry of list) {
    if (entry.startsWith('!')) {
      negated++;
      if (entry.slice(1) === value) return false;
    } else if (entry === value) match = true;
  }
  return match || negated === list.length;
}

/** The in-package layouts: `inner` is the path inside the package, split. */
function insideOtherPlatform(inner: readonly string[], platform: NodePlatform): boolean {
  const [a, b, c, d] = inner;
  if (a === 'bin' && b && /^napi-v\d+$/.test(b) && c) {
    // bin/napi-v6/<os>/<arch>: onnxruntime-node's loader joins process.platform and .arch.
    if (NODE_OS.has(c) && c !== platform.os) return true;
    return c === platform.os && d !== undefined && NODE_ARCH.has(d) && d !== platform.arch;
  }
  if (a === 'prebuilds' && b) return otherPrebuildTuple(b, platform);
  if (a === 'lib' && b === 'binding' && c) {
    // module_path is lib/binding/<tuple> or lib/binding/<configuration>/<tuple>.
    return otherPreGypTuple(c, platform) || (d !== undefined && otherPreGypTuple(d, platform));
  }
  if (a === 'build' && b === 'koffi' && c) return otherKoffiTriplet(c, platform);
  return false;
}

/** node-gyp-build: `<platform>-<arch>[+<arch>…]`; anything else is not a tuple and stays. */
function otherPrebuildTuple(name: string, platform: NodePlatform): boolean {
  const parts = name.split('-');
  if (parts.length !== 2) return false;
  const [os, archs] = parts as [string, string];
  const list = archs.split('+');
  if (!NODE_OS.has(os) || !list.every((arch) => NODE_ARCH.has(arch))) return false;
  return os !== platform.os || !list.includes(platform.arch);
}

/** node-pre-gyp: a folder name ending in `<platform>-[<libc>-]<arch>`. */
function otherPreGypTuple(name: string, platform: NodePlatform): boolean {
  const parts = name.split('-');
  const arch = parts.at(-1)!;
  let os = parts.at(-2);
  if (os !== undefined && ['glibc', 'musl', 'unknown'].includes(os)) os = parts.at(-3);
  if (os === undefined || !NODE_OS.has(os) || !NODE_ARCH.has(arch)) return false;
  return os !== platform.os || arch !== platform.arch;
}

/** koffi: `<platform>_<abi>`, where musl_<abi> is Linux and the abi names a CPU with its ABI. */
function otherKoffiTriplet(name: string, platform: NodePlatform): boolean {
  const at = name.indexOf('_');
  if (at < 0) return false;
  const rawOs = name.slice(0, at);
  const abi = name.slice(at + 1);
  const os = rawOs === 'musl' ? 'linux' : rawOs;
  if (!NODE_OS.has(os)) return false;
  if (os !== platform.os) return true;
  const arch = NODE_ARCH.has(abi)
    ? abi
    : abi.startsWith('riscv64')
      ? 'riscv64'
      : /^arm(32)?(hf)?$/.test(abi)
        ? 'arm'
        : undefined;
  return arch !== undefined && arch !== platform.arch;
}
