import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { connect, createServer, type Server, type Socket } from "node:net";
import { Redis } from "ioredis";
import { freePort } from "./process.js";

/** The shared Redis the Redis tests may use (`.ci/run` sets it); those tests are skipped without it. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || null;

/** Tests that stop and restart Redis start their own, so they never disturb a shared one; they need redis-server. */
export const REDIS_SERVER_ON_PATH = spawnSync("redis-server", ["--version"]).status === 0;

/** A redis-server of our own on a free port, keeping nothing on disk; it can be stopped and started again. */
export class PrivateRedis {
  private child: ChildProcess | null = null;

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, on the same port) and waits until it answers PING. */
  async restart(): Promise<void> {
    const child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    this.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const client = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, enableOfflineQueue: false });
      client.on("error", () => {});
      try {
        await client.connect();
        await client.ping();
        return;
      } catch (error) {
        if (Date.now() > deadline || child.exitCode !== null) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        client.disconnect();
      }
    }
  }

  /** Kills the server, dropping every connection and whatever was published to nobody. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }
}

/** A TCP proxy to a port, to cut one instance off Redis while the others stay connected. */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), targetPort);
    await proxy.restart();
    return proxy;
  }

  /** Listens (again, on the same port) and forwards each connection. */
  restart(): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = connect(this.targetPort, "127.0.0.1");
      for (const socket of [inbound, outbound]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => {});
      }
      inbound.pipe(outbound).pipe(inbound);
      inbound.on("close", () => outbound.destroy());
      outbound.on("close", () => inbound.destroy());
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", resolve);
    });
  }

  /** Stops listening and cuts every connection through it. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * Every doorbell the gateways publish (README, "Several instances: Redis": `{paymentId, version}` on the channel
 * `kakaopay:payment-status:<paymentId>`), as a separate Redis client hears them: the versions rung, by payment id.
 */
export async function listenToDoorbells(url: string): Promise<{ rung: Map<string, number[]>; close(): void }> {
  const client = new Redis(url);
  const rung = new Map<string, number[]>();
  client.on("pmessage", (_pattern: string, channel: string, message: string) => {
    const paymentId = channel.slice("kakaopay:payment-status:".length);
    const { version } = JSON.parse(message) as { version: number };
    rung.set(paymentId, [...(rung.get(paymentId) ?? []), version]);
  });
  // Resolves once Redis confirms the pattern subscription: every later publish is heard.
  await client.psubscribe("kakaopay:payment-status:*");
  return { rung, close: () => client.disconnect() };
}
