/**
 * Where the machine's CPU went during an ingestion row, from /proc (Linux): the server
 * process, this process (autocannon), every PostgreSQL process, and everything else on the
 * machine. On the shared 2-core VM the rate swings with what other work runs; CPU per
 * delivery does not, so the rows report both.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

export interface CpuSnapshot {
  at: number;
  /** Busy and total jiffies of the whole machine (/proc/stat). */
  busy: number;
  total: number;
  server: number;
  self: number;
  postgres: number;
}

/** utime + stime of one process, in jiffies; 0 once it is gone. */
function ticksOf(pid: number | string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function postgresTicks(): number {
  let sum = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).startsWith('postgres'))
        sum += ticksOf(pid);
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

export function cpuSnapshot(serverPid: number): CpuSnapshot {
  const [, ...cols] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = cols.map(Number);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal (guest is in user)
  const idle = n[3]! + n[4]!; // idle + iowait
  const self = process.cpuUsage();
  return {
    at: performance.now(),
    busy: total - idle,
    total,
    server: ticksOf(serverPid),
    self: (self.user + self.system) / 1000 / TICK_MS,
    postgres: postgresTicks(),
  };
}

export interface CpuUse {
  /** CPU ms per delivery answered 202. */
  serverMs: number;
  clientMs: number;
  postgresMs: number;
  /** Cores busy on average: the whole machine, and what is neither ours nor PostgreSQL's. */
  busyCores: number;
  otherCores: number;
}

export function cpuUse(a: CpuSnapshot, b: CpuSnapshot, deliveries: number): CpuUse {
  const seconds = (b.at - a.at) / 1000;
  const per = (ticks: number) => (ticks * TICK_MS) / Math.max(1, deliveries);
  const busyCores = (b.busy - a.busy) / 100 / seconds;
  const ours = (b.server - a.server + b.self - a.self + b.postgres - a.postgres) / 100 / seconds;
  const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  return {
    serverMs: round(per(b.server - a.server), 3),
    clientMs: round(per(b.self - a.self), 3),
    postgresMs: round(per(b.postgres - a.postgres), 3),
    busyCores: round(busyCores),
    otherCores: round(Math.max(0, busyCores - ours)),
  };
}
