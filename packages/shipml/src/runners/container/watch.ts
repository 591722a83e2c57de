/**
 * What the Docker Engine does not report about a command's limits, sampled while it runs
 * (and the checkout's own usage measured before and after, which decides the disk limit):
 * the checkout file system's free space (the disk limit: the engine has no size limit for a
 * bind mount, so the runner ends a command that writes more than diskMiB) and the
 * container's cgroup counters (pids.events "max": the process limit refused a fork;
 * memory.events or, on cgroup v1, memory.oom_control "oom_kill": podman reports no OOM kill
 * there). Sampled ten times a second: a command writing faster than
 * that may overshoot the disk limit by what it writes in 100 ms. A fork bomb that gives up
 * between two samples is still told by its shell's words (see index.ts).
 */
import { readFile, statfs } from 'node:fs/promises';
import { runProcess } from '../../core/process.js';

const EVERY_MS = 100;

export interface LimitWatch {
  /** The limits hit so far, in words. */
  hits(): string[];
  stop(): Promise<void>;
}

async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await statfs(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}

/** Where a container's cgroup is, below a hierarchy: Docker's and podman's, cgroupfs or systemd. */
const LAYOUTS = (id: string) => [
  `docker/${id}`,
  `system.slice/docker-${id}.scope`,
  `libpod_parent/libpod-${id}`,
  `machine.slice/libpod-${id}.scope`,
];

/**
 * A counter of a container's cgroup: `v2` the file in the unified hierarchy, `v1` the
 * controller's own hierarchy and file. 0 when not found (another layout, or already gone).
 */
async function counter(
  id: string,
  v2: string,
  v1: [controller: string, file: string],
  key: string,
): Promise<number> {
  const files = LAYOUTS(id).flatMap((dir) => [
    `/sys/fs/cgroup/${dir}/${v2}`,
    `/sys/fs/cgroup/${v1[0]}/${dir}/${v1[1]}`,
  ]);
  for (const file of files) {
    try {
      const text = await readFile(file, 'utf8');
      const line = text.split('\n').find((l) => l.startsWith(`${key} `));
      return line ? Number(line.split(' ')[1]) : 0;
    } catch {
      // not this layout (or the cgroup is gone): try the next
    }
  }
  return 0;
}

/** The checkout's own usage in KiB (du: a walk in C), or undefined when du cannot tell. */
async function usageKiB(dir: string): Promise<number | undefined> {
  const r = await runProcess('du', ['-sk', '-x', dir], {
    env: { PATH: '/usr/bin:/bin' },
    keepStdoutBytes: 256,
  }).catch(() => undefined);
  const kib = r?.code === 0 ? Number(r.stdout.split(/\s/)[0]) : NaN;
  return Number.isFinite(kib) ? kib : undefined;
}

export async function watchLimits(
  options: { containerId: string; checkout: string; diskMiB: number; pids: number },
  onDiskLimit: () => void,
): Promise<LimitWatch> {
  const before = await freeBytes(options.checkout);
  // Free space also moves with everything else on the file system (another run deleting a
  // big file hides this one's writes), so the verdict at the end is the checkout's own usage.
  const usedBefore = await usageKiB(options.checkout);
  const hits = new Set<string>();
  let running = true;
  const overDisk = (usedAfter: number | undefined) =>
    usedBefore !== undefined &&
    usedAfter !== undefined &&
    usedAfter - usedBefore > options.diskMiB * 1024;
  let confirmedAt = 0;
  const sample = async () => {
    const free = await freeBytes(options.checkout);
    if (before !== undefined && free !== undefined && !hits.has('disk')) {
      const written = before - free;
      // Free space is the cheap signal; another writer on the same file system moves it
      // too, so the checkout's own usage confirms it (at most twice a second) before a kill.
      if (written > options.diskMiB * 1024 * 1024 && Date.now() - confirmedAt >= 500) {
        confirmedAt = Date.now();
        if (usedBefore === undefined || overDisk(await usageKiB(options.checkout))) {
          hits.add('disk');
          onDiskLimit();
        }
      }
    }
    const id = options.containerId;
    if ((await counter(id, 'pids.events', ['pids', 'pids.events'], 'max')) > 0) hits.add('pids');
    if ((await counter(id, 'memory.events', ['memory', 'memory.oom_control'], 'oom_kill')) > 0)
      hits.add('memory');
  };
  const loop = (async () => {
    while (running) {
      await sample();
      await new Promise((r) => setTimeout(r, EVERY_MS));
    }
  })();
  return {
    hits: () => [...hits],
    /** Ends the sampling after one last sample: a write that finished between samples counts. */
    async stop() {
      if (!running) return;
      running = false;
      await loop;
      await sample();
      if (!hits.has('disk') && overDisk(await usageKiB(options.checkout))) hits.add('disk');
    },
  };
}
