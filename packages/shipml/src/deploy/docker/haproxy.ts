/**
 * The Docker target's load balancer: HAProxy in a container, driven through its Runtime API
 * (https://docs.haproxy.org/2.6/management.html#9.3) so a rollout never reloads it — the
 * process that holds the users' connections keeps running through every release.
 *
 * The backend has a fixed number of server slots. A replica takes a slot with weight 0 (it
 * gets no traffic while HAProxy's own /readyz check decides whether it is UP), is given
 * weight when UP, and leaves through `drain` (no new requests, in-flight ones finish) then
 * `maint`. The same slots are written to the config file on every change, so a restarted
 * proxy comes back with the replicas that were serving.
 */
import type Docker from 'dockerode';
import { ExternalServiceError } from '../../core/errors.js';
import { demux } from './engine.js';

/** Server slots in the backend: old and new replicas side by side during a rollout. */
export const SLOTS = 64;
export const CONFIG_PATH = '/etc/haproxy/haproxy.cfg';
const SOCKET = '/run/haproxy-admin.sock';
/** The port HAProxy listens on inside its container. */
export const PROXY_PORT = 8080;

export interface ProxyServer {
  slot: number;
  /** The replica's address on the app's network (HAProxy's, never the test's, traffic goes there). */
  address: string;
}

export interface ProxySettings {
  port: number;
  readinessPath: string;
}

/** haproxy.cfg with `servers` enabled and every other slot disabled. */
export function renderHaproxyConfig(
  settings: ProxySettings,
  servers: readonly ProxyServer[],
): string {
  const bySlot = new Map(servers.map((s) => [s.slot, s.address]));
  const lines = [
    '# Written by ShipML: the Docker deploy target keeps this in step with the Runtime API.',
    'global',
    `  stats socket ${SOCKET} mode 600 level admin`,
    '  stats timeout 10s',
    // No maxconn: HAProxy derives it from the container's open-file limit (1024 on some engines).
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-request 10s',
    '  timeout http-keep-alive 10s',
    // A request that meets a replica just as it goes away is sent to another one.
    '  option redispatch',
    '  retries 3',
    '  retry-on conn-failure empty-response',
    `  option httpchk GET ${settings.readinessPath}`,
    '  http-check expect status 200',
    '  default-server inter 500ms fastinter 250ms downinter 500ms rise 2 fall 2 check',
    'frontend web',
    `  bind :${PROXY_PORT}`,
    '  default_backend app',
    'backend app',
    '  balance roundrobin',
  ];
  for (let slot = 1; slot <= SLOTS; slot++) {
    const address = bySlot.get(slot);
    lines.push(
      address
        ? `  server s${slot} ${address}:${settings.port}`
        : `  server s${slot} 127.0.0.1:${settings.port} disabled`,
    );
  }
  return lines.join('\n') + '\n';
}

/** One slot as HAProxy sees it (`show stat`). */
export interface SlotState {
  slot: number;
  address: string;
  /** UP, DOWN, MAINT, DRAIN, NOLB, "UP 1/2", ... */
  status: string;
  weight: number;
  /** Requests in flight on this server. */
  current: number;
  /** Last health check, e.g. "L7OK/200", "L7STS/503", "L4CON". */
  check: string;
}

/**
 * Slots whose replica takes traffic now: HAProxy's readiness check passes ("UP", or "UP 1/2"
 * while one failed check has not yet taken it down) and it has weight (not new, not draining).
 */
export function readySlots(slots: readonly SlotState[]): Set<number> {
  return new Set(slots.filter((s) => /^UP\b/.test(s.status) && s.weight > 0).map((s) => s.slot));
}

/** Talks to one proxy container's Runtime API, via `docker exec` (the socket stays inside). */
export class HaproxyAdmin {
  constructor(private readonly container: Docker.Container) {}

  /** Runs Runtime API commands (one call, `;`-separated); returns HAProxy's answer. */
  async command(...commands: string[]): Promise<string> {
    const script = 'printf "%s\\n" "$0" | socat -t 5 stdio unix-connect:' + SOCKET;
    const exec = await this.container.exec({
      Cmd: ['sh', '-c', script, commands.join('; ')],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const raw: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (b: Buffer) => raw.push(b));
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    const { ExitCode } = await exec.inspect();
    const { stdout: text, stderr } = demux(Buffer.concat(raw));
    if (ExitCode !== 0)
      throw new ExternalServiceError(
        `load balancer's Runtime API failed (exit ${ExitCode}): ${stderr.trim().slice(0, 200)}`,
        { retryable: true },
      );
    // The API answers errors in prose; the messages we send only ever succeed silently or
    // with an informational line, so anything that reads like a refusal is one.
    const refusal = text
      .split('\n')
      .find((l) => /^(usage|unknown|no such|require|invalid|permission denied)/i.test(l.trim()));
    if (refusal)
      throw new ExternalServiceError(
        `load balancer refused "${commands.join('; ')}": ${refusal.trim()}`,
        {
          retryable: false,
        },
      );
    return text;
  }

  async slots(): Promise<SlotState[]> {
    const csv = await this.command('show stat');
    const [header, ...rows] = csv.split('\n').filter((l) => l.trim() !== '');
    const columns = header!.replace(/^# /, '').split(',');
    const col = (name: string) => columns.indexOf(name);
    const [px, sv, scur, status, weight, check, code, addr] = [
      'pxname',
      'svname',
      'scur',
      'status',
      'weight',
      'check_status',
      'check_code',
      'addr',
    ].map(col) as [number, number, number, number, number, number, number, number];
    const out: SlotState[] = [];
    for (const row of rows) {
      const f = row.split(',');
      const name = f[sv] ?? '';
      if (f[px] !== 'app' || !/^s\d+$/.test(name)) continue;
      out.push({
        slot: Number(name.slice(1)),
        address: (f[addr] ?? '').replace(/:\d+$/, ''),
        status: f[status] ?? '',
        weight: Number(f[weight] ?? 0),
        current: Number(f[scur] ?? 0),
        check: [f[check], f[code]].filter(Boolean).join('/'),
      });
    }
    return out;
  }

  /** Puts a replica in `slot` without traffic; HAProxy starts checking its readiness. */
  async add(server: ProxyServer): Promise<void> {
    await this.command(
      `set server app/s${server.slot} addr ${server.address}`,
      `set server app/s${server.slot} weight 0`,
      `set server app/s${server.slot} state ready`,
    );
  }

  /** Gives a replica that HAProxy sees UP its share of the traffic. */
  async enable(slot: number): Promise<void> {
    await this.command(`set server app/s${slot} weight 1`);
  }

  /** No new requests for the replica in `slot`; those in flight finish. */
  async drain(slot: number): Promise<void> {
    await this.command(`set server app/s${slot} state drain`);
  }

  /** Takes `slot` out of the backend entirely. */
  async remove(slot: number): Promise<void> {
    await this.command(`set server app/s${slot} state maint`);
  }
}
